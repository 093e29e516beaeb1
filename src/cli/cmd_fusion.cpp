// fuse: reports in, located and attributed incidents out.
//   truce fuse --observations FILE.csv --zones Z.geojson --loc L.geojson --out DIR   (no database)
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/context.h"
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

}  // namespace

void add_fusion_commands(Context& ctx) {
  struct Args {
    std::string observations, zones, loc, out;
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
  cmd->callback([&ctx, a] {
    if (a->observations.empty() || a->out.empty() || a->zones.empty() || a->loc.empty()) {
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
    if (const char* v = std::getenv("TUNE_MERGE")) cfg.merge_gate = std::atof(v);  // TUNING-ONLY
    if (const char* v = std::getenv("TUNE_PAIR")) cfg.pair_gate = std::atof(v);  // TUNING-ONLY
    if (const char* v = std::getenv("TUNE_CCAP")) cfg.count_cost_cap = std::atof(v);  // TUNING-ONLY
    if (const char* v = std::getenv("TUNE_BIAS")) cfg.bearing_bias_deg = std::atof(v);  // TUNING-ONLY
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
}

}  // namespace truce::cli
