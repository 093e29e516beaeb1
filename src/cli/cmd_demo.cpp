// demo: the demo mission end to end on the embedded default (a fresh SQLite file): Nagorno-Karabakh
// after the statement of 10 Nov 2020. Real: the geography, settlements, the statement's provisions
// and term, the peacekeepers' early withdrawal, the displacement figures (data/karabakh/SOURCE.md).
// Simulated: the observation posts and a month of their reports, marked as such everywhere.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "truce/agreement/term.h"
#include "truce/ingest/ingest.h"
#include "truce/io/record_reader.h"
#include "truce/server/server.h"
#include "truce/sim/simulate.h"

namespace truce::cli {

namespace {

struct DemoArgs {
  std::string mission = TRUCE_DEMO_MISSION;
  std::string start = "2023-08-01T00:00:00Z";
  double days = 30;
  std::uint64_t seed = 2020;
  int posts = 25;
  bool fresh = false;
};

// A private folder for the simulated files, removed when the demo is done.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/truce-demo-XXXXXX";
    if (::mkdtemp(tmpl)) path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

Status write_observers_csv(const std::string& path, const std::vector<Observer>& observers) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IOError("cannot write " + path);
  std::fputs("observer_id,lat,lon,party,type\n", f);
  for (const auto& o : observers)
    std::fprintf(f, "%s,%.6f,%.6f,%s,%s\n", o.id.c_str(), o.position->lat, o.position->lon, o.party.c_str(),
                 std::string(to_string(o.type)).c_str());
  return std::fclose(f) == 0 ? Status::Ok() : Status::IOError("cannot write " + path);
}

// The simulated posts and month: generated over the mission's geography, then imported as any
// observations are (and fused by the import).
Status simulate_month(Store& store, const geo::Geography& g, const DemoArgs& a, const sim::Options& opts,
                      sim::Stats& stats, ingest::Summary& imported) {
  ScratchDir dir;
  if (dir.path.empty()) return Status::IOError("cannot create a temporary folder for the simulated data");
  const auto posts = sim::posts_along_loc(g, a.posts);
  TRUCE_RETURN_IF_ERROR(write_observers_csv(dir.path + "/observers.csv", posts));
  const std::string obs_path = dir.path + "/observations.csv";
  std::FILE* out = std::fopen(obs_path.c_str(), "wb");
  if (!out) return Status::IOError("cannot write " + obs_path);
  auto st = sim::simulate(g, posts, opts, out);
  if (std::fclose(out) != 0 && st.ok()) return Status::IOError("cannot write " + obs_path);
  if (!st.ok()) return st.status();
  stats = *st;
  ingest::Options o;
  o.submitted_by = "demo";
  auto r = ingest::import_observers(store, {dir.path + "/observers.csv"}, o);
  if (!r.ok()) return r.status();
  if (!r->file_errors.empty()) return r->file_errors.front();
  auto obs = ingest::import_observations(store, {obs_path}, o);
  if (!obs.ok()) return obs.status();
  if (!obs->file_errors.empty()) return obs->file_errors.front();
  imported = *obs;
  return Status::Ok();
}

void run_demo(Context& ctx, const DemoArgs& a) {
  const std::string path = ctx.db_path();
  const std::string dir = a.mission;
  auto start = parse_instant(a.start);
  if (!start.ok()) return ctx.fail(Status::Invalid("--start: " + start.status().message()), kExitUsage);
  if (a.fresh) {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
  }
  {
    SqliteOptions so;
    so.create = true;
    auto created = open_sqlite_store(path, so);
    if (!created.ok()) return ctx.fail(created.status());
  }
  std::printf("demo mission database: %s\n", path.c_str());
  std::printf(
      "mission: Nagorno-Karabakh after the statement of 10 Nov 2020 (%s)\n"
      "  REAL:      the 2020 ceasefire lines and area (Natural Earth), settlements (GeoNames, CC BY 4.0), "
      "the\n"
      "             statement's provisions and term, the 2024 early withdrawal, displacement figures\n"
      "             (sources: %s/SOURCE.md)\n"
      "  SIMULATED: the %d observation posts and %g days of their reports (seed %llu): not real reports\n",
      dir.c_str(), dir.c_str(), a.posts, a.days, static_cast<unsigned long long>(a.seed));
  // The mission's own files, through the same imports a user runs.
  if (!import_zones_file(ctx, dir + "/zones.geojson") || !import_loc_file(ctx, dir + "/loc.geojson") ||
      !import_places_file(ctx, dir + "/places.tsv") || !import_agreement_file(ctx, dir + "/agreement.json") ||
      !import_crossings_file(ctx, dir + "/crossings.csv") ||
      !import_baseline_file(ctx, dir + "/baseline.csv"))
    return;
  auto store = ctx.open_store(/*bulk_writes=*/true);
  if (!store) return;
  auto geography = pipeline::mission_geography(*store);
  if (!geography.ok()) return ctx.fail(geography.status());
  sim::Options opts;
  opts.seed = a.seed;
  opts.start = *start;
  opts.days = a.days;
  sim::Stats stats;
  ingest::Summary imported;
  if (Status st = simulate_month(*store, **geography, a, opts, stats, imported); !st.ok())
    return ctx.fail(st);
  std::printf(
      "observations: %lld accepted (all SIMULATED: %lld genuine, %lld false reports; %lld events in %lld "
      "bursts)\n",
      static_cast<long long>(imported.accepted), static_cast<long long>(stats.genuine),
      static_cast<long long>(stats.false_reports), static_cast<long long>(stats.events),
      static_cast<long long>(stats.bursts));
  auto fused = pipeline::fuse_stored(*store, **geography, {}, fusion::Config{});
  if (!fused.ok()) return ctx.fail(fused.status());
  std::int64_t located = 0, corroborated = 0, violating = 0;
  std::map<std::string, std::int64_t> by_party, by_rule;
  Status scan = store->scan_incidents({}, [&](const StoredIncident& si) {
    located += si.lat.has_value();
    corroborated += si.observation_ids.size() >= 2;
    ++by_party[si.party.empty() ? "unlocated" : si.party];
    const auto j = nlohmann::json::parse(si.content, nullptr, false);
    if (auto v = j.find("violations"); v != j.end() && v->is_array() && !v->empty()) {
      ++violating;
      for (const auto& x : *v) ++by_rule[x.value("rule", "")];
    }
    return true;
  });
  if (!scan.ok()) return ctx.fail(scan);
  std::printf("incidents:    %zu fused from %zu observations; %lld located, %lld seen by 2+ observers\n",
              fused->incidents, fused->observations, static_cast<long long>(located),
              static_cast<long long>(corroborated));
  std::printf("by origin:   ");
  for (const auto& [party, n] : by_party) std::printf(" %s %lld", party.c_str(), static_cast<long long>(n));
  std::printf("\nviolations:   %lld incidents break at least one rule:", static_cast<long long>(violating));
  for (const auto& [rule, n] : by_rule) std::printf(" %s %lld", rule.c_str(), static_cast<long long>(n));
  std::printf("\n");
  // The agreement's term: at the end of the simulated month, and today.
  auto doc = store->document("agreement");
  if (!doc.ok() || !*doc)
    return ctx.fail(doc.ok() ? Status::NotFound("the agreement was not stored") : doc.status());
  auto agreement = agreement::parse_agreement(**doc, "agreement (mission database)");
  if (!agreement.ok()) return ctx.fail(agreement.status());
  const Instant end{opts.start.ms + static_cast<std::int64_t>(a.days * 86'400'000.0)};
  for (const auto& [label, at] : {std::pair{"mandate at the end of the simulated month", end},
                                  std::pair{"mandate today", SystemClock{}.now()}}) {
    auto m = agreement::mandate_status(*agreement, at);
    if (!m.ok()) return ctx.fail(m.status());
    std::printf("%s: %s\n", label, agreement::status_line(*agreement, *m).c_str());
  }
  auto moved = mission_movement(*store, agreement::parse_date("2023-10-01").value());
  if (!moved.ok()) return ctx.fail(moved.status());
  if (moved->baseline && moved->share_out) {
    std::printf(
        "humanitarian: %lld of %lld people (%.1f %%) had left by 2023-10-01 (reported figures, "
        "%s/SOURCE.md)\n",
        static_cast<long long>(moved->total_out), static_cast<long long>(moved->baseline->population),
        *moved->share_out * 100.0, dir.c_str());
  }
  auto v = store->verify_chain();
  if (!v.ok()) return ctx.fail(v.status());
  std::printf("audit chain:  %s (%lld records)\n", v->ok ? "holds" : "BROKEN",
              static_cast<long long>(v->records));
  // A demo analyst for the dashboard and the API.
  auto token = server::new_token();
  if (!token.ok()) return ctx.fail(token.status());
  User u{"demo-analyst", "analyst", {}, server::digest_ha1("demo-analyst", "truce", *token)};
  if (Status st = store->add_user(u, server::token_hash(*token)); !st.ok()) return ctx.fail(st);
  std::printf("analyst token: %s\n", token->c_str());
  std::printf("next: truce --db %s incidents --format csv | head;  truce --db %s serve\n", path.c_str(),
              path.c_str());
}

}  // namespace

void add_demo_commands(Context& ctx) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = ctx.app->add_subcommand(
      "demo",
      "build the demo mission database: Karabakh 2020 geography and agreement, a simulated month, fused");
  cmd->add_option("--mission", a->mission,
                  "the mission folder (zones, loc, places, agreement, crossings, baseline)");
  cmd->add_option("--start", a->start, "first instant of the simulated month");
  cmd->add_option("--days", a->days, "days to simulate")->check(CLI::Range(0.01, 3650.0));
  cmd->add_option("--seed", a->seed, "simulation seed");
  cmd->add_option("--posts", a->posts, "observation posts along the line")->check(CLI::Range(1, 1000));
  cmd->add_flag("--fresh", a->fresh, "replace the database if it exists");
  cmd->callback([&ctx, a] { run_demo(ctx, *a); });
}

}  // namespace truce::cli
