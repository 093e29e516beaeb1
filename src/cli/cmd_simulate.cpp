// simulate: generated observations over the mission's own geography, for exercises, training and
// demos. Every row is marked SIMULATED (notes) and its id begins "sim-".
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/context.h"
#include "truce/geo/geography.h"
#include "truce/ingest/ingest.h"
#include "truce/io/record_reader.h"
#include "truce/sim/simulate.h"

namespace truce::cli {

namespace {

struct SimArgs {
  std::string output = "-", truth, zones, loc, observers_out, start = "2023-09-01T00:00:00Z";
  double days = 30;
  std::uint64_t seed = 1;
  int posts = 0;
  bool own_observers = false;
  bool quiet = false;
  sim::Options opts;
};

void run(Context& ctx, SimArgs& a) {
  auto start = parse_instant(a.start);
  if (!start.ok()) return ctx.fail(Status::Invalid("--start: " + start.status().message()), kExitUsage);
  a.opts.start = *start;
  a.opts.days = a.days;
  a.opts.seed = a.seed;
  if (a.zones.empty() != a.loc.empty())
    return ctx.fail(
        Status::Invalid("--zones and --loc go together: give both, or neither to use the mission database"),
        kExitUsage);
  std::string zones_text, loc_text, zsrc = a.zones, lsrc = a.loc;
  std::vector<Observer> observers;
  std::unique_ptr<Store> store;
  if (!a.zones.empty()) {
    auto z = io::read_all(a.zones, std::int64_t{512} << 20);
    if (!z.ok()) return ctx.fail(z.status());
    auto l = io::read_all(a.loc, std::int64_t{512} << 20);
    if (!l.ok()) return ctx.fail(l.status());
    zones_text = std::move(z).value();
    loc_text = std::move(l).value();
  } else {
    store = ctx.open_store();
    if (!store) return;
    auto z = store->document("zones");
    if (!z.ok()) return ctx.fail(z.status());
    auto l = store->document("loc");
    if (!l.ok()) return ctx.fail(l.status());
    if (!*z || !*l)
      return ctx.fail(
          Status::NotFound("the mission has no zones or line of contact: run `truce import zones FILE` and "
                           "`truce import loc FILE`, or give --zones and --loc"));
    zones_text = std::move(**z);
    loc_text = std::move(**l);
    zsrc = "zones (mission database)";
    lsrc = "loc (mission database)";
  }
  auto g = geo::Geography::from_geojson(zones_text, loc_text, zsrc, lsrc);
  if (!g.ok()) return ctx.fail(g.status(), kExitInputProblems);
  if (a.posts == 0 && store) {
    auto obs = store->observers();
    if (!obs.ok()) return ctx.fail(obs.status());
    for (auto& o : *obs)
      if (o.position) observers.push_back(std::move(o));
  }
  const bool generated = observers.empty();
  if (generated) observers = sim::posts_along_loc(**g, a.posts > 0 ? a.posts : 25);
  if (!a.observers_out.empty()) {
    std::FILE* f = std::fopen(a.observers_out.c_str(), "wb");
    if (!f) return ctx.fail(Status::IOError("cannot write " + a.observers_out));
    std::fputs("observer_id,lat,lon,party,type\n", f);
    for (const auto& o : observers)
      std::fprintf(f, "%s,%.6f,%.6f,%s,%s\n", o.id.c_str(), o.position->lat, o.position->lon, o.party.c_str(),
                   std::string(to_string(o.type)).c_str());
    if (std::fclose(f) != 0) return ctx.fail(Status::IOError("cannot write " + a.observers_out));
  }
  std::FILE* out = stdout;
  if (a.output != "-") {
    out = std::fopen(a.output.c_str(), "wb");
    if (!out) return ctx.fail(Status::IOError("cannot write " + a.output));
  }
  std::FILE* truth = nullptr;
  if (!a.truth.empty()) {
    truth = std::fopen(a.truth.c_str(), "wb");
    if (!truth) {
      if (out != stdout) std::fclose(out);
      return ctx.fail(Status::IOError("cannot write " + a.truth));
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto st = sim::simulate(**g, observers, a.opts, out, truth);
  bool close_failed = false;
  if (out != stdout)
    close_failed = std::fclose(out) != 0;
  else
    close_failed = std::fflush(stdout) != 0;
  if (truth) close_failed = std::fclose(truth) != 0 || close_failed;
  if (!st.ok())
    return ctx.fail(st.status(), st.status().code() == Code::kInvalidArgument ? kExitUsage : kExitFailure);
  if (close_failed) return ctx.fail(Status::IOError("cannot finish writing " + a.output));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.quiet) {
    std::fprintf(
        stderr,
        "SIMULATED observations (not real reports): %lld rows (%lld genuine, %lld false) from %lld events in "
        "%lld bursts (%lld exchanges; %lld events reported) by %zu %s observers, seed %llu, %.3g days from "
        "%s; "
        "%.2f s (%.0f rows/s)\n",
        static_cast<long long>(st->rows), static_cast<long long>(st->genuine),
        static_cast<long long>(st->false_reports), static_cast<long long>(st->events),
        static_cast<long long>(st->bursts), static_cast<long long>(st->exchanges),
        static_cast<long long>(st->events_reported), observers.size(), generated ? "generated" : "mission",
        static_cast<unsigned long long>(a.seed), a.days, a.start.c_str(), secs,
        secs > 0 ? static_cast<double>(st->rows) / secs : 0.0);
  }
}

}  // namespace

void add_simulate_commands(Context& ctx) {
  auto a = std::make_shared<SimArgs>();
  auto* cmd = ctx.app->add_subcommand(
      "simulate",
      "generate SIMULATED observations over the mission's geography (exercises, training, demos)");
  cmd->add_option("-o,--output", a->output,
                  "observations CSV to write (the `truce import observations` format; - = stdout)");
  cmd->add_option("--days", a->days, "simulated days (default 30)")->check(CLI::Range(0.001, 36600.0));
  cmd->add_option("--seed", a->seed, "seed: the same seed and inputs give the same file (default 1)");
  cmd->add_option("--start", a->start, "first instant (ISO 8601 with zone; default 2023-09-01T00:00:00Z)");
  cmd->add_option("--bursts-per-day", a->opts.bursts_per_day,
                  "mean bursts of fire per day over the whole line (default 40)")
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_option("--exchange", a->opts.exchange_probability,
                  "share of bursts answered from the other side (default 0.4)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--false-rate", a->opts.false_rate, "share of rows that are false reports (default 0.05)")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--kind-confusion", a->opts.kind_confusion,
                  "share of reports naming a neighbouring kind (default 0.10)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--bearing-sigma", a->opts.bearing_sigma_deg, "base bearing noise, degrees (default 4)")
      ->check(CLI::Range(0.1, 60.0));
  cmd->add_option("--distance-sigma", a->opts.distance_rel_sigma,
                  "sigma of the log distance error (default 0.25)")
      ->check(CLI::Range(0.01, 2.0));
  cmd->add_option(
         "--posts", a->posts,
         "place this many posts along the line instead of the mission's observers (default: the mission's, "
         "else 25)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--zones", a->zones, "zones GeoJSON (with --loc; default: the mission's)");
  cmd->add_option("--loc", a->loc, "line of contact GeoJSON (with --zones)");
  cmd->add_option("--truth", a->truth, "also write the true event behind each row (CSV)");
  cmd->add_option("--observers-out", a->observers_out, "also write the observers used (observers CSV)");
  cmd->add_flag("-q,--quiet", a->quiet, "no summary on stderr");
  cmd->callback([&ctx, a] { run(ctx, *a); });
}

}  // namespace truce::cli
