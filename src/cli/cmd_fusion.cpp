// fuse: reports in, located and attributed incidents out.
//   truce fuse --observations FILE.csv --zones Z.geojson --loc L.geojson --out DIR   (no database)
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/output.h"
#include "truce/fusion/fusion.h"
#include "truce/geo/geography.h"
#include "truce/io/record_reader.h"
#include "truce/io/tabular.h"

namespace truce::cli {

namespace {

// Observations read from a CSV file, as fusion needs them.
struct Loaded {
  std::vector<std::string> ids;
  std::vector<fusion::Report> reports;
  std::int64_t bad = 0;
};

Status read_observations_csv(const std::string& path, const fusion::Config& cfg, Loaded& out) {
  auto src = io::ByteSource::open(path);
  if (!src.ok()) return src.status();
  io::RecordReader reader(**src, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  io::ColumnMap map;
  bool have_header = false;
  io::Row row;
  Observation o;
  std::unordered_map<std::string, std::uint32_t> observers;
  const Instant now = SystemClock{}.now();
  int shown = 0;
  auto complain = [&](const std::string& msg) {
    ++out.bad;
    if (shown++ < 10) std::fprintf(stderr, "truce: %s (skipped)\n", msg.c_str());
  };
  for (;;) {
    const io::ReadResult rr = reader.next(rec, err);
    if (rr == io::ReadResult::kEnd) break;
    if (rr == io::ReadResult::kFatal) return err;
    if (rr == io::ReadResult::kBadRecord) {
      if (!have_header) return err;
      complain(err.ToString());
      continue;
    }
    if (!have_header) {
      auto m = io::map_header(io::observation_schema(), rec.fields, path);
      if (!m.ok()) return m.status();
      map = std::move(m).value();
      have_header = true;
      continue;
    }
    if (auto e = io::pick(map, rec, row)) {
      complain(path + ":" + std::to_string(rec.line) + ": " + e->reason);
      continue;
    }
    if (auto e = io::parse_observation(row, now, o)) {
      complain(path + ":" + std::to_string(rec.line) + ": field '" + e->field + "': " + e->reason +
               (e->value.empty() ? "" : ", got \"" + e->value + "\""));
      continue;
    }
    if (out.reports.size() >= UINT32_MAX - 1) return Status::Invalid(path + ": too many observations for one run");
    auto [it, fresh] = observers.try_emplace(o.observer_id, static_cast<std::uint32_t>(observers.size()));
    const auto index = static_cast<std::uint32_t>(out.reports.size());
    out.reports.push_back(fusion::make_report(o, index, it->second, o.observer_pos, cfg));
    out.ids.push_back(o.id);
  }
  if (!have_header) return Status::Invalid(path + ": empty file: expected a header line");
  return Status::Ok();
}

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  std::string s;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    s.append(buf, static_cast<std::size_t>(f.gcount()));
    if (s.size() > max_bytes) return Status::Invalid(path + ": larger than " + std::to_string(max_bytes >> 20) + " MiB");
  }
  return s;
}

Result<std::shared_ptr<const geo::Geography>> load_geography(const std::string& zones, const std::string& loc) {
  auto z = read_text_file(zones, std::size_t{512} << 20);
  if (!z.ok()) return z.status();
  auto l = read_text_file(loc, std::size_t{512} << 20);
  if (!l.ok()) return l.status();
  return geo::Geography::from_geojson(*z, *l, zones, loc);
}

std::string fmt_num(double v, int prec) {
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, v, std::chars_format::fixed, prec);
  return std::string(b, r.ptr);
}

Status write_outputs(const std::string& dir, const Loaded& in, const std::vector<fusion::Incident>& incs) {
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
  }
  std::vector<std::uint32_t> inc_of(in.reports.size(), 0);
  for (std::size_t k = 0; k < incs.size(); ++k) {
    for (auto i : incs[k].members) inc_of[i] = static_cast<std::uint32_t>(k + 1);
  }
  {
    std::string buf = "observation_id,incident_id\n";
    buf.reserve(in.ids.size() * 16);
    for (std::size_t i = 0; i < in.ids.size(); ++i) {
      buf += in.ids[i];
      buf += ',';
      if (inc_of[i]) buf += std::to_string(inc_of[i]);
      buf += '\n';
    }
    std::ofstream f(dir + "/assign.csv", std::ios::binary);
    f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (!f) return Status::IOError("cannot write " + dir + "/assign.csv");
  }
  {
    std::string buf =
        "incident_id,lat,lon,origin_party,distance_to_loc_m,start,end,kind,reports,rounds,semi_major_m,semi_minor_m,"
        "major_azimuth_deg,sector_azimuth_deg,sector_half_width_deg\n";
    buf.reserve(incs.size() * 120);
    for (std::size_t k = 0; k < incs.size(); ++k) {
      const auto& c = incs[k];
      buf += std::to_string(k + 1);
      buf += ',';
      if (c.origin) buf += fmt_num(c.origin->lat, 6) + ',' + fmt_num(c.origin->lon, 6);
      else buf += ',';
      buf += ',';
      buf += c.party;
      buf += ',';
      if (c.distance_to_loc_m) buf += fmt_num(*c.distance_to_loc_m, 1);
      buf += ',' + format_instant(Instant{c.start_s * 1000}) + ',' + format_instant(Instant{c.end_s * 1000});
      buf += ',';
      buf += to_string(c.kind);
      buf += ',' + std::to_string(c.members.size()) + ',' + std::to_string(c.rounds) + ',';
      if (c.ellipse) {
        buf += fmt_num(c.ellipse->semi_major_m, 0) + ',' + fmt_num(c.ellipse->semi_minor_m, 0) + ',' +
               fmt_num(c.ellipse->major_azimuth_deg, 1);
      } else {
        buf += ",,";
      }
      buf += ',';
      if (c.sector) buf += fmt_num(c.sector->azimuth_deg, 1) + ',' + fmt_num(c.sector->half_width_deg, 1);
      else buf += ',';
      buf += '\n';
    }
    std::ofstream f(dir + "/incidents.csv", std::ios::binary);
    f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (!f) return Status::IOError("cannot write " + dir + "/incidents.csv");
  }
  return Status::Ok();
}

double round_to(double v, double step) { return std::round(v / step) * step; }

// The canonical JSON of an incident: every fused field, rounded so that the same fusion always
// writes the same text (the store versions an incident when this text changes).
std::string incident_content(const fusion::Incident& c, const std::string& id, const std::vector<std::string>& obs_ids) {
  nlohmann::json j;
  j["id"] = id;
  j["start"] = format_instant(Instant{c.start_s * 1000});
  j["end"] = format_instant(Instant{c.end_s * 1000});
  j["kind"] = std::string(to_string(c.kind));
  j["reports"] = c.members.size();
  j["rounds"] = c.rounds;
  j["status"] = c.observers >= 2 ? "corroborated" : "reported";
  j["party"] = c.party;
  j["zones"] = c.zones;
  if (c.origin) {
    j["lat"] = round_to(c.origin->lat, 1e-7);
    j["lon"] = round_to(c.origin->lon, 1e-7);
  }
  if (c.distance_to_loc_m) j["distance_to_loc_m"] = round_to(*c.distance_to_loc_m, 0.1);
  if (c.ellipse) {
    j["ellipse"] = {{"semi_major_m", round_to(c.ellipse->semi_major_m, 1)},
                    {"semi_minor_m", round_to(c.ellipse->semi_minor_m, 1)},
                    {"major_azimuth_deg", round_to(c.ellipse->major_azimuth_deg, 0.1)}};
  }
  if (c.sector) {
    j["sector"] = {{"apex_lat", c.sector->apex.lat},
                   {"apex_lon", c.sector->apex.lon},
                   {"azimuth_deg", round_to(c.sector->azimuth_deg, 0.1)},
                   {"half_width_deg", round_to(c.sector->half_width_deg, 0.1)}};
  }
  j["observations"] = obs_ids;
  return j.dump();
}

Result<std::shared_ptr<const geo::Geography>> store_geography(Store& store, const std::string& zones,
                                                              const std::string& loc) {
  if (!zones.empty() || !loc.empty()) {
    if (zones.empty() || loc.empty()) return Status::Invalid("--zones and --loc go together");
    return load_geography(zones, loc);
  }
  auto z = store.document("zones");
  if (!z.ok()) return z.status();
  auto l = store.document("loc");
  if (!l.ok()) return l.status();
  if (!*z) return Status::NotFound("the mission has no zones: run `truce import zones FILE` or give --zones and --loc");
  if (!*l) return Status::NotFound("the mission has no line of contact: run `truce import loc FILE` or give --zones and --loc");
  return geo::Geography::from_geojson(**z, **l, "zones (mission database)", "loc (mission database)");
}

struct DbArgs {
  std::string from, to, zones, loc;
  int threads = 2;
};

// Fuses the stored observations of [lo, hi) (incremental: the span of the observations not fused
// yet) and replaces the affected incidents. Exact: the window is widened until every candidate
// group with a report in [lo, hi) lies inside it, away from its edges, so the incidents are those
// a batch fusion of everything would give.
Status fuse_database(Context& ctx, const DbArgs& a, int& exit_code) {
  (void)exit_code;
  fusion::Config cfg;
  cfg.threads = a.threads;
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min() / 4;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 4;
  std::int64_t lo = kMin, hi = kMax;
  for (auto [text, slot, name] : {std::tuple{&a.from, &lo, "--from"}, std::tuple{&a.to, &hi, "--to"}}) {
    if (text->empty()) continue;
    auto t = parse_instant(*text);
    if (!t.ok()) return Status::Invalid(std::string(name) + ": " + t.status().message());
    *slot = t->ms;
  }
  const bool incremental = a.from.empty() && a.to.empty();
  auto store = ctx.open_store();
  if (!store) return Status::IOError("cannot open the mission database");
  auto geography = store_geography(*store, a.zones, a.loc);
  if (!geography.ok()) return geography.status();

  std::int64_t cursor = 0, max_seq = 0;
  if (incremental) {
    auto doc = store->document("fusion.cursor");
    if (!doc.ok()) return doc.status();
    if (*doc) cursor = std::strtoll((*doc)->c_str(), nullptr, 10);
    ObservationFilter nf;
    nf.after_seq = cursor;
    std::int64_t tmin = kMax, tmax = kMin;
    TRUCE_RETURN_IF_ERROR(store->scan_observations(nf, [&](const StoredObservation& so) {
      tmin = std::min(tmin, so.obs.time.ms);
      tmax = std::max(tmax, so.obs.time.ms);
      max_seq = std::max(max_seq, so.seq);
      return true;
    }));
    if (max_seq == 0) {
      std::fprintf(stderr, "truce: nothing new to fuse\n");
      return Status::Ok();
    }
    lo = tmin, hi = tmax + 1;
  }
  if (hi <= lo) return Status::Invalid("--from must be before --to");

  std::unordered_map<std::string, LatLon> registered;
  {
    auto obs = store->observers();
    if (!obs.ok()) return obs.status();
    for (const auto& o : *obs) {
      if (o.position) registered.emplace(o.id, *o.position);
    }
  }
  const auto margin_ms = static_cast<std::int64_t>(std::ceil(cfg.pair_window_s() * 1000.0)) + 1000;
  std::int64_t pad = 20 * 60 * 1000;
  std::vector<Observation> obs;
  std::vector<fusion::Incident> keep;
  for (;;) {
    const std::int64_t wlo = lo <= kMin ? kMin : lo - pad, whi = hi >= kMax ? kMax : hi + pad;
    ObservationFilter f;
    if (wlo > kMin) f.from = Instant{wlo};
    if (whi < kMax) f.to = Instant{whi};
    obs.clear();
    TRUCE_RETURN_IF_ERROR(store->scan_observations(f, [&](const StoredObservation& so) {
      obs.push_back(so.obs);
      return true;
    }));
    // A fixed order (time, then id) makes the result independent of arrival order.
    std::sort(obs.begin(), obs.end(), [](const Observation& x, const Observation& y) {
      return std::tie(x.time.ms, x.id) < std::tie(y.time.ms, y.id);
    });
    std::vector<fusion::Report> reports;
    reports.reserve(obs.size());
    std::unordered_map<std::string, std::uint32_t> observers;
    for (std::size_t i = 0; i < obs.size(); ++i) {
      auto [it, fresh] = observers.try_emplace(obs[i].observer_id, static_cast<std::uint32_t>(observers.size()));
      std::optional<LatLon> pos = obs[i].observer_pos;
      if (!pos) {
        if (auto r = registered.find(obs[i].observer_id); r != registered.end()) pos = r->second;
      }
      reports.push_back(fusion::make_report(obs[i], static_cast<std::uint32_t>(i), it->second, pos, cfg));
    }
    auto incs = fusion::fuse(reports, cfg);
    bool exact = true;
    keep.clear();
    for (auto& inc : incs) {
      const bool safe = (wlo <= kMin || inc.group_first_s * 1000 >= wlo + margin_ms) &&
                        (whi >= kMax || inc.group_last_s * 1000 < whi - margin_ms);
      if (safe) {
        keep.push_back(std::move(inc));
        continue;
      }
      for (auto m : inc.members) {
        if (obs[m].time.ms >= lo && obs[m].time.ms < hi) exact = false;
      }
    }
    if (exact) break;
    pad *= 4;
  }
  fusion::attribute(keep, **geography, static_cast<unsigned>(cfg.threads));
  std::vector<StoredIncident> stored;
  std::vector<std::string> scope;
  stored.reserve(keep.size());
  for (const auto& inc : keep) {
    StoredIncident si;
    for (auto m : inc.members) si.observation_ids.push_back(obs[m].id);
    scope.insert(scope.end(), si.observation_ids.begin(), si.observation_ids.end());
    si.id = "inc-" + obs[inc.members.front()].id;
    si.start = Instant{inc.start_s * 1000};
    si.end = Instant{inc.end_s * 1000};
    si.kind = std::string(to_string(inc.kind));
    si.party = inc.party;
    if (inc.origin) si.lat = inc.origin->lat, si.lon = inc.origin->lon;
    si.content = incident_content(inc, si.id, si.observation_ids);
    stored.push_back(std::move(si));
  }
  auto sync = store->replace_incidents(scope, stored);
  if (!sync.ok()) return sync.status();
  if (incremental) {
    auto v = store->put_document("fusion.cursor", std::to_string(max_seq));
    if (!v.ok()) return v.status();
  }
  std::fprintf(stderr, "truce: fused %zu observations into %zu incidents: %lld created, %lld updated, %lld unchanged, %lld retired\n",
               scope.size(), stored.size(), static_cast<long long>(sync->created), static_cast<long long>(sync->updated),
               static_cast<long long>(sync->unchanged), static_cast<long long>(sync->retired));
  return Status::Ok();
}

std::string opt_num(const nlohmann::json& j, const char* key, int prec) {
  if (!j.contains(key) || !j[key].is_number()) return "";
  return fmt_num(j[key].get<double>(), prec);
}

}  // namespace

void add_fusion_commands(Context& ctx) {
  struct Args {
    std::string observations, zones, loc, out, from, to;
    int threads = 2;
    bool timings = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = ctx.app->add_subcommand("fuse", "fuse observations into located, attributed incidents");
  cmd->add_option("--observations", a->observations, "observations CSV (file mode: no database)");
  cmd->add_option("--zones", a->zones, "zones GeoJSON (file mode)");
  cmd->add_option("--loc", a->loc, "line of contact GeoJSON (file mode)");
  cmd->add_option("--out", a->out, "output folder for assign.csv and incidents.csv (file mode)");
  cmd->add_option("--threads", a->threads, "worker threads (default 2)")->check(CLI::Range(1, 64));
  cmd->add_flag("--timings", a->timings, "print the wall time of each phase to stderr");
  cmd->add_option("--from", a->from, "database mode: re-fuse from this instant (inclusive)");
  cmd->add_option("--to", a->to, "database mode: re-fuse up to this instant (exclusive)");
  cmd->footer(
      "Without --observations, fuses the mission database: with --from/--to that time range, else the "
      "observations imported since the last run (incremental); re-running changes nothing. Incidents keep "
      "their history (truce incidents --history ID).");
  cmd->callback([&ctx, a] {
    if (a->observations.empty()) {
      if (!a->out.empty()) return ctx.fail(Status::Invalid("fuse: --out needs --observations (file mode)"), kExitUsage);
      DbArgs d{a->from, a->to, a->zones, a->loc, a->threads};
      int code = kExitOk;
      Status st = fuse_database(ctx, d, code);
      if (!st.ok()) ctx.fail(st, st.code() == Code::kInvalidArgument ? kExitUsage : kExitFailure);
      return;
    }
    if (a->out.empty() || a->zones.empty() || a->loc.empty()) {
      return ctx.fail(Status::Invalid("fuse: file mode needs --observations, --zones, --loc and --out"), kExitUsage);
    }
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    auto phase = [&](const char* name) {
      const auto t1 = Clock::now();
      if (a->timings) std::fprintf(stderr, "phase %s %.3f\n", name, std::chrono::duration<double>(t1 - t0).count());
      t0 = t1;
    };
    auto geography = load_geography(a->zones, a->loc);
    phase("geography");
    if (!geography.ok()) return ctx.fail(geography.status());
    fusion::Config cfg;
    cfg.threads = a->threads;
    Loaded in;
    if (Status st = read_observations_csv(a->observations, cfg, in); !st.ok()) return ctx.fail(st);
    phase("read");
    auto incs = fusion::fuse(in.reports, cfg);
    phase("fuse");
    fusion::attribute(incs, **geography, static_cast<unsigned>(cfg.threads));
    phase("attribute");
    if (Status st = write_outputs(a->out, in, incs); !st.ok()) return ctx.fail(st);
    phase("write");
    std::fprintf(stderr, "truce: %zu observations -> %zu incidents%s\n", in.reports.size(), incs.size(),
                 in.bad ? (", " + std::to_string(in.bad) + " rows skipped").c_str() : "");
    if (in.bad) ctx.exit_code = kExitInputProblems;
  });

  // truce incidents
  struct IncArgs {
    std::string from, to, party, kind, format = "table", history;
  };
  auto ia = std::make_shared<IncArgs>();
  auto* inc = ctx.app->add_subcommand("incidents", "list fused incidents (or one incident's history)");
  inc->add_option("--from", ia->from, "incidents ending at or after this instant");
  inc->add_option("--to", ia->to, "incidents starting before this instant");
  inc->add_option("--party", ia->party, "only incidents whose origin lies in this party's zone");
  inc->add_option("--kind", ia->kind, "only this kind");
  inc->add_option("--format", ia->format, "table|csv|json|geojson")
      ->check(CLI::IsMember({"table", "csv", "json", "geojson"}));
  inc->add_option("--history", ia->history, "print every version of this incident instead");
  inc->callback([&ctx, ia] {
    IncidentFilter f;
    for (auto [text, slot, name] : {std::tuple{&ia->from, &f.from, "--from"}, std::tuple{&ia->to, &f.to, "--to"}}) {
      if (text->empty()) continue;
      auto t = parse_instant(*text);
      if (!t.ok()) return ctx.fail(Status::Invalid(std::string(name) + ": " + t.status().message()), kExitUsage);
      *slot = *t;
    }
    if (!ia->party.empty()) f.party = ia->party;
    if (!ia->kind.empty()) {
      if (!kind_from_string(ia->kind)) return ctx.fail(Status::Invalid("--kind: expected one of " + kind_list()), kExitUsage);
      f.kind = ia->kind;
    }
    auto store = ctx.open_store();
    if (!store) return;
    if (!ia->history.empty()) {
      auto h = store->incident_history(ia->history);
      if (!h.ok()) return ctx.fail(h.status());
      if (h->empty()) return ctx.fail(Status::NotFound("no incident " + ia->history), kExitFailure);
      const OutFormat fmt = ia->format == "geojson" ? OutFormat::kJson : parse_format(ia->format);
      TableWriter w(stdout, fmt, {"version", "at", "change", "observations", "content"}, {true, false, false, false, false});
      for (const auto& v : *h) {
        std::string ids;
        for (const auto& o : v.observation_ids) ids += (ids.empty() ? "" : " ") + o;
        w.row({std::to_string(v.version), format_instant(v.at), v.change, ids, v.content});
      }
      w.finish();
      return;
    }
    if (ia->format == "geojson") {
      std::fputs("{\"type\":\"FeatureCollection\",\"features\":[", stdout);
      bool first = true;
      Status st = store->scan_incidents(f, [&](const StoredIncident& si) {
        auto props = nlohmann::json::parse(si.content, nullptr, false);
        if (props.is_discarded()) props = nlohmann::json::object();
        props["version"] = si.version;
        nlohmann::json feat = {{"type", "Feature"}, {"id", si.id}, {"properties", props}};
        if (si.lat && si.lon) feat["geometry"] = {{"type", "Point"}, {"coordinates", {*si.lon, *si.lat}}};
        else feat["geometry"] = nullptr;
        std::fputs(first ? "\n" : ",\n", stdout);
        std::fputs(feat.dump().c_str(), stdout);
        first = false;
        return true;
      });
      std::fputs("\n]}\n", stdout);
      if (!st.ok()) ctx.fail(st);
      return;
    }
    TableWriter w(stdout, parse_format(ia->format),
                  {"incident_id", "version", "start", "end", "kind", "status", "reports", "party", "lat", "lon",
                   "distance_to_loc_m", "semi_major_m", "semi_minor_m", "major_azimuth_deg"},
                  {false, true, false, false, false, false, true, false, true, true, true, true, true, true});
    Status st = store->scan_incidents(f, [&](const StoredIncident& si) {
      auto j = nlohmann::json::parse(si.content, nullptr, false);
      if (j.is_discarded()) j = nlohmann::json::object();
      const nlohmann::json e = j.contains("ellipse") ? j["ellipse"] : nlohmann::json::object();
      w.row({si.id, std::to_string(si.version), format_instant(si.start), format_instant(si.end), si.kind,
             j.value("status", std::string()), std::to_string(si.observation_ids.size()), si.party,
             si.lat ? fmt_num(*si.lat, 6) : "", si.lon ? fmt_num(*si.lon, 6) : "", opt_num(j, "distance_to_loc_m", 1),
             opt_num(e, "semi_major_m", 0), opt_num(e, "semi_minor_m", 0), opt_num(e, "major_azimuth_deg", 1)});
      return true;
    });
    w.finish();
    if (!st.ok()) ctx.fail(st);
  });

  // truce export scorer
  CLI::App* exp = nullptr;
  for (auto* sub : ctx.app->get_subcommands([](CLI::App* x) { return x->get_name() == "export"; })) exp = sub;
  if (!exp) {
    exp = ctx.app->add_subcommand("export", "export mission data");
    exp->require_subcommand(1);
  }
  auto out_dir = std::make_shared<std::string>();
  auto* sc = exp->add_subcommand("scorer", "write the scorer's assign.csv and incidents.csv from the stored incidents");
  sc->add_option("--out", *out_dir, "output folder")->required();
  sc->callback([&ctx, out_dir] {
    auto store = ctx.open_store();
    if (!store) return;
    Loaded in;
    std::unordered_map<std::string, std::uint32_t> index;
    Status st = store->scan_observations(ObservationFilter{}, [&](const StoredObservation& so) {
      index.emplace(so.obs.id, static_cast<std::uint32_t>(in.ids.size()));
      in.ids.push_back(so.obs.id);
      in.reports.emplace_back();
      return true;
    });
    if (!st.ok()) return ctx.fail(st);
    std::vector<fusion::Incident> incs;
    st = store->scan_incidents(IncidentFilter{}, [&](const StoredIncident& si) {
      fusion::Incident c;
      for (const auto& o : si.observation_ids) {
        if (auto it = index.find(o); it != index.end()) c.members.push_back(it->second);
      }
      if (si.lat && si.lon) c.origin = LatLon{*si.lat, *si.lon};
      c.party = si.party;
      c.start_s = si.start.ms / 1000;
      c.end_s = si.end.ms / 1000;
      c.kind = kind_from_string(si.kind).value_or(Kind::kOther);
      auto j = nlohmann::json::parse(si.content, nullptr, false);
      if (!j.is_discarded()) {
        if (j.contains("distance_to_loc_m") && j["distance_to_loc_m"].is_number()) {
          c.distance_to_loc_m = j["distance_to_loc_m"].get<double>();
        }
        c.rounds = j.value("rounds", 0);
        if (j.contains("ellipse") && j["ellipse"].is_object()) {
          fusion::Ellipse e;
          e.semi_major_m = j["ellipse"].value("semi_major_m", 0.0);
          e.semi_minor_m = j["ellipse"].value("semi_minor_m", 0.0);
          e.major_azimuth_deg = j["ellipse"].value("major_azimuth_deg", 0.0);
          c.ellipse = e;
        }
      }
      incs.push_back(std::move(c));
      return true;
    });
    if (!st.ok()) return ctx.fail(st);
    if (Status w = write_outputs(*out_dir, in, incs); !w.ok()) return ctx.fail(w);
    std::fprintf(stderr, "truce: wrote %zu observations and %zu incidents to %s\n", in.ids.size(), incs.size(),
                 out_dir->c_str());
  });
}

}  // namespace truce::cli
