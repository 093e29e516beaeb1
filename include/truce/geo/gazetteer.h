// Gazetteer: named places, and "2.4 km SE of Martuni" descriptions of a point (geodesic distance
// on WGS84, 16-point compass, nearest suitable place). Thread-safe once built (const use only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/observation.h"
#include "truce/core/status.h"

namespace truce::geo {

struct Place {
  std::string name;
  LatLon pos;
  std::string feature_code;  // GeoNames code (PPL, PPLA, PPLC, PPLQ, ...); "" if unknown
  std::int64_t population = 0;
  std::string country;         // ISO 3166 alpha-2 when known
  std::string credit;          // whom to credit when the name is shown, e.g. "GeoNames"
  std::int64_t source_id = 0;  // e.g. the geonameid; 0 if none
  bool operator==(const Place&) const = default;
};

// The credit line GeoNames asks for (CC BY 4.0).
inline constexpr std::string_view kGeoNamesCredit = "GeoNames (geonames.org), CC BY 4.0";

// "N", "NNE", ..., "NNW" for an azimuth in degrees (any value; wrapped to [0, 360)).
std::string_view compass16(double azimuth_deg);

struct Description {
  std::string text;  // "2.4 km SE of Martuni"
  const Place* place = nullptr;
  double distance_m = 0;   // geodesic, from the place to the point
  double azimuth_deg = 0;  // from the place to the point, clockwise from north
};

class Gazetteer {
 public:
  // The GeoNames dump format (tab-separated, 19 columns, optional header line). Rows that are not
  // populated places (feature class P) are kept but never used by describe().
  static Result<Gazetteer> from_geonames_tsv(std::string_view text, std::string_view source);
  // A FeatureCollection of Point features with a name in properties `name`, `NAME` or `NAMEASCII`
  // (optional `population`/`POP_MAX`, `feature_code`). `credit` is recorded on every place.
  static Result<Gazetteer> from_geojson(std::string_view text, std::string_view source,
                                        std::string_view credit);
  // The stored form (a TSV with its own header) and back; used to keep places in the database.
  std::string serialize() const;
  static Result<Gazetteer> deserialize(std::string_view text, std::string_view source);

  // Nearest suitable place (a populated place that is not abandoned, historical or a section of
  // another place); nullopt when the gazetteer has none.
  std::optional<Description> describe(LatLon p) const;
  // Credits of the places in this gazetteer, distinct, in first-seen order.
  std::vector<std::string> credits() const;

  const std::vector<Place>& places() const { return places_; }
  void add(Place p) { places_.push_back(std::move(p)); }

 private:
  std::vector<Place> places_;
};

// Formats a distance for descriptions: "450 m", "2.4 km", "37 km".
std::string format_distance(double metres);

}  // namespace truce::geo
