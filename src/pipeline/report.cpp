#include "truce/pipeline/report.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "truce/agreement/agreement.h"
#include "truce/agreement/humanitarian.h"
#include "truce/geo/gazetteer.h"
#include "truce/geo/geography.h"
#include "truce/pipeline/mission.h"

namespace truce::pipeline {

namespace {

constexpr std::int64_t kHistoryDays = 30;
// Observations of an incident starting on the day may be timed a little outside it.
constexpr std::int64_t kObsMarginMs = 3 * 3'600'000;

struct ObsInfo {
  std::string observer;
  bool simulated = false;
};

// Reads the fused fields the report uses from an incident's canonical content
// (pipeline::incident_content plus the classification's "violations") as the parser goes, without
// building a document: a busy day has tens of thousands of incidents.
class ContentReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit ContentReader(report::IncidentInput& out) : out_(out) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return number(v); }
  bool string(string_t& v) override {
    if (depth_ == 3 && top_ == "violations") {
      if (inner_ == "rule")
        violation_.rule = std::move(v);
      else if (inner_ == "explanation")
        violation_.explanation = std::move(v);
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth_;
    if (depth_ == 2 && top_ == "ellipse") out_.ellipse = report::Ellipse{};
    if (depth_ == 3 && top_ == "violations") violation_ = {};
    return depth_ <= 8;
  }
  bool end_object() override {
    if (depth_ == 3 && top_ == "violations") {
      if (violation_.rule.empty())
        bad_violation_ = true;
      else
        out_.violations.push_back(std::move(violation_));
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return depth_ <= 8;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1)
      top_ = std::move(k);
    else
      inner_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  bool bad_violation() const { return bad_violation_; }

 private:
  bool number(double v) {
    if (depth_ == 1) {
      if (top_ == "distance_to_loc_m")
        out_.distance_to_loc_m = v;
      else if (top_ == "rounds")
        out_.rounds = static_cast<std::int64_t>(v);
    } else if (depth_ == 2 && top_ == "ellipse" && out_.ellipse) {
      if (inner_ == "semi_major_m")
        out_.ellipse->semi_major_m = v;
      else if (inner_ == "semi_minor_m")
        out_.ellipse->semi_minor_m = v;
      else if (inner_ == "major_azimuth_deg")
        out_.ellipse->major_azimuth_deg = v;
    }
    return true;
  }
  report::IncidentInput& out_;
  int depth_ = 0;
  std::string top_, inner_;
  report::Violation violation_;
  bool bad_violation_ = false;
};

Status read_content(const StoredIncident& si, report::IncidentInput& out) {
  ContentReader reader(out);
  if (!nlohmann::json::sax_parse(si.content, &reader))
    return Status::Corruption("incident " + si.id + ": stored content is not valid JSON");
  if (reader.bad_violation())
    return Status::Corruption("incident " + si.id +
                              ": violations: expected objects {\"rule\", \"explanation\"}");
  return Status::Ok();
}

}  // namespace

Result<report::ReportInputs> gather_report_inputs(Store& store, std::int64_t day, Store* reviews) {
  report::ReportInputs in;
  in.day = day;
  const std::int64_t lo = day * kDayMs, hi = lo + kDayMs;

  // The mission's documents.
  auto zones = store.document("zones");
  if (!zones.ok()) return zones.status();
  auto loc = store.document("loc");
  if (!loc.ok()) return loc.status();
  if (*zones) {
    auto z = geo::parse_zones(**zones, "zones (mission database)");
    if (!z.ok()) return z.status();
    in.zones = std::move(z).value();
  }
  if (*loc) {
    auto l = geo::parse_loc(**loc, "loc (mission database)");
    if (!l.ok()) return l.status();
    in.loc = std::move(l).value();
  }
  auto places = store.document("places");
  if (!places.ok()) return places.status();
  if (*places) {
    auto g = geo::Gazetteer::deserialize(**places, "places (mission database)");
    if (!g.ok()) return g.status();
    in.gazetteer = std::move(g).value();
  }
  auto agr = store.document("agreement");
  if (!agr.ok()) return agr.status();
  if (*agr) {
    auto a = agreement::parse_agreement(**agr, "agreement (mission database)");
    if (!a.ok()) return a.status();
    in.agreement = std::move(a).value();
  }
  auto movement = movement_records(store);
  if (!movement.ok()) return movement.status();
  in.crossings = std::move(movement->crossings);
  in.baselines = std::move(movement->baselines);
  auto observers = store.observers();
  if (!observers.ok()) return observers.status();
  in.observers = std::move(observers).value();

  // Incidents of the 30 days before (counts by kind) and of the day (in full).
  std::unordered_map<std::int64_t, std::size_t> hist_index;
  Status bad;
  auto kind_of = [&bad](const StoredIncident& si) {
    const auto kind = kind_from_string(si.kind);
    if (!kind) bad = Status::Corruption("incident " + si.id + ": unknown kind \"" + si.kind + "\"");
    return kind;
  };
  // The days before are only counted: no content, no links.
  IncidentFilter before;
  before.from = Instant{lo - kHistoryDays * kDayMs};
  before.to = Instant{lo};
  before.with_content = false;
  before.with_observations = false;
  TRUCE_RETURN_IF_ERROR(store.scan_incidents(before, [&](const StoredIncident& si) {
    if (si.start.ms < lo - kHistoryDays * kDayMs) return true;  // began before the window
    const auto kind = kind_of(si);
    if (!kind) return false;
    const std::int64_t d = si.start.ms / kDayMs;
    auto [it, fresh] = hist_index.try_emplace(d, in.history.size());
    if (fresh) in.history.push_back({d, {}});
    ++in.history[it->second].by_kind[static_cast<std::size_t>(*kind)];
    return true;
  }));
  TRUCE_RETURN_IF_ERROR(bad);
  IncidentFilter f;
  f.from = Instant{lo};
  f.to = Instant{hi};
  TRUCE_RETURN_IF_ERROR(store.scan_incidents(f, [&](const StoredIncident& si) {
    if (si.start.ms < lo) return true;  // counted with the days before
    if (!kind_of(si)) return false;
    report::IncidentInput x;
    x.id = si.id;
    x.start = si.start;
    x.end = si.end;
    x.kind = si.kind;
    x.party = si.party;
    if (si.lat && si.lon) x.origin = LatLon{*si.lat, *si.lon};
    x.reports = static_cast<std::int64_t>(si.observation_ids.size());
    if (Status st = read_content(si, x); !st.ok()) {
      bad = st;
      return false;
    }
    // Observer ids are resolved below; keep the observation ids for now.
    x.observers = si.observation_ids;
    in.incidents.push_back(std::move(x));
    return true;
  }));
  TRUCE_RETURN_IF_ERROR(bad);

  // The analysts' verdicts: on a second thread with its own connection when there is one.
  std::vector<std::string> ids;
  ids.reserve(in.incidents.size());
  for (const auto& x : in.incidents) ids.push_back(x.id);
  std::vector<Result<IncidentReview>> verdicts;
  auto read_verdicts = [&ids, &verdicts](Store& st) {
    verdicts.reserve(ids.size());
    for (const auto& id : ids) verdicts.push_back(st.incident_review(id));
  };
  std::thread worker;
  if (reviews) worker = std::thread([&] { read_verdicts(*reviews); });
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{worker};

  // Observations around the day: who made them, which are simulated; the day's totals.
  std::unordered_map<std::string, ObsInfo> obs;
  ObservationFilter of;
  of.from = Instant{lo - kObsMarginMs};
  of.to = Instant{hi + kObsMarginMs};
  TRUCE_RETURN_IF_ERROR(store.scan_observations(of, [&](const StoredObservation& so) {
    const bool sim = report::is_simulated(so.obs);
    if (so.obs.time.ms >= lo && so.obs.time.ms < hi) {
      ++in.observations;
      in.simulated_observations += sim;
    }
    obs.emplace(so.obs.id, ObsInfo{so.obs.observer_id, sim});
    return true;
  }));

  // Observations fused into the day's incidents but timed outside the margin: look them up.
  std::unique_ptr<WriteBatch> reader;
  for (auto& x : in.incidents) {
    std::vector<std::string> who;
    for (const auto& oid : x.observers) {
      auto it = obs.find(oid);
      if (it == obs.end()) {
        if (!reader) {
          auto b = store.begin();
          if (!b.ok()) return b.status();
          reader = std::move(b).value();  // read-only use: never committed, rolled back
        }
        auto o = reader->find_observation(oid);
        if (!o.ok()) return o.status();
        if (!*o)
          return Status::Corruption("incident " + x.id + ": observation " + oid + " is not in the database");
        it = obs.emplace(oid, ObsInfo{(*o)->observer_id, report::is_simulated(**o)}).first;
      }
      who.push_back(it->second.observer);
      x.simulated_reports += it->second.simulated;
    }
    std::sort(who.begin(), who.end());
    who.erase(std::unique(who.begin(), who.end()), who.end());
    x.observers = std::move(who);
  }
  reader.reset();

  if (worker.joinable())
    worker.join();
  else
    read_verdicts(store);
  for (std::size_t k = 0; k < in.incidents.size(); ++k) {
    if (!verdicts[k].ok()) return verdicts[k].status();
    in.incidents[k].review_status = verdicts[k]->status;
    in.incidents[k].review_notes = verdicts[k]->notes;
  }
  return in;
}

}  // namespace truce::pipeline
