// Micro benchmarks behind the attribution engine's choices: where the libraries (GEOS,
// GeographicLib) were the bottleneck, and what the engine's own index and kernel cost instead.
// Run: build/bench/attribute/attribute_micro_bench (uses data/example).
#include <benchmark/benchmark.h>
#include <geos_c.h>

#include <GeographicLib/Geodesic.hpp>
#include <fstream>
#include <sstream>

#include "geo/internal.h"
#include "truce/geo/geography.h"

namespace {

using truce::LatLon;
namespace geo = truce::geo;

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Fixture {
  std::shared_ptr<const geo::Geography> g;
  std::vector<LatLon> pts;
  Fixture() {
    const std::string ex = std::string(TRUCE_SOURCE_DIR) + "/data/example/";
    g = *geo::Geography::from_geojson(slurp(ex + "zones.geojson"), slurp(ex + "loc.geojson"));
    std::istringstream in(slurp(ex + "points.csv"));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const auto a = line.find(','), b = line.find(',', a + 1);
      pts.push_back({std::stod(line.substr(a + 1, b - a - 1)), std::stod(line.substr(b + 1))});
    }
  }
};
const Fixture& fx() {
  static const Fixture f;
  return f;
}

// Distance kernel: GeographicLib's inverse problem, point to a foot point ~20 km away.
void BM_Distance_GeographicLibInverse(benchmark::State& st) {
  const auto& g = GeographicLib::Geodesic::WGS84();
  const auto& pts = fx().pts;
  std::size_t i = 0;
  for (auto _ : st) {
    const auto& p = pts[i++ % pts.size()];
    double s;
    g.Inverse(p.lat, p.lon, 39.9, 46.8, s);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_Distance_GeographicLibInverse);

// The engine's kernel for the same line: TM series forward + line scale factor.
void BM_Distance_PlaneLineScaleFactor(benchmark::State& st) {
  const geo::TmPlane plane(39.9, 46.8);
  geo::TmPlane::Pt f;
  plane.forward(39.9, 46.8, f);
  const auto& pts = fx().pts;
  std::size_t i = 0;
  for (auto _ : st) {
    const auto& p = pts[i++ % pts.size()];
    geo::TmPlane::Pt q;
    plane.forward(p.lat, p.lon, q);
    benchmark::DoNotOptimize(geo::TmPlane::geodesic_length(q, f, std::hypot(q.x - f.x, q.y - f.y)));
  }
}
BENCHMARK(BM_Distance_PlaneLineScaleFactor);

// Nearest point of the LoC: GEOS prepared distance (planar, degrees: candidate search only).
void BM_Nearest_GeosPreparedDistance(benchmark::State& st) {
  GEOSContextHandle_t h = GEOS_init_r();
  const auto& v = fx().g->loc()[0].vertices;
  GEOSCoordSequence* cs = GEOSCoordSeq_create_r(h, static_cast<unsigned>(v.size()), 2);
  for (unsigned k = 0; k < v.size(); ++k) GEOSCoordSeq_setXY_r(h, cs, k, v[k].lon, v[k].lat);
  GEOSGeometry* line = GEOSGeom_createLineString_r(h, cs);
  const GEOSPreparedGeometry* prep = GEOSPrepare_r(h, line);
  const auto& pts = fx().pts;
  std::size_t i = 0;
  for (auto _ : st) {
    const auto& p = pts[i++ % pts.size()];
    GEOSGeometry* pt = GEOSGeom_createPointFromXY_r(h, p.lon, p.lat);
    double d;
    GEOSPreparedDistance_r(h, prep, pt, &d);
    benchmark::DoNotOptimize(d);
    GEOSGeom_destroy_r(h, pt);
  }
  GEOSPreparedGeom_destroy_r(h, prep);
  GEOSGeom_destroy_r(h, line);
  GEOS_finish_r(h);
}
BENCHMARK(BM_Nearest_GeosPreparedDistance);

// The engine: geodesic distance to the LoC (branch and bound in the plane + kernel).
void BM_Nearest_EngineGeodesic(benchmark::State& st) {
  const auto& g = *fx().g;
  const auto& pts = fx().pts;
  std::size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(g.distance_to_loc(pts[i++ % pts.size()]));
}
BENCHMARK(BM_Nearest_EngineGeodesic);

// Point in the three zones: GEOS prepared polygons (a point geometry per query).
void BM_Zones_GeosPreparedContains(benchmark::State& st) {
  GEOSContextHandle_t h = GEOS_init_r();
  std::vector<GEOSGeometry*> polys;
  std::vector<const GEOSPreparedGeometry*> preps;
  for (const auto& z : fx().g->zones()) {
    const auto& r = z.polygons[0][0];
    GEOSCoordSequence* cs = GEOSCoordSeq_create_r(h, static_cast<unsigned>(r.size()), 2);
    for (unsigned k = 0; k < r.size(); ++k) GEOSCoordSeq_setXY_r(h, cs, k, r[k].lon, r[k].lat);
    polys.push_back(GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, cs), nullptr, 0));
    preps.push_back(GEOSPrepare_r(h, polys.back()));
  }
  const auto& pts = fx().pts;
  std::size_t i = 0;
  for (auto _ : st) {
    const auto& p = pts[i++ % pts.size()];
    GEOSGeometry* pt = GEOSGeom_createPointFromXY_r(h, p.lon, p.lat);
    int n = 0;
    for (auto* pr : preps) n += GEOSPreparedContains_r(h, pr, pt);
    benchmark::DoNotOptimize(n);
    GEOSGeom_destroy_r(h, pt);
  }
  for (auto* pr : preps) GEOSPreparedGeom_destroy_r(h, pr);
  for (auto* p : polys) GEOSGeom_destroy_r(h, p);
  GEOS_finish_r(h);
}
BENCHMARK(BM_Zones_GeosPreparedContains);

// The engine's strip index with the exact half-open rule.
void BM_Zones_EngineStripIndex(benchmark::State& st) {
  geo::ZoneIndex zi;
  zi.build(fx().g->zones());
  const auto& pts = fx().pts;
  std::size_t i = 0;
  for (auto _ : st) {
    const auto& p = pts[i++ % pts.size()];
    unsigned n = 0;
    zi.locate(p.lat, p.lon, [&](std::uint32_t z) { n += z + 1; });
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_Zones_EngineStripIndex);

}  // namespace

BENCHMARK_MAIN();
