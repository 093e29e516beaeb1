#include "truce/agreement/rules.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "agreement/json_util.h"

namespace truce::agreement {

namespace detail {

namespace {

// Kind groups a rule may name besides the kinds themselves.
bool expand_kind(const std::string& name, std::vector<Kind>& out) {
  if (name == "fire") {
    for (Kind k :
         {Kind::kSmallArms, Kind::kHeavyMg, Kind::kMortar, Kind::kExplosion, Kind::kArtillery, Kind::kMlrs})
      out.push_back(k);
    return true;
  }
  if (name == "heavy_weapons") {
    for (Kind k : {Kind::kMortar, Kind::kArtillery, Kind::kMlrs}) out.push_back(k);
    return true;
  }
  if (auto k = kind_from_string(name)) {
    out.push_back(*k);
    return true;
  }
  return false;
}

Result<std::vector<std::string>> string_list(const Json& r, std::string_view key, std::string_view src,
                                             const std::string& p) {
  std::vector<std::string> out;
  auto it = r.find(std::string(key));
  if (it == r.end()) return out;
  if (!it->is_array()) return key_error(src, join(p, key), "expected an array of strings, got " + show(*it));
  for (std::size_t i = 0; i < it->size(); ++i) {
    const Json& v = (*it)[i];
    if (!v.is_string() || v.get<std::string>().empty())
      return key_error(src, index(join(p, key), i), "expected a non-empty string, got " + show(v));
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::optional<double>> km(const Json& r, std::string_view key, std::string_view src,
                                 const std::string& p) {
  auto it = r.find(std::string(key));
  if (it == r.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0)
    return key_error(src, join(p, key), "expected a distance in kilometres >= 0, got " + show(*it));
  return std::optional<double>(it->get<double>() * 1000.0);
}

}  // namespace

Result<std::vector<Rule>> parse_rules(const Json& arr, std::string_view src, const std::string& path) {
  if (!arr.is_array()) return key_error(src, path, "expected an array of rules, got " + show(arr));
  std::vector<Rule> rules;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = index(path, i);
    const Json& r = arr[i];
    if (!r.is_object()) return key_error(src, p, "expected an object, got " + show(r));
    TRUCE_RETURN_IF_ERROR(only_keys(r,
                                    {"id", "title", "provision", "kinds", "zones", "zone_kinds", "where",
                                     "parties", "within_km_of_loc", "beyond_km_of_loc", "from", "until"},
                                    src, p));
    Rule rule;
    auto id = get_string(r, "id", src, p, true);
    if (!id.ok()) return id.status();
    rule.id = *id;
    if (!ids.insert(rule.id).second)
      return key_error(src, join(p, "id"), "rule \"" + rule.id + "\" is defined twice");
    auto title = get_string(r, "title", src, p, true);
    if (!title.ok()) return title.status();
    rule.title = *title;
    if (r.contains("provision") && r.at("provision").is_number_integer()) {
      rule.provision = std::to_string(r.at("provision").get<long long>());
    } else {
      auto prov = get_string(r, "provision", src, p, false);
      if (!prov.ok()) return prov.status();
      rule.provision = *prov;
    }
    auto kinds = string_list(r, "kinds", src, p);
    if (!kinds.ok()) return kinds.status();
    for (std::size_t k = 0; k < kinds->size(); ++k) {
      if (!expand_kind((*kinds)[k], rule.kinds))
        return key_error(src, index(join(p, "kinds"), k),
                         "unknown kind \"" + (*kinds)[k].substr(0, 40) +
                             "\"; expected fire, heavy_weapons or one of " + kind_list());
    }
    std::sort(rule.kinds.begin(), rule.kinds.end());
    rule.kinds.erase(std::unique(rule.kinds.begin(), rule.kinds.end()), rule.kinds.end());
    auto zones = string_list(r, "zones", src, p);
    if (!zones.ok()) return zones.status();
    rule.zones = std::move(zones).value();
    auto zk = string_list(r, "zone_kinds", src, p);
    if (!zk.ok()) return zk.status();
    for (std::size_t k = 0; k < zk->size(); ++k) {
      const auto& z = (*zk)[k];
      if (z != "control" && z != "buffer" && z != "corridor" && z != "withdrawal")
        return key_error(src, index(join(p, "zone_kinds"), k),
                         "expected control, buffer, corridor or withdrawal, got \"" + z.substr(0, 40) + "\"");
    }
    rule.zone_kinds = std::move(zk).value();
    auto where = get_string(r, "where", src, p, false);
    if (!where.ok()) return where.status();
    if (where->empty() || *where == "origin")
      rule.where = Where::kOrigin;
    else if (*where == "target")
      rule.where = Where::kTarget;
    else if (*where == "origin_or_target")
      rule.where = Where::kOriginOrTarget;
    else
      return key_error(src, join(p, "where"),
                       "expected origin, target or origin_or_target, got \"" + where->substr(0, 40) + "\"");
    if (rule.where != Where::kOrigin && rule.zones.empty() && rule.zone_kinds.empty())
      return key_error(src, join(p, "where"), "\"" + *where + "\" needs zones or zone_kinds to look for");
    auto parties = string_list(r, "parties", src, p);
    if (!parties.ok()) return parties.status();
    rule.parties = std::move(parties).value();
    auto within = km(r, "within_km_of_loc", src, p);
    if (!within.ok()) return within.status();
    rule.within_m_of_loc = *within;
    auto beyond = km(r, "beyond_km_of_loc", src, p);
    if (!beyond.ok()) return beyond.status();
    rule.beyond_m_of_loc = *beyond;
    if (rule.within_m_of_loc && rule.beyond_m_of_loc && *rule.beyond_m_of_loc >= *rule.within_m_of_loc)
      return key_error(src, join(p, "beyond_km_of_loc"),
                       "must be less than within_km_of_loc, or no incident can match");
    for (auto [key, slot] : {std::pair{"from", &rule.from}, std::pair{"until", &rule.until}}) {
      if (!r.contains(key)) continue;
      auto t = get_instant(r.at(key), src, join(p, key), std::nullopt);
      if (!t.ok()) return t.status();
      *slot = *t;
    }
    if (rule.from && rule.until && *rule.until <= *rule.from)
      return key_error(src, join(p, "until"), "must be after from");
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace detail

Result<std::vector<Rule>> parse_rules_document(std::string_view json, std::string_view source) {
  auto j = detail::parse_json(json, source, kMaxRulesDepth);
  if (!j.ok()) return j.status();
  if (!j->is_object()) return detail::key_error(source, "", "expected a JSON object with a \"rules\" array");
  TRUCE_RETURN_IF_ERROR(detail::only_keys(*j, {"rules"}, source, ""));
  if (!j->contains("rules")) return detail::key_error(source, "rules", "required key is missing");
  return detail::parse_rules(j->at("rules"), source, "rules");
}

namespace {

std::string km_text(double m) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f km", m / 1000.0);
  return b;
}

bool zone_matches(const Rule& r, const std::string& zone_id, const ZoneCatalog& cat) {
  if (std::find(r.zones.begin(), r.zones.end(), zone_id) != r.zones.end()) return true;
  if (r.zone_kinds.empty()) return false;
  auto it = cat.find(zone_id);
  return it != cat.end() &&
         std::find(r.zone_kinds.begin(), r.zone_kinds.end(), it->second.kind) != r.zone_kinds.end();
}

// The first zone of `zones` the rule looks for, or "".
std::string matching_zone(const Rule& r, const std::vector<std::string>& zones, const ZoneCatalog& cat) {
  for (const auto& z : zones)
    if (zone_matches(r, z, cat)) return z;
  return "";
}

std::string zone_phrase(const std::string& id, const ZoneCatalog& cat) {
  auto it = cat.find(id);
  if (it == cat.end()) return "zone '" + id + "'";
  return it->second.kind + " zone '" + id + "'";
}

}  // namespace

Classification classify(const IncidentView& inc, std::span<const Rule> rules, const ZoneCatalog& cat) {
  Classification out;
  for (const Rule& r : rules) {
    if (!r.kinds.empty() && std::find(r.kinds.begin(), r.kinds.end(), inc.kind) == r.kinds.end()) continue;
    if (r.from && inc.time < *r.from) continue;
    if (r.until && inc.time >= *r.until) continue;
    const bool has_zone_cond = !r.zones.empty() || !r.zone_kinds.empty();
    const bool needs_origin = !r.parties.empty() || r.within_m_of_loc || r.beyond_m_of_loc ||
                              (has_zone_cond && r.where == Where::kOrigin);
    bool missing = false;
    bool holds = true;
    // Conditions on the origin.
    if (needs_origin && !inc.origin) {
      missing = true;
    } else if (inc.origin) {
      if (!r.parties.empty() && std::find(r.parties.begin(), r.parties.end(), inc.party) == r.parties.end())
        holds = false;
      if ((r.within_m_of_loc || r.beyond_m_of_loc) && !inc.distance_to_loc_m) {
        missing = true;
      } else if (inc.distance_to_loc_m) {
        if (r.within_m_of_loc && *inc.distance_to_loc_m > *r.within_m_of_loc) holds = false;
        if (r.beyond_m_of_loc && *inc.distance_to_loc_m <= *r.beyond_m_of_loc) holds = false;
      }
    }
    std::string zone_hit;
    bool hit_target = false;
    if (has_zone_cond && holds) {
      const bool look_origin = r.where != Where::kTarget;
      const bool look_target = r.where != Where::kOrigin;
      if (look_origin && inc.origin) zone_hit = matching_zone(r, inc.zones, cat);
      if (zone_hit.empty() && look_target && inc.target) {
        zone_hit = matching_zone(r, inc.target_zones, cat);
        hit_target = !zone_hit.empty();
      }
      const bool any_place = (look_origin && inc.origin) || (look_target && inc.target);
      if (!any_place)
        missing = true;
      else if (zone_hit.empty())
        holds = false;
    }
    if (!holds) continue;
    if (missing) {
      out.unchecked.push_back(r.id);
      continue;
    }
    // The explanation: what, when, from where, and the rule.
    std::string e = r.title + ": " + std::string(to_string(inc.kind)) + " at " + format_instant(inc.time);
    if (inc.origin) {
      e += " from ";
      e += inc.party.empty() ? std::string("ground held by no party") : inc.party + "-held ground";
      if (!zone_hit.empty() && !hit_target) e += " inside " + zone_phrase(zone_hit, cat);
      if (inc.distance_to_loc_m) e += ", " + km_text(*inc.distance_to_loc_m) + " from the line of contact";
    } else {
      e += " (origin not located)";
    }
    if (hit_target) e += ", landing inside " + zone_phrase(zone_hit, cat);
    if (!r.provision.empty()) e += " (provision " + r.provision + ")";
    out.violations.push_back(Violation{r.id, std::move(e)});
  }
  return out;
}

}  // namespace truce::agreement
