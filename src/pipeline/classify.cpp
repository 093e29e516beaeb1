// Classification of stored incidents against the mission's rules (include/truce/pipeline/classify.h).
#include "truce/pipeline/classify.h"

#include <nlohmann/json.hpp>

#include "truce/agreement/geo_view.h"

namespace truce::pipeline {

Result<std::optional<Rulebook>> mission_rulebook(Store& store, const geo::Geography& geography) {
  auto doc = store.document("agreement");
  if (!doc.ok()) return doc.status();
  if (!*doc) return std::optional<Rulebook>{};
  auto a = agreement::parse_agreement(**doc, "agreement (mission database)");
  if (!a.ok()) return a.status();
  Rulebook book;
  book.rules = std::move(a->rules);
  book.zones = agreement::zone_catalog(geography);
  return std::optional<Rulebook>(std::move(book));
}

namespace {

// The incident as the rules see it, from the place fusion already attributed.
Result<agreement::IncidentView> view_of(const nlohmann::json& j) {
  agreement::IncidentView v;
  v.id = j.value("id", "");
  auto t = parse_instant(j.value("start", ""));
  if (!t.ok()) return Status::Invalid("incident " + v.id + ": content has no valid 'start'");
  v.time = *t;
  auto k = kind_from_string(j.value("kind", "other"));
  v.kind = k ? *k : Kind::kOther;
  if (j.contains("lat") && j.contains("lon"))
    v.origin = LatLon{j["lat"].get<double>(), j["lon"].get<double>()};
  v.party = j.value("party", "");
  if (auto z = j.find("zones"); z != j.end() && z->is_array())
    for (const auto& id : *z) v.zones.push_back(id.get<std::string>());
  if (auto d = j.find("distance_to_loc_m"); d != j.end() && d->is_number())
    v.distance_to_loc_m = d->get<double>();
  return v;
}

}  // namespace

Result<std::string> classify_content(const std::string& content, const Rulebook& book, std::size_t* broken) {
  auto j = nlohmann::json::parse(content, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Invalid("incident content is not a JSON object");
  auto v = view_of(j);
  if (!v.ok()) return v.status();
  const auto c = agreement::classify(*v, book.rules, book.zones);
  if (broken) *broken = c.violations.size();
  nlohmann::json violations = nlohmann::json::array();
  for (const auto& x : c.violations)
    violations.push_back({{"rule", x.rule_id}, {"explanation", x.explanation}});
  j["violations"] = std::move(violations);
  j["unchecked_rules"] = c.unchecked;
  return j.dump();
}

Result<ReclassifySummary> reclassify_stored(Store& store, const geo::Geography& geography) {
  auto book = mission_rulebook(store, geography);
  if (!book.ok()) return book.status();
  const Rulebook rules = *book ? std::move(**book) : Rulebook{};
  ReclassifySummary sum;
  std::vector<StoredIncident> changed;
  std::vector<std::string> scope;
  Status failed;
  Status st = store.scan_incidents({}, [&](const StoredIncident& si) {
    std::size_t broken = 0;
    auto content = classify_content(si.content, rules, &broken);
    if (!content.ok()) {
      failed = content.status();
      return false;
    }
    ++sum.incidents;
    sum.violating += broken > 0;
    if (*content != si.content) {
      StoredIncident next = si;
      next.content = std::move(content).value();
      scope.insert(scope.end(), si.observation_ids.begin(), si.observation_ids.end());
      changed.push_back(std::move(next));
    }
    return true;
  });
  if (!st.ok()) return st;
  if (!failed.ok()) return failed;
  sum.sync.unchanged = static_cast<std::int64_t>(sum.incidents - changed.size());
  if (!changed.empty()) {
    auto sync = store.replace_incidents(scope, changed);
    if (!sync.ok()) return sync.status();
    sum.sync.updated = sync->updated + sync->created;
  }
  return sum;
}

}  // namespace truce::pipeline
