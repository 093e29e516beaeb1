// import zones|loc|places, attribute, describe: the mission's geography from the command line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/context.h"
#include "cli/output.h"
#include "truce/geo/gazetteer.h"
#include "truce/geo/geography.h"
#include "truce/io/record_reader.h"
#include "truce/pipeline/attribute.h"

namespace truce::cli {

namespace {

constexpr std::int64_t kMaxGeoFileBytes = std::int64_t{512} << 20;

// The geography from --zones/--loc files, else from the mission database.
Result<std::shared_ptr<const geo::Geography>> load_geography(Context& ctx, const std::string& zones_path,
                                                             const std::string& loc_path,
                                                             bool& store_failed) {
  return ctx.geography(zones_path, loc_path, store_failed);
}

std::string kind_summary(const std::vector<geo::Zone>& zones) {
  int n[4] = {0, 0, 0, 0};
  for (const auto& z : zones) ++n[static_cast<int>(z.kind)];
  std::string s;
  for (int k = 0; k < 4; ++k) {
    if (!n[k]) continue;
    if (!s.empty()) s += ", ";
    s += std::string(geo::to_string(static_cast<geo::ZoneKind>(k))) + " " + std::to_string(n[k]);
  }
  return s;
}

struct ImportGeoArgs {
  std::string file;
  std::string format = "auto";
  std::string credit;
};

}  // namespace

bool import_zones_file(Context& ctx, const std::string& file) {
  auto text = io::read_all(file, kMaxGeoFileBytes);
  if (!text.ok()) return ctx.fail(text.status()), false;
  auto zones = geo::parse_zones(*text, file);
  if (!zones.ok()) return ctx.fail(zones.status(), kExitInputProblems), false;
  auto store = ctx.open_store();
  if (!store) return false;
  auto v = store->put_document("zones", *text);
  if (!v.ok()) return ctx.fail(v.status()), false;
  std::printf("imported %zu zones (%s) from %s: zones version %lld (earlier versions kept)\n", zones->size(),
              kind_summary(*zones).c_str(), file.c_str(), static_cast<long long>(*v));
  return true;
}

bool import_loc_file(Context& ctx, const std::string& file) {
  auto text = io::read_all(file, kMaxGeoFileBytes);
  if (!text.ok()) return ctx.fail(text.status()), false;
  auto lines = geo::parse_loc(*text, file);
  if (!lines.ok()) return ctx.fail(lines.status(), kExitInputProblems), false;
  std::size_t vertices = 0;
  for (const auto& l : *lines) vertices += l.vertices.size();
  auto store = ctx.open_store();
  if (!store) return false;
  auto v = store->put_document("loc", *text);
  if (!v.ok()) return ctx.fail(v.status()), false;
  std::printf(
      "imported the line of contact (%zu lines, %zu vertices) from %s: loc version %lld (earlier versions "
      "kept)\n",
      lines->size(), vertices, file.c_str(), static_cast<long long>(*v));
  return true;
}

bool import_places_file(Context& ctx, const std::string& file, const std::string& format_option,
                        const std::string& credit_option) {
  auto text = io::read_all(file, kMaxGeoFileBytes);
  if (!text.ok()) return ctx.fail(text.status()), false;
  std::string format = format_option;
  if (format == "auto") {
    const auto p = text->find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    format = p != std::string::npos && (*text)[p] == '{' ? "geojson" : "geonames";
  }
  std::string credit = credit_option;
  if (credit.empty()) credit = format == "geonames" ? std::string(geo::kGeoNamesCredit) : file;
  auto g = format == "geojson" ? geo::Gazetteer::from_geojson(*text, file, credit)
                               : geo::Gazetteer::from_geonames_tsv(*text, file);
  if (!g.ok()) return ctx.fail(g.status(), kExitInputProblems), false;
  auto store = ctx.open_store();
  if (!store) return false;
  auto v = store->put_document("places", g->serialize());
  if (!v.ok()) return ctx.fail(v.status()), false;
  std::string credits;
  for (const auto& c : g->credits()) credits += (credits.empty() ? "" : "; ") + c;
  std::printf("imported %zu places from %s: places version %lld (earlier versions kept)\nplace names: %s\n",
              g->places().size(), file.c_str(), static_cast<long long>(*v), credits.c_str());
  return true;
}

namespace {

// ------------------------------------------------------------------------------------------------
// attribute

struct AttributeArgs {
  std::string input;
  std::string output = "-";
  std::string zones, loc;
  unsigned threads = 0;
  bool quiet = false;
};

void attribute(Context& ctx, const AttributeArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  bool store_failed = false;
  auto geo = load_geography(ctx, a.zones, a.loc, store_failed);
  if (!geo.ok()) {
    if (store_failed) return;  // open_store() already said why
    return ctx.fail(geo.status(),
                    geo.status().code() == Code::kInvalidArgument ? kExitInputProblems : kExitFailure);
  }
  const auto tg = std::chrono::steady_clock::now();
  pipeline::AttributeOptions opts;
  opts.threads = a.threads;
  opts.problem = [](const Status& st) { std::fprintf(stderr, "truce: %s\n", st.ToString().c_str()); };
  auto sum = pipeline::attribute_points(**geo, a.input, a.output, opts);
  if (!sum.ok()) return ctx.fail(sum.status());
  if (!sum->refused.ok()) return ctx.fail(sum->refused, kExitInputProblems);
  const std::int64_t bad = sum->bad_rows;
  if (bad > opts.max_problems)
    std::fprintf(stderr, "truce: ... and %lld more bad rows\n",
                 static_cast<long long>(bad - opts.max_problems));
  if (!a.quiet) {
    auto sec = [](auto d) { return std::chrono::duration<double>(d).count(); };
    std::fprintf(stderr,
                 "attributed %zu points in %.3f s (geography %.3f, read + attribute %.3f on %u threads, "
                 "write %.3f)%s\n",
                 sum->points, sec(std::chrono::steady_clock::now() - t0), sec(tg - t0), sum->read_attribute_s,
                 sum->threads, sum->write_s,
                 bad ? (", " + std::to_string(bad) + " bad rows skipped").c_str() : "");
  }
  if (bad) ctx.exit_code = kExitInputProblems;
}

// ------------------------------------------------------------------------------------------------
// describe

struct DescribeArgs {
  double lat = 0, lon = 0;
  std::string places;
  std::string format = "text";
};

void describe(Context& ctx, const DescribeArgs& a) {
  if (!(a.lat >= -90 && a.lat <= 90) || !(a.lon >= -180 && a.lon <= 180))
    return ctx.fail(Status::Invalid("expected LAT in [-90, 90] and LON in [-180, 180]"), kExitUsage);
  Result<geo::Gazetteer> g = Status::NotFound("");
  if (!a.places.empty()) {
    auto text = io::read_all(a.places, kMaxGeoFileBytes);
    if (!text.ok()) return ctx.fail(text.status());
    const auto p = text->find_first_not_of(" \t\r\n");
    g = p != std::string::npos && (*text)[p] == '{' ? geo::Gazetteer::from_geojson(*text, a.places, a.places)
                                                    : geo::Gazetteer::from_geonames_tsv(*text, a.places);
    if (!g.ok()) return ctx.fail(g.status(), kExitInputProblems);
  } else {
    auto store = ctx.open_store();
    if (!store) return;
    auto doc = store->document("places");
    if (!doc.ok()) return ctx.fail(doc.status());
    if (!*doc)
      return ctx.fail(
          Status::NotFound("the mission has no places: run `truce import places FILE` or give --places"));
    g = geo::Gazetteer::deserialize(**doc, "places (mission database)");
    if (!g.ok()) return ctx.fail(g.status());
  }
  auto d = g->describe({a.lat, a.lon});
  if (!d) return ctx.fail(Status::NotFound("the gazetteer has no populated places"));
  if (a.format == "json") {
    char buf[128];
    std::snprintf(buf, sizeof buf,
                  ",\"distance_m\":%.1f,\"azimuth_deg\":%.1f,\"place_lat\":%.6f,\"place_lon\":%.6f",
                  d->distance_m, d->azimuth_deg, d->place->pos.lat, d->place->pos.lon);
    std::printf("{\"text\":%s,\"place\":%s,\"compass\":%s%s,\"credit\":%s}\n", json_escape(d->text).c_str(),
                json_escape(d->place->name).c_str(),
                json_escape(std::string(geo::compass16(d->azimuth_deg))).c_str(), buf,
                json_escape(d->place->credit).c_str());
    return;
  }
  std::printf("%s\n", d->text.c_str());
  if (!d->place->credit.empty()) std::printf("place names: %s\n", d->place->credit.c_str());
}

}  // namespace

void add_geo_commands(Context& ctx) {
  static ImportGeoArgs zones_args, loc_args, places_args;
  auto* zones = ctx.import_cmd->add_subcommand(
      "zones",
      "import the mission's zones (GeoJSON FeatureCollection of Polygon/MultiPolygon features with "
      "properties id, party, kind = control|buffer|corridor|withdrawal); replaces them, keeping earlier "
      "versions");
  zones->add_option("file", zones_args.file, "GeoJSON file (- = stdin)")->required();
  zones->callback([&ctx] { import_zones_file(ctx, zones_args.file); });

  auto* loc = ctx.import_cmd->add_subcommand(
      "loc",
      "import the line of contact (GeoJSON FeatureCollection of LineString/MultiLineString features); "
      "replaces it, keeping earlier versions");
  loc->add_option("file", loc_args.file, "GeoJSON file (- = stdin)")->required();
  loc->callback([&ctx] { import_loc_file(ctx, loc_args.file); });

  auto* places = ctx.import_cmd->add_subcommand(
      "places",
      "import the gazetteer: a GeoNames TSV dump (e.g. cities500) or GeoJSON Point features with a name");
  places->add_option("file", places_args.file, "file (- = stdin)")->required();
  places->add_option("--format", places_args.format, "auto|geonames|geojson (auto: '{' first means GeoJSON)")
      ->check(CLI::IsMember({"auto", "geonames", "geojson"}));
  places->add_option("--credit", places_args.credit,
                     "whom to credit where these names are shown (default: GeoNames for a GeoNames file, "
                     "else the file name)");
  places->callback(
      [&ctx] { import_places_file(ctx, places_args.file, places_args.format, places_args.credit); });

  static AttributeArgs attr;
  auto* at = ctx.app->add_subcommand(
      "attribute",
      "attribute points (CSV with point_id,lat,lon) to zones and measure their geodesic distance to the LoC");
  at->add_option("points", attr.input, "CSV file with the columns point_id, lat, lon (- = stdin)")
      ->required();
  at->add_option("-o,--output", attr.output,
                 "output CSV: point_id,party,distance_to_loc_m,side,zones (default: stdout)");
  at->add_option("--zones", attr.zones, "zones GeoJSON (with --loc: no database needed)");
  at->add_option("--loc", attr.loc, "line of contact GeoJSON (with --zones)");
  at->add_option("--threads", attr.threads, "worker threads (default: all cores)");
  at->add_flag("-q,--quiet", attr.quiet, "no timing line on stderr");
  at->footer(
      "Columns: party = party of the control zone holding the point (empty if none); distance_to_loc_m = "
      "geodesic distance (WGS84) to the line of contact; side = -1 left, 1 right of the line's digitised "
      "direction, 0 on it; zones = the other zones holding the point, ';'-separated.");
  at->callback([&ctx] { attribute(ctx, attr); });

  static DescribeArgs desc;
  auto* de = ctx.app->add_subcommand(
      "describe", "describe a place as \"2.4 km SE of Martuni\" (nearest populated place)");
  de->add_option("lat", desc.lat, "latitude, degrees")->required();
  de->add_option("lon", desc.lon, "longitude, degrees")->required();
  de->add_option("--places", desc.places, "gazetteer file instead of the mission's places");
  de->add_option("--format", desc.format, "text|json")->check(CLI::IsMember({"text", "json"}));
  de->callback([&ctx] { describe(ctx, desc); });
}

}  // namespace truce::cli
