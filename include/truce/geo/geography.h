// The mission's geography: zones (control, buffer, corridor, withdrawal), the line of contact (LoC),
// and attribution of a point to them. One engine for fusion, reports and the command line.
//
// Semantics (README "Geography"):
// - Point in zone: planar even-odd rule on lon/lat degrees, the semantics of GEOS/PostGIS geometry.
//   A point exactly on an edge or a vertex is classified as the point moved an infinitesimal step
//   east, then an even smaller step north: it belongs to the zone lying immediately east (for an
//   east-west edge: north) of it. So zones that tile the plane give every point exactly one zone.
// - Distance to the LoC: the geodesic distance on WGS84 to the nearest point of the LoC, whose
//   segments are geodesics between consecutive vertices; error well below 1 cm (tests check it
//   against a GeographicLib brute force).
// - Side: -1 left, +1 right of the LoC's digitised direction at the nearest point, 0 on it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/observation.h"
#include "truce/core/status.h"

namespace truce::geo {

enum class ZoneKind : std::uint8_t { kControl, kBuffer, kCorridor, kWithdrawal };
std::string_view to_string(ZoneKind k);  // "control", "buffer", "corridor", "withdrawal"

struct Attribution {
  std::string party;               // party of the control zone containing the point, "" if none
  std::vector<std::string> zones;  // ids of the other (buffer/corridor/withdrawal) zones containing it
  double distance_to_loc_m = 0;    // geodesic distance to the line of contact, WGS84, metres
  int side = 0;                    // -1 left, +1 right of the LoC's digitised direction, 0 on it
};

// The same answer without strings, for million-point batches: indexes into Geography::zones().
struct CompactAttribution {
  std::int32_t control_zone = -1;  // index of the control zone containing the point, -1 if none
  std::uint32_t first_other = 0;   // the other zones containing it: others[first_other, +n_other)
  std::uint32_t n_other = 0;       //   of the vector passed to attribute_batch
  double distance_to_loc_m = 0;
  std::int8_t side = 0;
};

struct Zone {
  std::string id;
  std::string party;  // "" for zones of no party (e.g. a buffer)
  ZoneKind kind = ZoneKind::kControl;
  // Polygons, each a shell then its holes; rings closed (first == last), lon/lat degrees.
  std::vector<std::vector<std::vector<LatLon>>> polygons;
};

struct LocLine {
  std::string id;
  std::vector<LatLon> vertices;  // in digitised order
};

// Limits on untrusted GeoJSON; errors say which one was hit.
struct GeoJsonLimits {
  int max_depth = 16;  // JSON nesting
  std::size_t max_positions_per_feature = 1'000'000;
  std::size_t max_positions_total = 4'000'000;
  std::size_t max_features = 100'000;
};

class Geography {
 public:
  // RFC 7946 FeatureCollections for zones and the LoC; errors name the source, feature and reason.
  // Zone properties: `id` (string or integer; else "feature-N"), `kind` (control|buffer|corridor|
  // withdrawal; absent = control), `party` (string; absent on a control zone = its id). The LoC:
  // LineString or MultiLineString features. Geometry is validated (rings closed, >= 4 positions,
  // coordinates in range, simple rings, holes inside shells, unique ids).
  static Result<std::shared_ptr<const Geography>> from_geojson(std::string_view zones_json,
                                                               std::string_view loc_json,
                                                               std::string_view zones_source = "zones",
                                                               std::string_view loc_source = "loc",
                                                               const GeoJsonLimits& limits = {});
  // From already validated parts (e.g. built in code or by tests).
  static Result<std::shared_ptr<const Geography>> from_parts(std::vector<Zone> zones,
                                                             std::vector<LocLine> loc);

  ~Geography();
  Geography(const Geography&) = delete;
  Geography& operator=(const Geography&) = delete;

  // Thread-safe: any number of threads may call the const members at once.
  Attribution attribute(LatLon p) const;
  // Attributes many points, split over `threads` threads (0 = all cores). `others` receives the
  // indexes of the non-control zones of every point, referenced by first_other/n_other.
  void attribute_batch(std::span<const LatLon> points, std::span<CompactAttribution> out,
                       std::vector<std::uint32_t>& others, unsigned threads = 0) const;
  // Geodesic distance (metres) to the LoC and the side, without zones.
  double distance_to_loc(LatLon p, int* side = nullptr) const;

  const std::vector<Zone>& zones() const;
  const std::vector<LocLine>& loc() const;

  struct Impl;

 private:
  explicit Geography(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses and validates a zones / LoC FeatureCollection alone (for import: check before storing).
Result<std::vector<Zone>> parse_zones(std::string_view json, std::string_view source,
                                      const GeoJsonLimits& limits = {});
Result<std::vector<LocLine>> parse_loc(std::string_view json, std::string_view source,
                                       const GeoJsonLimits& limits = {});

}  // namespace truce::geo
