// Classification of stored incidents and incident files against the mission's rules
// (include/truce/pipeline/classify.h).
#include "truce/pipeline/classify.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <tuple>

#include "truce/agreement/geo_view.h"
#include "truce/io/record_reader.h"
#include "truce/pipeline/fuse.h"

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

Result<AgreementImport> import_agreement(Store& store, std::string_view text, std::string_view source) {
  AgreementImport out;
  auto a = agreement::parse_agreement(text, source);
  if (!a.ok()) {
    out.refused = a.status();
    return out;
  }
  out.agreement = std::move(a).value();
  Status st = store.write_transaction([&]() -> Status {
    auto v = store.put_document("agreement", text);
    if (!v.ok()) return v.status();
    out.version = *v;
    // New rules reclassify every stored incident (when the mission has a geography to place them on).
    auto zones = store.document("zones");
    if (!zones.ok()) return zones.status();
    auto loc = store.document("loc");
    if (!loc.ok()) return loc.status();
    if (!*zones || !*loc) return Status::Ok();
    auto g = mission_geography(store);
    if (!g.ok()) return g.status();
    auto r = reclassify_stored(store, **g);
    if (!r.ok()) return r.status();
    out.reclassified = *r;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

namespace {

bool parse_num(std::string_view s, double& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

Result<ClassifyFileSummary> classify_file(const std::string& path, const std::vector<agreement::Rule>& rules,
                                          const geo::Geography& geography,
                                          const ClassifyFileOptions& options) {
  const agreement::ZoneCatalog catalog = agreement::zone_catalog(geography);
  ClassifyFileSummary sum;
  auto src = io::ByteSource::open(path);
  if (!src.ok()) return src.status();
  io::RecordReader reader(**src, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  const std::vector<std::string_view> names = {"incident_id", "time", "start",      "kind",
                                               "lat",         "lon",  "target_lat", "target_lon"};
  std::vector<int> col(names.size(), -1);
  auto r = reader.next(rec, err);
  if (r != io::ReadResult::kRecord) {
    sum.refused =
        r == io::ReadResult::kEnd
            ? Status::Invalid("empty file: expected a header incident_id,time,kind,lat,lon", {path, 1, ""})
            : err;
    return sum;
  }
  const std::size_t width = rec.fields.size();
  for (std::size_t i = 0; i < rec.fields.size(); ++i)
    for (std::size_t c = 0; c < names.size(); ++c)
      if (rec.fields[i] == names[c]) col[c] = static_cast<int>(i);
  if (col[2] >= 0 && col[1] < 0) col[1] = col[2];  // fusion's incidents.csv: the start of the incident
  for (std::size_t c : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    if (col[c] < 0) {
      sum.refused =
          Status::Invalid("missing required column '" + std::string(names[c]) +
                              "' (the header needs incident_id, time (or start), kind; lat, lon and "
                              "target_lat, target_lon are optional)",
                          {path, rec.line, ""});
      return sum;
    }
  }
  if (options.begin) options.begin();
  auto field = [&](std::size_t c) -> std::string_view {
    return col[c] >= 0 ? rec.fields[static_cast<std::size_t>(col[c])] : std::string_view();
  };
  auto complain = [&](const Status& st) {
    if (sum.bad_rows++ < options.max_problems && options.problem) options.problem(st);
  };
  for (;;) {
    r = reader.next(rec, err);
    if (r == io::ReadResult::kEnd) break;
    if (r == io::ReadResult::kFatal) return err;
    if (r == io::ReadResult::kBadRecord) {
      complain(err);
      continue;
    }
    if (rec.fields.size() != width) {
      complain(Status::Invalid("expected " + std::to_string(width) + " fields like the header",
                               {path, rec.line, ""}));
      continue;
    }
    agreement::IncidentView v;
    v.id = std::string(field(0));
    auto t = parse_instant(field(1));
    if (!t.ok()) {
      complain(Status::Invalid(
          t.status().message(),
          {path, rec.line, names[static_cast<std::size_t>(col[1] == col[2] ? 2 : 1)].data()}));
      continue;
    }
    v.time = *t;
    auto k = kind_from_string(field(3));
    if (!k) {
      complain(Status::Invalid("expected one of " + kind_list(), {path, rec.line, "kind"}));
      continue;
    }
    v.kind = *k;
    bool ok = true;
    for (auto [lat_c, lon_c, slot, what] :
         {std::tuple{std::size_t{4}, std::size_t{5}, &v.origin, "lat"},
          std::tuple{std::size_t{6}, std::size_t{7}, &v.target, "target_lat"}}) {
      const auto la = field(lat_c), lo = field(lon_c);
      if (la.empty() && lo.empty()) continue;
      double lat = 0, lon = 0;
      if (!parse_num(la, lat) || !parse_num(lo, lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
        complain(Status::Invalid("expected latitude and longitude in degrees (or both empty)",
                                 {path, rec.line, what}));
        ok = false;
        break;
      }
      *slot = LatLon{lat, lon};
    }
    if (!ok) continue;
    agreement::place_on(v, geography);
    const auto c = agreement::classify(v, rules, catalog);
    ++sum.incidents;
    if (!c.violations.empty()) ++sum.violating;
    if (options.row) options.row(v, c);
  }
  return sum;
}

}  // namespace truce::pipeline
