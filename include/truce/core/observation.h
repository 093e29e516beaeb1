// Value types for observers and observations (DESIGN.md "Words").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "truce/core/time.h"

namespace truce {

// What was seen or heard. The order of the first six is the "neighbouring kinds" ladder that
// observers confuse (small_arms - heavy_mg - mortar - explosion - artillery - mlrs).
enum class Kind : std::uint8_t {
  kSmallArms,
  kHeavyMg,
  kMortar,
  kExplosion,
  kArtillery,
  kMlrs,
  kDrone,
  kMovement,
  kOther
};
inline constexpr std::array<std::string_view, 9> kKindNames = {
    "small_arms", "heavy_mg", "mortar", "explosion", "artillery", "mlrs", "drone", "movement", "other"};
std::string_view to_string(Kind k);
std::optional<Kind> kind_from_string(std::string_view s);
// "small_arms, heavy_mg, ..." for error messages.
std::string kind_list();

enum class Direction : std::uint8_t { kUnknown, kIncoming, kOutgoing };
std::string_view to_string(Direction d);  // "", "incoming", "outgoing"
std::optional<Direction> direction_from_string(std::string_view s);

enum class ObserverType : std::uint8_t { kPost, kPatrol, kCamera, kAcoustic, kUav, kOther };
std::string_view to_string(ObserverType t);
std::optional<ObserverType> observer_type_from_string(std::string_view s);

struct LatLon {
  double lat = 0;
  double lon = 0;
  bool operator==(const LatLon&) const = default;
};

struct Observer {
  std::string id;
  std::optional<LatLon> position;  // fixed posts; a patrol's is its sector's base
  std::string party;               // e.g. "AZE", "ARM" or the mission's own code
  ObserverType type = ObserverType::kPost;
  bool operator==(const Observer&) const = default;
};

// One raw report, immutable once accepted. `id` is chosen by the client and is the idempotency key.
struct Observation {
  std::string id;
  Instant time;
  std::string observer_id;
  std::optional<LatLon> observer_pos;  // where the observer was; else the observer's registered position
  Kind kind = Kind::kOther;
  std::optional<double> bearing_deg;  // geodesic azimuth from the observer, [0, 360)
  std::optional<double> bearing_sigma_deg;
  std::optional<double> distance_m;
  std::optional<double> distance_sigma_m;
  std::int32_t count = 1;
  Direction direction = Direction::kUnknown;
  std::string notes;
  // The id of the report this one corrects (an edited ODK submission's deprecatedID), "" for none.
  // Both are kept; fusion uses only the newest. Part of the content.
  std::string supersedes;
  // Submission metadata: not part of the content that decides duplicate vs conflict.
  std::string channel;       // "csv", "ndjson", "api", "openrosa", "simulated"
  std::string submitted_by;  // user or file
  bool operator==(const Observation&) const = default;
};

// The canonical encoding of an observation's content: fixed field order, unit-separator delimited,
// numbers in shortest round-trip form (-0 as 0). Two observations are the same report iff these are
// equal. A report that supersedes another is tagged "obs2" and carries that id before its notes;
// every other report keeps the "obs1" encoding its audit link was made with.
// The audit chain hashes this encoding; changing it is a schema change.
std::string canonical_content(const Observation& o);

}  // namespace truce
