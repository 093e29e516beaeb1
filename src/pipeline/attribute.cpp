// Attribution of a points file (include/truce/pipeline/attribute.h).
#include "truce/pipeline/attribute.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "truce/core/decimal.h"
#include "truce/core/parallel.h"
#include "truce/io/record_reader.h"

namespace truce::pipeline {

namespace {

constexpr std::int64_t kMaxPointsFileBytes = std::int64_t{512} << 20;

bool parse_coord(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string csv_escape(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct Columns {
  int id = -1, lat = -1, lon = -1;
  std::size_t width = 0;
};

// The header's columns; a refusal (not OK) when the file has none of them.
Status read_header(std::string_view header, const std::string& input, Columns& c) {
  auto hsrc = io::ByteSource::from_string(std::string(header), input);
  io::RecordReader hr(*hsrc, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  const auto r = hr.next(rec, err);
  if (r == io::ReadResult::kEnd)
    return Status::Invalid("empty file: expected a header point_id,lat,lon", {input, 1, ""});
  if (r != io::ReadResult::kRecord) return err;
  c.width = rec.fields.size();
  for (std::size_t i = 0; i < rec.fields.size(); ++i) {
    if (rec.fields[i] == "point_id")
      c.id = static_cast<int>(i);
    else if (rec.fields[i] == "lat")
      c.lat = static_cast<int>(i);
    else if (rec.fields[i] == "lon")
      c.lon = static_cast<int>(i);
  }
  for (auto [col, name] : {std::pair{c.id, "point_id"}, {c.lat, "lat"}, {c.lon, "lon"}}) {
    if (col < 0)
      return Status::Invalid(
          std::string("missing column '") + name + "' (the header needs point_id, lat, lon)", {input, 1, ""});
  }
  return Status::Ok();
}

// One part of the file, cut at a line end, read, attributed and formatted by a thread of its own.
struct Part {
  std::size_t begin = 0, end = 0;
  std::int64_t first_line = 2;
  std::string ids;
  std::vector<std::uint32_t> id_end;
  std::vector<LatLon> pts;
  std::vector<Status> problems;  // the first few
  std::int64_t bad = 0;
  Status fatal;
  std::string csv;  // the part's output rows
};

// Splits text[body, size) into n parts at line ends; each part knows its first line number.
std::vector<Part> split(const std::string& text, std::size_t body, unsigned n) {
  std::vector<Part> parts(n);
  std::size_t start = body;
  std::int64_t line = 2;
  for (unsigned i = 0; i < n; ++i) {
    std::size_t end = i + 1 == n ? text.size() : body + (text.size() - body) * (i + 1) / n;
    if (end < text.size()) {
      const auto nl = text.find('\n', std::max(end, start));
      end = nl == std::string::npos ? text.size() : nl + 1;
    }
    parts[i].begin = start, parts[i].end = std::max(start, end), parts[i].first_line = line;
    line += std::count(text.begin() + static_cast<long>(start),
                       text.begin() + static_cast<long>(parts[i].end), '\n');
    start = parts[i].end;
  }
  return parts;
}

void read_part(const std::string& text, const std::string& input, const Columns& col,
               std::int64_t max_problems, Part& part) {
  auto src = io::ByteSource::from_string(text.substr(part.begin, part.end - part.begin), input);
  io::RecordReader reader(*src, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  const std::int64_t base = part.first_line - 1;
  const auto guess = (part.end - part.begin) / 24;
  part.pts.reserve(guess);
  part.id_end.reserve(guess);
  part.ids.reserve(guess * 8);
  auto complain = [&](const Status& st) {
    if (++part.bad <= max_problems) part.problems.push_back(st);
  };
  auto shift = [&](const Status& st) {
    return Status::Invalid(st.message(), {input, st.location().line + base, st.location().field});
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
    if (rec.fields.size() != col.width) {
      complain(Status::Invalid(
          "expected " + std::to_string(col.width) + " fields, got " + std::to_string(rec.fields.size()),
          {input, line, ""}));
      continue;
    }
    LatLon p;
    const auto lat = rec.fields[static_cast<std::size_t>(col.lat)],
               lon = rec.fields[static_cast<std::size_t>(col.lon)];
    if (!parse_coord(lat, p.lat) || !(p.lat >= -90 && p.lat <= 90)) {
      complain(
          Status::Invalid("expected a latitude in [-90, 90], got \"" + std::string(lat.substr(0, 40)) + "\"",
                          {input, line, "lat"}));
      continue;
    }
    if (!parse_coord(lon, p.lon) || !(p.lon >= -180 && p.lon <= 180)) {
      complain(Status::Invalid(
          "expected a longitude in [-180, 180], got \"" + std::string(lon.substr(0, 40)) + "\"",
          {input, line, "lon"}));
      continue;
    }
    part.ids.append(rec.fields[static_cast<std::size_t>(col.id)]);
    part.id_end.push_back(static_cast<std::uint32_t>(part.ids.size()));
    part.pts.push_back(p);
  }
}

// The part's rows of the output CSV.
void format_part(const geo::Geography& g, const std::vector<std::string>& party_csv, Part& part,
                 const std::vector<geo::CompactAttribution>& out, const std::vector<std::uint32_t>& others) {
  std::string& b = part.csv;
  b.reserve(part.pts.size() * 40 + 64);
  std::string zl;
  for (std::size_t i = 0; i < part.pts.size(); ++i) {
    const std::size_t st = i ? part.id_end[i - 1] : 0;
    const std::string_view id(part.ids.data() + st, part.id_end[i] - st);
    if (id.find_first_of(",\"\n\r") != std::string_view::npos)
      b += csv_escape(id);
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
}

}  // namespace

Result<AttributeSummary> attribute_points(const geo::Geography& g, const std::string& input,
                                          const std::string& output, const AttributeOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  AttributeSummary sum;
  // The whole file in memory, split at line ends into one part per thread, each part read by its
  // own RecordReader (line numbers offset by the lines before it).
  auto whole = io::read_all(input, kMaxPointsFileBytes);
  if (!whole.ok()) return whole.status();
  const std::string& text = *whole;
  const auto header_end = text.find('\n');
  Columns col;
  sum.refused = read_header(std::string_view(text).substr(0, header_end), input, col);
  if (!sum.refused.ok()) return sum;

  unsigned parts_n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t body = header_end == std::string::npos ? text.size() : header_end + 1;
  if (text.size() - body < (std::size_t{1} << 20)) parts_n = 1;
  sum.threads = parts_n;
  std::vector<Part> parts = split(text, body, parts_n);
  std::vector<std::string> party_csv;
  for (const auto& z : g.zones()) party_csv.push_back(csv_escape(z.party));
  // Each thread reads, attributes and formats its own part; the parts are written in order.
  run_parallel(parts_n, [&](std::size_t i) {
    Part& part = parts[i];
    read_part(text, input, col, options.max_problems, part);
    if (!part.fatal.ok()) return;
    std::vector<geo::CompactAttribution> out(part.pts.size());
    std::vector<std::uint32_t> others;
    g.attribute_batch(part.pts, out, others, 1);
    format_part(g, party_csv, part, out, others);
  });
  for (const auto& part : parts) {
    if (!part.fatal.ok()) return part.fatal;
    for (const auto& st : part.problems)
      if (++sum.bad_rows <= options.max_problems && options.problem) options.problem(st);
    sum.bad_rows += part.bad - static_cast<std::int64_t>(part.problems.size());
    sum.points += part.pts.size();
  }
  const auto t1 = std::chrono::steady_clock::now();
  std::FILE* f = output == "-" ? stdout : std::fopen(output.c_str(), "wb");
  if (!f) return Status::IOError("cannot write " + output);
  bool ok =
      std::fwrite(kAttributionHeader.data(), 1, kAttributionHeader.size(), f) == kAttributionHeader.size();
  for (const auto& part : parts)
    ok = ok && std::fwrite(part.csv.data(), 1, part.csv.size(), f) == part.csv.size();
  ok = (f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0) && ok;
  if (!ok) return Status::IOError("write failed: " + output);
  const auto t2 = std::chrono::steady_clock::now();
  sum.read_attribute_s = std::chrono::duration<double>(t1 - t0).count();
  sum.write_s = std::chrono::duration<double>(t2 - t1).count();
  return sum;
}

}  // namespace truce::pipeline
