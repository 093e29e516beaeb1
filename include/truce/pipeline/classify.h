// The mission's rules applied to its stored incidents. Each incident's content carries the rules it
// breaks ("violations": [{"rule", "explanation"}]) and those that could not be checked
// ("unchecked_rules"), so every reader (CLI, API, report, dashboard) shows the same verdict.
// Fusion classifies what it writes; importing another agreement reclassifies every incident, and
// an incident whose verdict changes gets a new version.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/agreement/agreement.h"
#include "truce/agreement/rules.h"
#include "truce/geo/geography.h"
#include "truce/store/store.h"

namespace truce::pipeline {

struct Rulebook {
  std::vector<agreement::Rule> rules;
  agreement::ZoneCatalog zones;
};

// The mission's rules (from its stored agreement) over its geography; nullopt when the mission
// has no agreement yet.
Result<std::optional<Rulebook>> mission_rulebook(Store& store, const geo::Geography& geography);

// An incident's content (pipeline::incident_content's JSON) with its violations and unchecked
// rules set from the rulebook; the same content and rules always give the same text. `broken`,
// when given, receives how many rules the incident breaks.
Result<std::string> classify_content(const std::string& content, const Rulebook& rules,
                                     std::size_t* broken = nullptr);

struct ReclassifySummary {
  std::size_t incidents = 0, violating = 0;
  IncidentSync sync;
};
// Classifies every stored incident again with the mission's current rules (none: no violations).
Result<ReclassifySummary> reclassify_stored(Store& store, const geo::Geography& geography);

struct AgreementImport {
  // Not OK when the text is no agreement (parse_agreement's error): then nothing was stored.
  Status refused;
  agreement::Agreement agreement;                 // as parsed
  std::int64_t version = 0;                       // of the stored "agreement" document
  std::optional<ReclassifySummary> reclassified;  // nullopt: the mission has no zones and LoC yet
};
// Stores `text` as the mission's agreement and, when the mission has a geography, reclassifies
// every stored incident with its rules: in one write transaction, so that a failure anywhere
// leaves the earlier agreement and the incidents as they were. `source` names the text in errors.
Result<AgreementImport> import_agreement(Store& store, std::string_view text, std::string_view source);

// Classification of an incidents CSV against given rules (`truce classify`): incident_id, time (or
// start, as fusion's incidents.csv has it), kind; lat, lon and target_lat, target_lon optional.
struct ClassifyFileOptions {
  // Called once the header is read, before the first row.
  std::function<void()> begin;
  // Called for each incident, in file order, with its classification.
  std::function<void(const agreement::IncidentView&, const agreement::Classification&)> row;
  // Called with the first `max_problems` rows skipped, in file order.
  std::function<void(const Status&)> problem;
  std::int64_t max_problems = 10;
};
struct ClassifyFileSummary {
  // Not OK when the file is not an incidents CSV (empty, or a required column missing): then no
  // row was read.
  Status refused;
  std::int64_t incidents = 0, violating = 0, bad_rows = 0;
};
// An error is a failure to read the file.
Result<ClassifyFileSummary> classify_file(const std::string& path, const std::vector<agreement::Rule>& rules,
                                          const geo::Geography& geography,
                                          const ClassifyFileOptions& options);

}  // namespace truce::pipeline
