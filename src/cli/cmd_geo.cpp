// import zones|loc|places, attribute, describe: the mission's geography from the command line.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/context.h"
#include "cli/output.h"
#include "truce/core/decimal.h"
#include "truce/geo/gazetteer.h"
#include "truce/geo/geography.h"
#include "truce/io/record_reader.h"

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

bool parse_coord(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void attribute(Context& ctx, const AttributeArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  bool store_failed = false;
  auto geo = load_geography(ctx, a.zones, a.loc, store_failed);
  if (!geo.ok()) {
    if (store_failed) return;  // open_store() already said why
    return ctx.fail(geo.status(),
                    geo.status().code() == Code::kInvalidArgument ? kExitInputProblems : kExitFailure);
  }
  const auto& g = **geo;
  const auto tg = std::chrono::steady_clock::now();

  // The whole file in memory, split at line ends into one part per thread, each part read by its
  // own RecordReader (line numbers offset by the lines before it).
  auto whole = io::read_all(a.input, kMaxGeoFileBytes);
  if (!whole.ok()) return ctx.fail(whole.status());
  const std::string& text = *whole;
  const auto header_end = text.find('\n');
  int col_id = -1, col_lat = -1, col_lon = -1;
  std::size_t width = 0;
  {
    auto hsrc = io::ByteSource::from_string(text.substr(0, header_end), a.input);
    io::RecordReader hr(*hsrc, io::RecordReader::Mode::kCsv);
    io::Record rec;
    Status err;
    const auto r = hr.next(rec, err);
    if (r == io::ReadResult::kEnd)
      return ctx.fail(Status::Invalid("empty file: expected a header point_id,lat,lon", {a.input, 1, ""}),
                      kExitInputProblems);
    if (r != io::ReadResult::kRecord) return ctx.fail(err, kExitInputProblems);
    width = rec.fields.size();
    for (std::size_t i = 0; i < rec.fields.size(); ++i) {
      if (rec.fields[i] == "point_id")
        col_id = static_cast<int>(i);
      else if (rec.fields[i] == "lat")
        col_lat = static_cast<int>(i);
      else if (rec.fields[i] == "lon")
        col_lon = static_cast<int>(i);
    }
    for (auto [col, name] : {std::pair{col_id, "point_id"}, {col_lat, "lat"}, {col_lon, "lon"}}) {
      if (col < 0)
        return ctx.fail(Status::Invalid(std::string("missing column '") + name +
                                            "' (the header needs point_id, lat, lon)",
                                        {a.input, 1, ""}),
                        kExitInputProblems);
    }
  }
  struct Part {
    std::size_t begin = 0, end = 0;
    std::int64_t first_line = 2;
    std::string ids;
    std::vector<std::uint32_t> id_end;
    std::vector<LatLon> pts;
    std::vector<Status> problems;  // the first few
    std::int64_t bad = 0;
    Status fatal;
  };
  unsigned parts_n = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t body = header_end == std::string::npos ? text.size() : header_end + 1;
  if (text.size() - body < (std::size_t{1} << 20)) parts_n = 1;
  std::vector<Part> parts(parts_n);
  {
    std::size_t start = body;
    std::int64_t line = 2;
    for (unsigned i = 0; i < parts_n; ++i) {
      std::size_t end = i + 1 == parts_n ? text.size() : body + (text.size() - body) * (i + 1) / parts_n;
      if (end < text.size()) {
        const auto nl = text.find('\n', std::max(end, start));
        end = nl == std::string::npos ? text.size() : nl + 1;
      }
      parts[i].begin = start, parts[i].end = std::max(start, end), parts[i].first_line = line;
      line += std::count(text.begin() + static_cast<long>(start),
                         text.begin() + static_cast<long>(parts[i].end), '\n');
      start = parts[i].end;
    }
  }
  auto read_part = [&](Part& part) {
    auto src = io::ByteSource::from_string(text.substr(part.begin, part.end - part.begin), a.input);
    io::RecordReader reader(*src, io::RecordReader::Mode::kCsv);
    io::Record rec;
    Status err;
    const std::int64_t base = part.first_line - 1;
    const auto guess = (part.end - part.begin) / 24;
    part.pts.reserve(guess);
    part.id_end.reserve(guess);
    part.ids.reserve(guess * 8);
    auto complain = [&](const Status& st) {
      if (++part.bad <= 20) part.problems.push_back(st);
    };
    auto shift = [&](const Status& st) {
      return Status::Invalid(st.message(), {a.input, st.location().line + base, st.location().field});
    };
    for (;;) {
      const auto r = reader.next(rec, err);
      if (r == io::ReadResult::kEnd) break;
      if (r == io::ReadResult::kFatal) {
        part.fatal = err;
        return;
      }
      if (r == io::ReadResult::kBadRecord) {
        complain(shift(err));
        continue;
      }
      const std::int64_t line = rec.line + base;
      if (rec.fields.size() != width) {
        complain(Status::Invalid(
            "expected " + std::to_string(width) + " fields, got " + std::to_string(rec.fields.size()),
            {a.input, line, ""}));
        continue;
      }
      LatLon p;
      const auto lat = rec.fields[static_cast<std::size_t>(col_lat)],
                 lon = rec.fields[static_cast<std::size_t>(col_lon)];
      if (!parse_coord(lat, p.lat) || !(p.lat >= -90 && p.lat <= 90)) {
        complain(Status::Invalid(
            "expected a latitude in [-90, 90], got \"" + std::string(lat.substr(0, 40)) + "\"",
            {a.input, line, "lat"}));
        continue;
      }
      if (!parse_coord(lon, p.lon) || !(p.lon >= -180 && p.lon <= 180)) {
        complain(Status::Invalid(
            "expected a longitude in [-180, 180], got \"" + std::string(lon.substr(0, 40)) + "\"",
            {a.input, line, "lon"}));
        continue;
      }
      part.ids.append(rec.fields[static_cast<std::size_t>(col_id)]);
      part.id_end.push_back(static_cast<std::uint32_t>(part.ids.size()));
      part.pts.push_back(p);
    }
  };
  // Each thread reads, attributes and formats its own part; the parts are written in order.
  std::vector<std::string> party_csv;
  for (const auto& z : g.zones()) party_csv.push_back(csv_escape(z.party));
  auto format = [&](Part& part, const std::vector<geo::CompactAttribution>& out,
                    const std::vector<std::uint32_t>& others, std::string& b) {
    b.reserve(part.pts.size() * 40 + 64);
    std::string zl;
    for (std::size_t i = 0; i < part.pts.size(); ++i) {
      const std::size_t st = i ? part.id_end[i - 1] : 0;
      const std::string_view id(part.ids.data() + st, part.id_end[i] - st);
      if (id.find_first_of(",\"\n\r") != std::string_view::npos)
        b += csv_escape(std::string(id));
      else
        b += id;
      b += ',';
      const auto& c = out[i];
      if (c.control_zone >= 0) b += party_csv[static_cast<std::size_t>(c.control_zone)];
      b += ',';
      append_fixed(b, c.distance_to_loc_m, 3);
      b += ',';
      b += c.side < 0 ? "-1" : (c.side > 0 ? "1" : "0");
      b += ',';
      if (c.n_other) {
        zl.clear();
        for (std::uint32_t k = 0; k < c.n_other; ++k) {
          if (k) zl += ';';
          zl += g.zones()[others[c.first_other + k]].id;
        }
        b += csv_escape(zl);
      }
      b += '\n';
    }
  };
  std::vector<std::string> bufs(parts_n);
  auto work = [&](unsigned i) {
    Part& part = parts[i];
    read_part(part);
    if (!part.fatal.ok()) return;
    std::vector<geo::CompactAttribution> out(part.pts.size());
    std::vector<std::uint32_t> others;
    g.attribute_batch(part.pts, out, others, 1);
    format(part, out, others, bufs[i]);
  };
  {
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < parts_n; ++i) pool.emplace_back(work, i);
    work(0);
    for (auto& th : pool) th.join();
  }
  std::size_t n_points = 0;
  std::int64_t bad = 0;
  for (const auto& part : parts) {
    if (!part.fatal.ok()) return ctx.fail(part.fatal);
    for (const auto& st : part.problems)
      if (++bad <= 20) std::fprintf(stderr, "truce: %s\n", st.ToString().c_str());
    bad += part.bad - static_cast<std::int64_t>(part.problems.size());
    n_points += part.pts.size();
  }
  if (bad > 20) std::fprintf(stderr, "truce: ... and %lld more bad rows\n", static_cast<long long>(bad - 20));
  const auto t1 = std::chrono::steady_clock::now();
  std::FILE* f = a.output == "-" ? stdout : std::fopen(a.output.c_str(), "wb");
  if (!f) return ctx.fail(Status::IOError("cannot write " + a.output));
  static constexpr std::string_view kHeader = "point_id,party,distance_to_loc_m,side,zones\n";
  bool ok = std::fwrite(kHeader.data(), 1, kHeader.size(), f) == kHeader.size();
  for (const auto& b : bufs) ok = ok && std::fwrite(b.data(), 1, b.size(), f) == b.size();
  ok = (f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0) && ok;
  if (!ok) return ctx.fail(Status::IOError("write failed: " + a.output));
  const auto t2 = std::chrono::steady_clock::now();
  if (!a.quiet) {
    auto sec = [](auto d) { return std::chrono::duration<double>(d).count(); };
    std::fprintf(stderr,
                 "attributed %zu points in %.3f s (geography %.3f, read + attribute %.3f on %u threads, "
                 "write %.3f)%s\n",
                 n_points, sec(t2 - t0), sec(tg - t0), sec(t1 - tg), parts_n, sec(t2 - t1),
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
