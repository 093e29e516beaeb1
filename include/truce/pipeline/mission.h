// The mission's stored documents read back as values, one reader for every caller (CLI, server,
// report): what crosses its checkpoints and the populations it is measured against.
#pragma once

#include <vector>

#include "truce/agreement/humanitarian.h"
#include "truce/store/store.h"

namespace truce::pipeline {

struct MovementRecords {
  std::vector<agreement::Crossing> crossings;  // empty when none are on record
  std::vector<agreement::Baseline> baselines;
};
// The "crossings" and "population_baselines" documents; an unreadable one is an error naming it.
Result<MovementRecords> movement_records(Store& store);

// What importing crossing or baseline rows did to the stored document.
struct MovementImport {
  agreement::MergeCounts counts;  // of the rows given: added, replaced, unchanged
  std::size_t stored = 0;         // rows in the document now
  std::int64_t version = 0;       // of the document written
};
// Merges `rows` into the "crossings" / "population_baselines" document and stores the result: the
// read, merge and write in one write transaction, so that two imports at once lose neither's rows.
Result<MovementImport> import_crossings(Store& store, const std::vector<agreement::Crossing>& rows);
Result<MovementImport> import_baselines(Store& store, const std::vector<agreement::Baseline>& rows);

}  // namespace truce::pipeline
