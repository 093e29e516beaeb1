#include "truce/agreement/geo_view.h"

namespace truce::agreement {

ZoneCatalog zone_catalog(const geo::Geography& g) {
  ZoneCatalog c;
  for (const auto& z : g.zones()) c[z.id] = ZoneInfo{std::string(geo::to_string(z.kind)), z.party};
  return c;
}

void place_on(IncidentView& inc, const geo::Geography& g) {
  inc.party.clear();
  inc.zones.clear();
  inc.distance_to_loc_m.reset();
  inc.target_zones.clear();
  if (inc.origin) {
    geo::Attribution a = g.attribute(*inc.origin);
    inc.party = a.party;
    inc.zones = a.zones;
    inc.distance_to_loc_m = a.distance_to_loc_m;
  }
  if (inc.target) inc.target_zones = g.attribute(*inc.target).zones;
}

}  // namespace truce::agreement
