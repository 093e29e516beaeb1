// The rules truce can check and the classification of incidents against them.
//
// A rule is a conjunction of conditions on an incident: its kind, where its origin (or target)
// lies (zone ids, zone kinds, the party whose control zone holds it, distance to the line of
// contact) and when it happened. An incident breaks a rule when every condition holds. A
// condition on a place cannot be checked for an incident without that place (a lone bearing has
// no origin): the rule is then listed as unchecked, never as broken.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "truce/core/observation.h"
#include "truce/core/status.h"
#include "truce/core/time.h"

namespace truce::agreement {

// Which place of the incident a zone condition looks at.
enum class Where : std::uint8_t { kOrigin, kTarget, kOriginOrTarget };

struct Rule {
  std::string id;                  // "R1": stable, shown with every violation
  std::string title;               // one line a reader understands: "no artillery within 50 km of the line"
  std::string provision;           // the provision it checks ("1"), may be empty
  std::vector<Kind> kinds;         // empty: any kind
  std::vector<std::string> zones;  // zone ids; empty: no zone condition by id
  std::vector<std::string> zone_kinds;    // "control", "buffer", "corridor", "withdrawal"
  Where where = Where::kOrigin;           // place the zone conditions look at
  std::vector<std::string> parties;       // origin's party (control zone); empty: any
  std::optional<double> within_m_of_loc;  // origin at most this far from the LoC
  std::optional<double> beyond_m_of_loc;  // origin more than this far from the LoC
  std::optional<Instant> from;            // applies from (inclusive)
  std::optional<Instant> until;           // applies until (exclusive)
};

// An incident as the rules see it: fusion's incidents, a test file or an analyst's entry.
struct IncidentView {
  std::string id;
  Instant time;
  Kind kind = Kind::kOther;
  std::optional<LatLon> origin;
  std::string party;                        // party of the control zone holding the origin, "" if none
  std::vector<std::string> zones;           // ids of the zones holding the origin (any kind)
  std::optional<double> distance_to_loc_m;  // of the origin
  std::optional<LatLon> target;             // where the fire landed, when known
  std::vector<std::string> target_zones;    // ids of the zones holding the target
};

// What a zone id is: its kind and party. Built from the mission's geography.
struct ZoneInfo {
  std::string kind;  // "control", "buffer", "corridor", "withdrawal"
  std::string party;
};
using ZoneCatalog = std::unordered_map<std::string, ZoneInfo>;

struct Violation {
  std::string rule_id;
  std::string explanation;  // one line: what happened, where, and the rule it breaks
};

struct Classification {
  std::vector<Violation> violations;   // in rule order
  std::vector<std::string> unchecked;  // rules that needed a place the incident does not have
};

// Classifies one incident. Pure: the same incident and rules give the same answer, so changing
// the rules and classifying again reclassifies.
Classification classify(const IncidentView& incident, std::span<const Rule> rules, const ZoneCatalog& zones);

inline constexpr int kMaxRulesDepth = 16;
// Parses a rules file: {"rules": [...]} (the same array an agreement file carries).
Result<std::vector<Rule>> parse_rules_document(std::string_view json, std::string_view source);

}  // namespace truce::agreement
