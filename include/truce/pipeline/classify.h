// The mission's rules applied to its stored incidents. Each incident's content carries the rules it
// breaks ("violations": [{"rule", "explanation"}]) and those that could not be checked
// ("unchecked_rules"), so every reader (CLI, API, report, dashboard) shows the same verdict.
// Fusion classifies what it writes; importing another agreement reclassifies every incident, and
// an incident whose verdict changes gets a new version.
#pragma once

#include <optional>
#include <string>
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

}  // namespace truce::pipeline
