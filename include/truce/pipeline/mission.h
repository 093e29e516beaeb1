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

}  // namespace truce::pipeline
