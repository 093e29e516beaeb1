// truce simulate: deterministic for a seed, every row valid for import and marked simulated.
#include <gtest/gtest.h>

#include <GeographicLib/Geodesic.hpp>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "test_util.h"
#include "truce/geo/short_geodesic.h"
#include "truce/io/tabular.h"
#include "truce/sim/simulate.h"

namespace truce::sim {
namespace {

const std::string kExample = std::string(TRUCE_SHARED_DIR) + "/scenario/example";

std::shared_ptr<const geo::Geography> example() {
  auto g = geo::Geography::from_geojson(testing::read_file(kExample + "/zones.geojson"),
                                        testing::read_file(kExample + "/loc.geojson"), "zones", "loc");
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : nullptr;
}

std::string run(const geo::Geography& g, const std::vector<Observer>& obs, const Options& o,
                Stats* stats = nullptr, std::string* truth_text = nullptr) {
  std::FILE* f = std::tmpfile();
  std::FILE* t = truth_text ? std::tmpfile() : nullptr;
  auto st = simulate(g, obs, o, f, t);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (st.ok() && stats) *stats = *st;
  auto slurp = [](std::FILE* x) {
    std::string s;
    std::rewind(x);
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, x)) > 0) s.append(buf, n);
    std::fclose(x);
    return s;
  };
  if (t) *truth_text = slurp(t);
  return slurp(f);
}

TEST(Simulate, PostsAlongTheLine) {
  auto g = example();
  ASSERT_TRUE(g);
  const auto posts = posts_along_loc(*g, 25);
  ASSERT_EQ(posts.size(), 25u);
  EXPECT_EQ(posts[0].id, "SIM-P01");
  EXPECT_EQ(posts[24].id, "SIM-P25");
  for (const auto& p : posts) {
    ASSERT_TRUE(p.position);
    EXPECT_NEAR(g->distance_to_loc(*p.position), 300.0, 5.0) << p.id;
    EXPECT_EQ(p.party, "MON");
  }
}

TEST(Simulate, SameSeedSameBytesAndEveryRowImportsAsSimulated) {
  auto g = example();
  ASSERT_TRUE(g);
  const auto posts = posts_along_loc(*g, 25);
  Options o;
  o.seed = 7;
  o.days = 3;
  o.bursts_per_day = 60;
  Stats st;
  std::string truth;
  const std::string a = run(*g, posts, o, &st, &truth);
  const std::string b = run(*g, posts, o);
  EXPECT_EQ(a, b);
  o.seed = 8;
  EXPECT_NE(a, run(*g, posts, o));
  EXPECT_GT(st.rows, 100);
  EXPECT_EQ(st.rows, st.genuine + st.false_reports);
  EXPECT_GT(st.false_reports, 0);
  EXPECT_GT(st.exchanges, 0);
  EXPECT_EQ(a.substr(0, std::string(kCsvHeader).size()), kCsvHeader);

  // Every row parses and validates with the importer's own parser, is marked simulated, in time order.
  auto src = io::ByteSource::from_string(a, "sim.csv");
  io::RecordReader reader(*src, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  ASSERT_EQ(reader.next(rec, err), io::ReadResult::kRecord);
  std::vector<std::string_view> header(rec.fields.begin(), rec.fields.end());
  auto map = io::map_header(io::observation_schema(), header, "sim.csv");
  ASSERT_TRUE(map.ok());
  EXPECT_TRUE(map->ignored.empty());
  io::Row row;
  Observation obs;
  std::int64_t n = 0;
  Instant last{0};
  std::set<Kind> kinds;
  const Instant now = *parse_instant("2030-01-01T00:00:00Z");
  while (reader.next(rec, err) == io::ReadResult::kRecord) {
    ++n;
    ASSERT_FALSE(io::pick(*map, rec, row));
    auto fe = io::parse_observation(row, now, obs);
    ASSERT_FALSE(fe) << fe->field << ": " << fe->reason << " in " << rec.raw;
    EXPECT_EQ(obs.notes, "SIMULATED");
    EXPECT_EQ(obs.id.rfind("sim-7-", 0), 0u);
    EXPECT_GE(obs.time, last);
    EXPECT_GE(obs.time, o.start);
    EXPECT_LT(obs.time.ms, o.start.ms + 3 * 86'400'000);
    last = obs.time;
    kinds.insert(obs.kind);
  }
  EXPECT_EQ(n, st.rows);
  EXPECT_GE(kinds.size(), 5u);
  // The truth file has one line per row, false reports without an event.
  std::int64_t lines = 0, false_lines = 0;
  for (std::size_t p = 0; (p = truth.find('\n', p)) != std::string::npos; ++p) ++lines;
  for (std::size_t p = 0; (p = truth.find(",,,,,,,,,\n", p)) != std::string::npos; ++p) ++false_lines;
  EXPECT_EQ(lines, st.rows + 1);
  EXPECT_EQ(false_lines, st.false_reports);
}

TEST(Simulate, ShortInverseAgreesWithGeographicLibWithin20Km) {
  const auto& geod = GeographicLib::Geodesic::WGS84();
  double worst_az = 0, worst_d = 0;
  for (double lat : {-60.0, -10.0, 0.0, 39.8, 40.5, 65.0}) {
    for (double az = 0; az < 360; az += 7.5) {
      for (double dist : {30.0, 800.0, 5000.0, 15000.0, 20000.0}) {
        double lat2 = 0, lon2 = 0;
        geod.Direct(lat, 179.95, az, dist, lat2, lon2);  // across the antimeridian too
        double a = 0, d = 0, a2 = 0;
        geo::short_inverse(lat, 179.95, lat2, lon2, d, a, a2);  // what the simulator uses per report
        double da = std::abs(a - az);
        if (da > 180) da = 360 - da;
        worst_az = std::max(worst_az, da);
        worst_d = std::max(worst_d, std::abs(d - dist));
      }
    }
  }
  EXPECT_LT(worst_az, 0.002);
  EXPECT_LT(worst_d, 0.2);
}

TEST(Simulate, RefusesWhatItCannotSimulate) {
  auto g = example();
  ASSERT_TRUE(g);
  Options o;
  std::FILE* f = std::tmpfile();
  auto st = simulate(*g, {}, o, f);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(),
            "no observer with a position: simulate needs posts to report what they see");
  o.false_rate = 1.0;
  st = simulate(*g, posts_along_loc(*g, 3), o, f);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(), "false rate: expected a share in [0, 1)");
  std::fclose(f);
}

}  // namespace
}  // namespace truce::sim
