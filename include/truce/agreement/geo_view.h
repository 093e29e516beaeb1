// Puts incidents on the mission's geography for the rules: the party, zones and distance to the
// line of contact of an incident's origin, and the zones of its target.
#pragma once

#include "truce/agreement/rules.h"
#include "truce/geo/geography.h"

namespace truce::agreement {

// Every zone of the geography by id, with its kind and party.
ZoneCatalog zone_catalog(const geo::Geography& g);

// Fills party, zones (the non-control zones holding the origin) and distance_to_loc_m from the
// origin, and target_zones from the target; leaves them empty where the place is unknown.
void place_on(IncidentView& incident, const geo::Geography& g);

}  // namespace truce::agreement
