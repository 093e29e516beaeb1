// Attribution of located incidents: the geography engine decides party, zones and LoC distance.
#include <vector>

#include "truce/fusion/fusion.h"
#include "truce/geo/geography.h"

namespace truce::fusion {

void attribute(std::span<Incident> incidents, const geo::Geography& geography, unsigned threads) {
  std::vector<LatLon> pts;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < incidents.size(); ++i) {
    if (incidents[i].origin) {
      pts.push_back(*incidents[i].origin);
      which.push_back(i);
    }
  }
  std::vector<geo::CompactAttribution> out(pts.size());
  std::vector<std::uint32_t> others;
  geography.attribute_batch(pts, out, others, threads);
  const auto& zones = geography.zones();
  for (std::size_t k = 0; k < which.size(); ++k) {
    Incident& inc = incidents[which[k]];
    const auto& a = out[k];
    inc.party = a.control_zone >= 0 ? zones[static_cast<std::size_t>(a.control_zone)].party : std::string();
    inc.zones.clear();
    for (std::uint32_t j = 0; j < a.n_other; ++j) inc.zones.push_back(zones[others[a.first_other + j]].id);
    inc.distance_to_loc_m = a.distance_to_loc_m;
  }
}

}  // namespace truce::fusion
