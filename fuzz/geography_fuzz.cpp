// Any bytes as zones GeoJSON, as a line of contact and as a GeoNames gazetteer: an error naming
// the problem, or a geography that answers attribution, never a crash.
#include <cstdint>
#include <string_view>

#include "truce/geo/gazetteer.h"
#include "truce/geo/geography.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)truce::geo::parse_zones(text, "zones.geojson");
  (void)truce::geo::parse_loc(text, "loc.geojson");
  auto g = truce::geo::Geography::from_geojson(text, text, "zones.geojson", "loc.geojson");
  if (g.ok()) (void)(*g)->attribute(truce::LatLon{39.8, 46.75});
  auto places = truce::geo::Gazetteer::from_geonames_tsv(text, "places.tsv");
  if (places.ok()) (void)places->describe(truce::LatLon{39.8, 46.75});
  (void)truce::geo::Gazetteer::from_geojson(text, "places.geojson", "fuzz");
  return 0;
}
