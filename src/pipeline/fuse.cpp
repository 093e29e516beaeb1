#include "truce/pipeline/fuse.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <unordered_map>

#include "truce/pipeline/classify.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <nlohmann/json.hpp>

#include "truce/core/decimal.h"
#include "truce/core/parallel.h"
#include "truce/core/prefault.h"
#include "truce/io/record_reader.h"
#include "truce/io/tabular.h"

namespace truce::pipeline {

namespace {

// Appenders for the scorer files (hundreds of thousands of rows): no temporary strings.
template <typename Int>
void put_int(std::string& buf, Int v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  buf.append(b, r.ptr);
}

// format_instant() of whole seconds, with the date part computed once per day: the same text.
class SecondsFormatter {
 public:
  void put(std::string& buf, std::int64_t secs) {
    std::int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) rem += 86400, days -= 1;
    if (days != day_) {
      day_ = days;
      const std::string full = format_instant(Instant{days * 86400 * 1000});
      // "YYYY-MM-DDT00:00:00Z": reuse its date; other shapes (years beyond 4 digits) go the slow way.
      prefix_ = full.size() == 20 ? full.substr(0, 11) : std::string();
    }
    if (prefix_.empty()) {
      buf += format_instant(Instant{secs * 1000});
      return;
    }
    const auto h = static_cast<int>(rem / 3600), m = static_cast<int>(rem / 60 % 60),
               sec = static_cast<int>(rem % 60);
    const char t[9] = {static_cast<char>('0' + h / 10),   static_cast<char>('0' + h % 10),   ':',
                       static_cast<char>('0' + m / 10),   static_cast<char>('0' + m % 10),   ':',
                       static_cast<char>('0' + sec / 10), static_cast<char>('0' + sec % 10), 'Z'};
    buf += prefix_;
    buf.append(t, sizeof t);
  }

 private:
  std::int64_t day_ = std::numeric_limits<std::int64_t>::min();
  std::string prefix_;
};

}  // namespace

namespace {

// Rows of one piece of an observations file, with observer identities interned within the piece.
struct ParsedRows {
  std::vector<fusion::Report> reports;  // index not set yet; observer: position in `observers`
  std::vector<std::string> ids;
  std::vector<std::string> observers;  // the piece's observer ids, in order of first appearance
  std::int64_t bad = 0;
  std::vector<std::string> problems;
  bool bad_record = false;  // the reader rejected a record (its message carries a piece-relative line)
};

// Turns records into reports: the column map, the field parser (io::parse_observation, which says
// what is wrong with a field), and the piece's observer numbering.
class RowParser {
 public:
  RowParser(const io::ColumnMap& map, const std::string& path, Instant now, const fusion::Config& cfg,
            ParsedRows& out)
      : map_(map), path_(path), now_(now), cfg_(cfg), out_(out) {}

  // One record, at `line` of the file.
  void take(const io::Record& rec, std::int64_t line) {
    if (auto e = io::pick(map_, rec, row_)) {
      complain(path_ + ":" + std::to_string(line) + ": " + e->reason);
      return;
    }
    if (auto e = io::parse_observation(row_, now_, o_)) {
      complain(path_ + ":" + std::to_string(line) + ": field '" + e->field + "': " + e->reason +
               (e->value.empty() ? "" : ", got \"" + e->value + "\""));
      return;
    }
    auto [it, fresh] =
        interned_.try_emplace(o_.observer_id, static_cast<std::uint32_t>(out_.observers.size()));
    if (fresh) out_.observers.push_back(o_.observer_id);
    // Its index: its position (final for the first piece; append_rows renumbers the others).
    const auto index = static_cast<std::uint32_t>(out_.reports.size());
    out_.reports.push_back(fusion::make_report(o_, index, it->second, o_.observer_pos, cfg_));
    out_.ids.push_back(std::move(o_.id));
  }
  void complain(const std::string& msg) {
    ++out_.bad;
    if (out_.problems.size() < 10) out_.problems.push_back(msg);
  }

 private:
  const io::ColumnMap& map_;
  const std::string& path_;
  Instant now_;
  const fusion::Config& cfg_;
  ParsedRows& out_;
  io::Row row_;
  Observation o_;
  std::unordered_map<std::string, std::uint32_t> interned_;
};

// Parses the records left in `reader` with the header's column map; rec.line + line_offset is the
// line in the file.
Status parse_rows(io::RecordReader& reader, const io::ColumnMap& map, const std::string& path,
                  std::int64_t line_offset, Instant now, const fusion::Config& cfg, ParsedRows& out) {
  RowParser parser(map, path, now, cfg, out);
  io::Record rec;
  Status err;
  for (;;) {
    const io::ReadResult rr = reader.next(rec, err);
    if (rr == io::ReadResult::kEnd) break;
    if (rr == io::ReadResult::kFatal) return err;
    if (rr == io::ReadResult::kBadRecord) {
      out.bad_record = true;
      parser.complain(err.ToString());
      continue;
    }
    parser.take(rec, rec.line + line_offset);
  }
  return Status::Ok();
}

// One line of a quote-free piece, found in one pass: its length (up to its '\n' or the end of the
// text), its commas, and whether it holds a NUL byte or a byte >= 0x80 (only then is its UTF-8
// checked). Sixteen bytes at a time where SSE2 is there (every x86-64): a dozen short fields a line
// made the per-field memchr calls the reader's largest cost after number parsing.
struct LineScan {
  std::size_t length = 0;
  bool newline = false;  // ended by '\n' (else by the end of the text)
  bool nul = false, high = false;
  std::vector<std::uint32_t> commas;  // positions in the line
};

void scan_line(std::string_view text, std::size_t pos, LineScan& s) {
  s.commas.clear();
  s.nul = s.high = false;
  const char* const b = text.data() + pos;
  const std::size_t n = text.size() - pos;
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i nlv = _mm_set1_epi8('\n'), cmv = _mm_set1_epi8(','), zero = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const auto nl = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nlv)));
    const unsigned keep = nl ? (1u << std::countr_zero(nl)) - 1 : 0xffffu;  // the bytes before the '\n'
    auto cm = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, cmv))) & keep;
    s.nul = s.nul || (static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero))) & keep) != 0;
    s.high = s.high || (static_cast<unsigned>(_mm_movemask_epi8(v)) & keep) != 0;
    for (; cm; cm &= cm - 1)
      s.commas.push_back(static_cast<std::uint32_t>(i + static_cast<std::size_t>(std::countr_zero(cm))));
    if (nl) {
      s.length = i + static_cast<std::size_t>(std::countr_zero(nl));
      s.newline = true;
      return;
    }
  }
#endif
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (c == '\n') {
      s.length = i;
      s.newline = true;
      return;
    }
    if (c == ',') s.commas.push_back(static_cast<std::uint32_t>(i));
    s.nul = s.nul || c == 0;
    s.high = s.high || c >= 0x80;
  }
  s.length = n;
  s.newline = false;
}

// Parses a piece of a file without any quote in place: each line is split at its commas exactly as
// io::RecordReader splits a record without quotes (one trailing '\r' dropped, blank lines skipped
// but counted), without copying it through the reader's buffer. A line the reader would reject (a
// NUL byte, invalid UTF-8, too long, too many fields) sets bad_record and ends the piece: the caller
// then reads the whole file through the reader. `first_line` is the file line of the piece's first.
void parse_piece(std::string_view text, const io::ColumnMap& map, const std::string& path,
                 std::int64_t first_line, Instant now, const fusion::Config& cfg, ParsedRows& out) {
  const io::Limits limits;
  RowParser parser(map, path, now, cfg, out);
  io::Record rec;
  LineScan scan;
  std::int64_t line = first_line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    scan_line(text, pos, scan);
    std::string_view raw(text.data() + pos, scan.length);
    pos += scan.length + (scan.newline ? 1 : 0);
    const std::int64_t this_line = line++;
    // (A dropped '\r' is neither a comma, a NUL nor a byte >= 0x80: the scan stands.)
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.empty()) continue;
    if (raw.size() > limits.max_record_bytes || scan.nul || (scan.high && !io::valid_utf8(raw)) ||
        scan.commas.size() >= limits.max_fields) {
      out.bad_record = true;
      return;
    }
    rec.fields.clear();
    std::size_t b = 0;
    for (const auto c : scan.commas) {
      rec.fields.push_back(raw.substr(b, c - b));
      b = c + 1;
    }
    rec.fields.push_back(raw.substr(b));
    rec.line = this_line;
    rec.raw = raw;
    parser.take(rec, this_line);
  }
}

// The first piece's rows go straight into the output's arrays (after any rows already there), with
// room for `rows` more: only the later pieces are copied.
void start_rows(FusionInput& out, std::size_t rows, ParsedRows& first) {
  first.reports = std::move(out.reports);
  first.ids = std::move(out.ids);
  first.reports.reserve(first.reports.size() + rows);
  first.ids.reserve(first.ids.size() + rows);
}

// Undoes start_rows(): the output gets back the `base` rows it had.
void abandon_rows(FusionInput& out, std::size_t base, ParsedRows& first) {
  out.reports = std::move(first.reports);
  out.ids = std::move(first.ids);
  out.reports.resize(base);
  out.ids.resize(base);
}

// Appends the pieces' rows in order (the first piece's arrays, from start_rows(), become the
// output's). Observer identities get numbers in order of first appearance in the file (the pieces'
// own lists, in piece order); the later pieces' rows are renumbered on `threads` threads.
Status append_rows(std::vector<ParsedRows>& parts, const std::string& path, int threads, FusionInput& out) {
  std::unordered_map<std::string, std::uint32_t> observers;
  std::vector<std::vector<std::uint32_t>> remap(parts.size());
  std::size_t total = 0;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    ParsedRows& part = parts[k];
    out.bad += part.bad;
    for (auto& p : part.problems) {
      if (out.problems.size() < 10) out.problems.push_back(std::move(p));
    }
    for (auto& name : part.observers) {
      auto [it, fresh] = observers.try_emplace(std::move(name), static_cast<std::uint32_t>(observers.size()));
      remap[k].push_back(it->second);
    }
    total += part.reports.size();
  }
  if (total >= UINT32_MAX - 1) return Status::Invalid(path + ": too many observations for one run");
  // The first piece numbers its observers first, in the same order: its numbers stand.
  out.reports = std::move(parts[0].reports);
  out.ids = std::move(parts[0].ids);
  std::vector<std::size_t> first(parts.size() + 1, out.reports.size());
  // The later pieces' room, faulted in on all threads (the copy below runs on one).
  reserve_prefaulted(out.reports, total - out.reports.size(), threads);
  reserve_prefaulted(out.ids, total - out.ids.size(), threads);
  for (std::size_t k = 1; k < parts.size(); ++k) {
    out.reports.insert(out.reports.end(), parts[k].reports.begin(), parts[k].reports.end());
    out.ids.insert(out.ids.end(), std::make_move_iterator(parts[k].ids.begin()),
                   std::make_move_iterator(parts[k].ids.end()));
    first[k + 1] = out.reports.size();
    parts[k] = ParsedRows{};
  }
  const auto renumber = [&](std::size_t from, std::size_t to) {
    std::size_t k = 1;
    for (std::size_t i = from; i < to; ++i) {
      while (i >= first[k + 1]) ++k;
      fusion::Report& r = out.reports[i];
      r.index = static_cast<std::uint32_t>(i);
      r.observer = remap[k][r.observer];
    }
  };
  const std::size_t from = first[1], n = out.reports.size() - from;
  const auto workers = static_cast<std::size_t>(n < (1u << 16) ? 1 : std::max(1, threads));
  run_parallel(workers,
               [&](std::size_t w) { renumber(from + n * w / workers, from + n * (w + 1) / workers); });
  return Status::Ok();
}

// The header line of an observations file and its column map.
Result<io::ColumnMap> read_header(io::RecordReader& reader, const std::string& path) {
  io::Record rec;
  Status err;
  const io::ReadResult rr = reader.next(rec, err);
  if (rr == io::ReadResult::kEnd) return Status::Invalid(path + ": empty file: expected a header line");
  if (rr != io::ReadResult::kRecord) return err;
  return io::map_header(io::observation_schema(), rec.fields, path);
}

}  // namespace

Status read_observations_csv(const std::string& path, const fusion::Config& cfg, FusionInput& out) {
  const Instant now = SystemClock{}.now();
  // A regular file without quotes splits at line ends into pieces parsed in parallel (a quoted
  // field may hold a line end, so a file with any quote is read in one piece); the result is the
  // same as reading it in one piece. Pieces that meet a malformed record fall back to that.
  const int threads = std::max(1, cfg.threads);
  const std::size_t base = out.reports.size();
  struct stat st {};
  if (threads > 1 && path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      st.st_size > (1 << 20) && st.st_size < (std::int64_t{2} << 30)) {
    const auto size = static_cast<std::size_t>(st.st_size);
    const auto parts = static_cast<std::size_t>(threads);
    auto mapped = io::MappedFile::open(path);
    if (!mapped.ok()) return mapped.status();
    const std::string_view text = mapped->text();
    // 1. Each worker counts the line ends of one stretch of the file and looks for quotes.
    std::vector<std::size_t> stretch(parts + 1), newlines(parts, 0);
    for (std::size_t k = 0; k <= parts; ++k) stretch[k] = text.size() * k / parts;
    std::vector<char> quoted(parts, 0);
    run_parallel(parts, [&](std::size_t k) {
      const char* const b = text.data() + stretch[k];
      const std::size_t n = stretch[k + 1] - stretch[k];
      newlines[k] = static_cast<std::size_t>(std::count(b, b + n, '\n'));
      quoted[k] = std::memchr(b, '"', n) != nullptr;
    });
    // Line ends before `pos`: the whole stretches before it, then the rest counted.
    const auto lines_before = [&](std::size_t pos) {
      std::size_t k = 0, n = 0;
      while (k < parts && stretch[k + 1] <= pos) n += newlines[k++];
      if (k == parts) return n;
      return n + static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(stretch[k]),
                                                     text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
    };
    const std::size_t header_end = text.find('\n');
    if (std::find(quoted.begin(), quoted.end(), 1) == quoted.end() && header_end != std::string_view::npos) {
      auto hsrc = io::ByteSource::from_string(std::string(text.substr(0, header_end + 1)), path);
      io::RecordReader hreader(*hsrc, io::RecordReader::Mode::kCsv);
      auto map = read_header(hreader, path);
      if (!map.ok()) return map.status();
      // 2. Pieces: from just after a line end to just after a line end; parsed in parallel.
      std::vector<std::size_t> cut{header_end + 1};
      for (std::size_t k = 1; k < parts; ++k) {
        const std::size_t nl = text.find('\n', std::max(stretch[k], header_end + 1));
        cut.push_back(std::max(cut.back(), nl == std::string_view::npos ? size : nl + 1));
      }
      cut.push_back(size);
      std::vector<ParsedRows> parsed(parts);
      std::vector<std::size_t> offset(parts + 1);  // lines before each piece (the header's included)
      for (std::size_t k = 0; k <= parts; ++k) offset[k] = lines_before(cut[k]);
      // Rows: at most the piece's lines (one more for an unended last line).
      start_rows(out, offset[parts] - offset[0] + 1, parsed[0]);
      run_parallel(parts, [&](std::size_t k) {
        if (k > 0) {
          parsed[k].reports.reserve(offset[k + 1] - offset[k] + 1);
          parsed[k].ids.reserve(offset[k + 1] - offset[k] + 1);
        }
        parse_piece(text.substr(cut[k], cut[k + 1] - cut[k]), *map, path,
                    static_cast<std::int64_t>(offset[k]) + 1, now, cfg, parsed[k]);
      });
      mapped->close();  // the rows are parsed: the text goes
      bool fallback = false;
      for (std::size_t k = 0; k < parts; ++k) fallback = fallback || parsed[k].bad_record;
      if (!fallback) return append_rows(parsed, path, threads, out);
      abandon_rows(out, base, parsed[0]);
    }
  }
  // One piece, streamed.
  auto src = io::ByteSource::open(path);
  if (!src.ok()) return src.status();
  io::RecordReader reader(**src, io::RecordReader::Mode::kCsv);
  auto map = read_header(reader, path);
  if (!map.ok()) return map.status();
  std::vector<ParsedRows> rows(1);
  start_rows(out, 0, rows[0]);
  if (Status read = parse_rows(reader, *map, path, 0, now, cfg, rows[0]); !read.ok()) {
    abandon_rows(out, base, rows[0]);
    return read;
  }
  return append_rows(rows, path, 1, out);
}

Result<std::shared_ptr<const geo::Geography>> load_geography_files(const std::string& zones,
                                                                   const std::string& loc) {
  auto z = io::read_all(zones, std::int64_t{512} << 20);
  if (!z.ok()) return z.status();
  auto l = io::read_all(loc, std::int64_t{512} << 20);
  if (!l.ok()) return l.status();
  return geo::Geography::from_geojson(*z, *l, zones, loc);
}

namespace {
// Rows [from, to) of the scorer's incidents.csv (incident ids are positions + 1).
void format_incident_rows(const std::vector<fusion::Incident>& incs, std::size_t from, std::size_t to,
                          std::string& buf) {
  buf.reserve(buf.size() + (to - from) * 130);
  SecondsFormatter times;
  for (std::size_t k = from; k < to; ++k) {
    const auto& c = incs[k];
    put_int(buf, k + 1);
    buf += ',';
    if (c.origin) {
      append_fixed(buf, c.origin->lat, 6);
      buf += ',';
      append_fixed(buf, c.origin->lon, 6);
    } else {
      buf += ',';
    }
    buf += ',';
    buf += c.party;
    buf += ',';
    if (c.distance_to_loc_m) append_fixed(buf, *c.distance_to_loc_m, 1);
    buf += ',';
    times.put(buf, c.start_s);
    buf += ',';
    times.put(buf, c.end_s);
    buf += ',';
    buf += to_string(c.kind);
    buf += ',';
    put_int(buf, c.members.size());
    buf += ',';
    put_int(buf, c.rounds);
    buf += ',';
    if (c.ellipse) {
      append_fixed(buf, c.ellipse->semi_major_m, 0);
      buf += ',';
      append_fixed(buf, c.ellipse->semi_minor_m, 0);
      buf += ',';
      append_fixed(buf, c.ellipse->major_azimuth_deg, 1);
    } else {
      buf += ",,";
    }
    buf += ',';
    if (c.sector) {
      append_fixed(buf, c.sector->azimuth_deg, 1);
      buf += ',';
      append_fixed(buf, c.sector->half_width_deg, 1);
    } else {
      buf += ',';
    }
    buf += '\n';
  }
}

// Rows [from, to) of the scorer's assign.csv.
void format_assign_rows(const std::vector<std::string>& ids, const std::vector<std::uint32_t>& inc_of,
                        std::size_t from, std::size_t to, std::string& buf) {
  buf.reserve(buf.size() + (to - from) * 20);
  for (std::size_t i = from; i < to; ++i) {
    buf += ids[i];
    buf += ',';
    if (inc_of[i]) put_int(buf, inc_of[i]);
    buf += '\n';
  }
}

Status write_buffers(const std::string& path, const std::vector<std::string>& parts) {
  std::ofstream f(path, std::ios::binary);
  for (const auto& p : parts) f.write(p.data(), static_cast<std::streamsize>(p.size()));
  f.close();
  if (!f) return Status::IOError("cannot write " + path);
  return Status::Ok();
}
}  // namespace

Status write_scorer_files(const std::string& dir, const std::vector<std::string>& ids,
                          const std::vector<fusion::Incident>& incs, int threads) {
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
  }
  std::vector<std::uint32_t> inc_of(ids.size(), 0);
  for (std::size_t k = 0; k < incs.size(); ++k) {
    for (auto i : incs[k].members) inc_of[i] = static_cast<std::uint32_t>(k + 1);
  }
  // Both files are formatted in `threads` slices each (hundreds of thousands of rows), then
  // written in order: the same bytes for any thread count.
  const auto n = static_cast<std::size_t>(std::clamp(threads, 1, 16));
  std::vector<std::string> assign(n), rows(n);
  assign[0] = "observation_id,incident_id\n";
  rows[0] =
      "incident_id,lat,lon,origin_party,distance_to_loc_m,start,end,kind,reports,rounds,semi_major_m,semi_"
      "minor_m,"
      "major_azimuth_deg,sector_azimuth_deg,sector_half_width_deg\n";
  // Each worker fills strings of its own, moved into place at the end: neighbouring strings of a
  // vector share a cache line, and appending to both from two threads made each ~3x slower.
  auto work = [&](std::size_t k) {
    std::string a = std::move(assign[k]), r = std::move(rows[k]);
    format_assign_rows(ids, inc_of, ids.size() * k / n, ids.size() * (k + 1) / n, a);
    format_incident_rows(incs, incs.size() * k / n, incs.size() * (k + 1) / n, r);
    assign[k] = std::move(a), rows[k] = std::move(r);
  };
  run_parallel(n, work);
  TRUCE_RETURN_IF_ERROR(write_buffers(dir + "/assign.csv", assign));
  return write_buffers(dir + "/incidents.csv", rows);
}

// The canonical JSON of an incident: every fused field, rounded so that the same fusion always
// writes the same text (the store versions an incident when this text changes).
std::string incident_content(const fusion::Incident& c, const std::string& id,
                             const std::vector<std::string>& obs_ids) {
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
    j["lat"] = round_decimals(c.origin->lat, 7);
    j["lon"] = round_decimals(c.origin->lon, 7);
  }
  if (c.distance_to_loc_m) j["distance_to_loc_m"] = round_decimals(*c.distance_to_loc_m, 1);
  if (c.ellipse) {
    j["ellipse"] = {{"semi_major_m", round_decimals(c.ellipse->semi_major_m, 0)},
                    {"semi_minor_m", round_decimals(c.ellipse->semi_minor_m, 0)},
                    {"major_azimuth_deg", round_decimals(c.ellipse->major_azimuth_deg, 1)}};
  }
  if (c.sector) {
    j["sector"] = {{"apex_lat", c.sector->apex.lat},
                   {"apex_lon", c.sector->apex.lon},
                   {"azimuth_deg", round_decimals(c.sector->azimuth_deg, 1)},
                   {"half_width_deg", round_decimals(c.sector->half_width_deg, 1)}};
  }
  j["observations"] = obs_ids;
  return j.dump();
}

Result<std::shared_ptr<const geo::Geography>> mission_geography(Store& store, const std::string& zones,
                                                                const std::string& loc) {
  if (!zones.empty() || !loc.empty()) {
    if (zones.empty() || loc.empty())
      return Status::Invalid(
          "--zones and --loc go together: give both, or neither to use the mission database");
    return load_geography_files(zones, loc);
  }
  auto z = store.document("zones");
  if (!z.ok()) return z.status();
  auto l = store.document("loc");
  if (!l.ok()) return l.status();
  if (!*z)
    return Status::NotFound(
        "the mission has no zones: run `truce import zones FILE` or give --zones and --loc");
  if (!*l)
    return Status::NotFound(
        "the mission has no line of contact: run `truce import loc FILE` or give --zones and --loc");
  return geo::Geography::from_geojson(**z, **l, "zones (mission database)", "loc (mission database)");
}

// Fuses the stored observations of [lo, hi) (incremental: the span of the observations not fused
// yet) and replaces the affected incidents. Exact: the window is widened until every candidate
// group with a report in [lo, hi) lies inside it, away from its edges, so the incidents are those
// a batch fusion of everything would give.
Result<FuseSummary> fuse_stored(Store& store, const geo::Geography& geography, const FuseRange& range,
                                const fusion::Config& cfg, FuseMemo* memo) {
  FuseSummary sum;
  using Clock = std::chrono::steady_clock;
  auto mark = Clock::now();
  // Adds the time since the last lap to `into`.
  const auto lap = [&mark](double& into) {
    const auto t = Clock::now();
    into += std::chrono::duration<double, std::milli>(t - mark).count();
    mark = t;
  };
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min() / 4;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 4;
  constexpr std::int64_t kDay = 86'400'000;
  std::int64_t lo = kMin, hi = kMax;
  if (range.from) lo = range.from->ms;
  if (range.to) hi = range.to->ms;
  const bool incremental = !range.from && !range.to;
  // One fuser at a time per database (the live service and a CLI import may both fuse): what this
  // one reads below is then not changed under it by another's incidents or cursor.
  auto lock = store.lock_fusion();
  if (!lock.ok()) return lock.status();

  std::int64_t cursor = 0, max_seq = 0;
  bool use_window = false;               // read the window from memo->window (+ fresh)
  std::vector<StoredObservation> fresh;  // with use_window: the observations after the cursor
  std::vector<std::string> corrected;    // incremental: reports superseded by a new observation
  constexpr std::size_t kMaxFresh = 100'000;
  if (incremental) {
    auto doc = store.document("fusion.cursor");
    if (!doc.ok()) return doc.status();
    if (*doc) cursor = std::strtoll((*doc)->c_str(), nullptr, 10);
    ObservationFilter nf;
    nf.after_seq = cursor;
    std::int64_t tmin = kMax, tmax = kMin;
    // The memo's window is used only when it was left at this very cursor (no other fuser ran
    // since), and only for a live-sized run (a backlog is read from the store as it comes).
    use_window = memo && memo->window_seq > 0 && memo->window_seq == cursor;
    TRUCE_RETURN_IF_ERROR(store.scan_observations(nf, [&](const StoredObservation& so) {
      if (use_window) {
        if (fresh.size() < kMaxFresh)
          fresh.push_back(so);
        else
          use_window = false, fresh.clear();
      }
      tmin = std::min(tmin, so.obs.time.ms);
      tmax = std::max(tmax, so.obs.time.ms);
      max_seq = std::max(max_seq, so.seq);
      if (!so.obs.supersedes.empty()) corrected.push_back(so.obs.supersedes);
      return (so.seq & 4095) != 0 || !cfg.cancelled();
    }));
    if (cfg.cancelled()) return Status::IOError("fusion stopped before it finished: nothing was written");
    if (max_seq == 0) {
      sum.nothing_new = true;
      return sum;
    }
    if (memo) memo->window_seq = 0;  // until this run has written
    // A correction may move a report in time: its old time is touched too, so that the incident
    // it leaves is fused again without it.
    for (const auto& id : corrected) {
      ObservationFilter one;
      one.id = id;
      TRUCE_RETURN_IF_ERROR(store.scan_observations(one, [&](const StoredObservation& so) {
        tmin = std::min(tmin, so.obs.time.ms);
        tmax = std::max(tmax, so.obs.time.ms);
        return true;
      }));
    }
    lo = tmin, hi = tmax + 1;
  }
  if (hi <= lo) return Status::Invalid("--from must be before --to");

  std::unordered_map<std::string, LatLon> registered;
  {
    auto obs = store.observers();
    if (!obs.ok()) return obs.status();
    for (const auto& o : *obs) {
      if (o.position) registered.emplace(o.id, *o.position);
    }
  }
  const auto margin_ms = static_cast<std::int64_t>(std::ceil(cfg.pair_window_s() * 1000.0)) + 1000;
  // The window around what changed starts at two pair windows each side and grows until every
  // incident touching the changed span lies inside it with a margin (then the result is exact):
  // each side at least doubles, and reaches past the candidate groups the last try saw cut, so a
  // long chain of firing is covered in a step or two instead of by blind fourfold growth.
  std::int64_t pad_lo = 2 * margin_ms, pad_hi = 2 * margin_ms;
  if (incremental && memo) {
    // Where the last run's groups reached, when the new reports are near them.
    if (memo->group_first_ms && *memo->group_first_ms < lo && lo - *memo->group_first_ms < kDay) {
      pad_lo = std::max(pad_lo, lo - *memo->group_first_ms + 2 * margin_ms);
    }
    if (memo->group_last_ms && *memo->group_last_ms >= hi && *memo->group_last_ms - hi < kDay) {
      pad_hi = std::max(pad_hi, *memo->group_last_ms - hi + 1000 + 2 * margin_ms);
    }
  }
  std::int64_t wlo = kMin, whi = kMax;  // the window of the last try
  // The stored observations read so far (every one with its time in `covered`), and the window's
  // current ones in fusion order (pointers into win, valid until win grows).
  std::vector<StoredObservation> win;
  std::optional<std::pair<std::int64_t, std::int64_t>> covered;
  if (use_window) {
    // What the last run read, with what is new, and the corrections the new reports make.
    win = std::move(memo->window);
    covered = {memo->window_from, memo->window_to};
    std::unordered_map<std::string, std::string> corrections;  // old -> new
    for (const auto& so : fresh) {
      if (!so.obs.supersedes.empty()) corrections[so.obs.supersedes] = so.obs.id;
    }
    std::move(fresh.begin(), fresh.end(), std::back_inserter(win));
    fresh.clear();
    for (auto& so : win) {
      if (auto it = corrections.find(so.obs.id); it != corrections.end()) so.superseded_by = it->second;
    }
  }
  // Every stored observation of [from, to) up to this run's cursor (a report committed since the
  // run began is new to the next one; with use_window, `fresh` held the new ones) joins `win`.
  const std::int64_t up_to = use_window ? cursor : max_seq;
  const auto scan = [&](std::int64_t from, std::int64_t to) -> Status {
    if (from >= to) return Status::Ok();
    ObservationFilter f;
    if (from > kMin) f.from = Instant{from};
    if (to < kMax) f.to = Instant{to};
    return store.scan_observations(f, [&](const StoredObservation& so) {
      if (!incremental || so.seq <= up_to) win.push_back(so);
      return (so.seq & 4095) != 0 || !cfg.cancelled();
    });
  };
  std::vector<const Observation*> obs;
  std::vector<std::string> superseded;  // in the window: fused by nothing, so their incidents are replaced
  std::vector<fusion::Incident> keep;
  // An incident is named after its first report in fusion order.
  const auto incident_id = [&](const fusion::Incident& inc) { return "inc-" + obs[inc.members.front()]->id; };
  for (;;) {
    wlo = lo <= kMin ? kMin : lo - pad_lo;
    whi = hi >= kMax ? kMax : hi + pad_hi;
    obs.clear();
    superseded.clear();
    // The windows only grow from try to try: each reads from the store only what it adds.
    if (covered && (whi <= covered->first || wlo >= covered->second)) {
      // Far from what the last run read (a late report): only the new reports are kept, the rest
      // is read for this window alone rather than with everything in between.
      std::erase_if(win, [&](const StoredObservation& so) { return so.seq <= cursor; });
      covered.reset();
    }
    if (!covered) {
      TRUCE_RETURN_IF_ERROR(scan(wlo, whi));
    } else {
      TRUCE_RETURN_IF_ERROR(scan(wlo, covered->first));
      TRUCE_RETURN_IF_ERROR(scan(covered->second, whi));
    }
    covered = {covered ? std::min(wlo, covered->first) : wlo, covered ? std::max(whi, covered->second) : whi};
    if (cfg.cancelled()) return Status::IOError("fusion stopped before it finished: nothing was written");
    for (const auto& so : win) {
      if (so.obs.time.ms < wlo || so.obs.time.ms >= whi) continue;
      if (so.superseded_by.empty())
        obs.push_back(&so.obs);
      else
        superseded.push_back(so.obs.id);
    }
    lap(sum.read_ms);
    ++sum.window_tries;
    sum.window_reports = obs.size();
    // A fixed order (time, then id) makes the result independent of arrival order.
    std::sort(obs.begin(), obs.end(), [](const Observation* x, const Observation* y) {
      return std::tie(x->time.ms, x->id) < std::tie(y->time.ms, y->id);
    });
    std::vector<fusion::Report> reports;
    reports.reserve(obs.size());
    std::unordered_map<std::string, std::uint32_t> observers;
    for (std::size_t i = 0; i < obs.size(); ++i) {
      auto [it, added] =
          observers.try_emplace(obs[i]->observer_id, static_cast<std::uint32_t>(observers.size()));
      std::optional<LatLon> pos = obs[i]->observer_pos;
      if (!pos) {
        if (auto r = registered.find(obs[i]->observer_id); r != registered.end()) pos = r->second;
      }
      reports.push_back(fusion::make_report(*obs[i], static_cast<std::uint32_t>(i), it->second, pos, cfg));
    }
    // Incremental: only the groups with a report in the changed span can change; the others'
    // incidents are stored already (a group only ever grows, and every group that grew was
    // touched). A correction is the exception: the reports it leaves may form a group without
    // any report in the span, so a run with corrections clusters everything.
    fusion::Config run_cfg = cfg;
    std::vector<char> focus;
    if (incremental && corrected.empty()) {
      focus.resize(obs.size());
      for (std::size_t i = 0; i < obs.size(); ++i) focus[i] = obs[i]->time.ms >= lo && obs[i]->time.ms < hi;
      run_cfg.focus = &focus;
    }
    auto incs = fusion::fuse(reports, run_cfg);
    if (cfg.cancelled()) return Status::IOError("fusion stopped before it finished: nothing was written");
    bool exact = true;
    std::int64_t need_lo = lo, need_hi = hi;  // what the cut groups touching [lo, hi) span
    keep.clear();
    for (auto& inc : incs) {
      const bool safe = (wlo <= kMin || inc.group_first_s * 1000 >= wlo + margin_ms) &&
                        (whi >= kMax || inc.group_last_s * 1000 < whi - margin_ms);
      if (safe) {
        keep.push_back(std::move(inc));
        continue;
      }
      for (auto m : inc.members) {
        if (obs[m]->time.ms >= lo && obs[m]->time.ms < hi) {
          exact = false;
          need_lo = std::min(need_lo, inc.group_first_s * 1000);
          need_hi = std::max(need_hi, inc.group_last_s * 1000 + 1000);
        }
      }
    }
    lap(sum.fuse_ms);
    if (exact) {
      if (memo) {
        // The groups of the changed span, for the next run's first guess.
        memo->group_first_ms.reset();
        memo->group_last_ms.reset();
        for (const auto& inc : keep) {
          const bool touched = std::any_of(inc.members.begin(), inc.members.end(), [&](std::uint32_t m) {
            return obs[m]->time.ms >= lo && obs[m]->time.ms < hi;
          });
          if (!touched) continue;
          memo->group_first_ms = std::min(memo->group_first_ms.value_or(kMax), inc.group_first_s * 1000);
          memo->group_last_ms = std::max(memo->group_last_ms.value_or(kMin), inc.group_last_s * 1000);
        }
      }
      break;
    }
    pad_lo = std::max(2 * pad_lo, lo - need_lo + 2 * margin_ms);
    pad_hi = std::max(2 * pad_hi, need_hi - hi + 2 * margin_ms);
  }
  if (incremental && memo) {
    // The incidents the window gives exactly as the last run left them (same id, same reports)
    // stay as they are: an incident's description follows from its reports, the geography and
    // the rules, so describing and writing it again would change nothing. Only what the new
    // reports changed is described and written. The memo is trusted only when no incident
    // changed since the last run wrote (an analyst's review is not a version).
    auto cur = store.incident_cursor();
    if (!cur.ok()) return cur.status();
    std::unordered_map<std::string, std::string> before;
    if (memo->versions_after && *memo->versions_after == cur->versions) before = std::move(memo->incidents);
    memo->incidents.clear();
    std::vector<std::string_view> ids;
    std::erase_if(keep, [&](const fusion::Incident& inc) {
      ids.clear();
      for (auto m : inc.members) ids.push_back(obs[m]->id);
      std::sort(ids.begin(), ids.end());
      std::string joined;
      for (auto id : ids) joined.append(id).push_back('\n');
      std::string id = incident_id(inc);
      auto it = before.find(id);
      const bool same = it != before.end() && it->second == joined;
      memo->incidents.emplace(std::move(id), std::move(joined));
      if (!same) return false;
      ++sum.unchanged;
      sum.observations += inc.members.size();
      return true;
    });
    memo->versions_after.reset();  // until this run has written
  }
  fusion::attribute(keep, geography, static_cast<unsigned>(cfg.threads));
  auto rulebook = mission_rulebook(store, geography);
  if (!rulebook.ok()) return rulebook.status();
  std::vector<StoredIncident> stored;
  std::vector<std::string> scope;
  stored.reserve(keep.size());
  for (const auto& inc : keep) {
    StoredIncident si;
    for (auto m : inc.members) si.observation_ids.push_back(obs[m]->id);
    scope.insert(scope.end(), si.observation_ids.begin(), si.observation_ids.end());
    si.id = incident_id(inc);
    si.start = Instant{inc.start_s * 1000};
    si.end = Instant{inc.end_s * 1000};
    si.kind = std::string(to_string(inc.kind));
    si.party = inc.party;
    if (inc.origin) si.lat = inc.origin->lat, si.lon = inc.origin->lon;
    si.content = incident_content(inc, si.id, si.observation_ids);
    if (*rulebook) {
      auto classified = classify_content(si.content, **rulebook);
      if (!classified.ok()) return classified.status();
      si.content = std::move(classified).value();
    }
    stored.push_back(std::move(si));
  }
  sum.observations += scope.size();
  scope.insert(scope.end(), superseded.begin(), superseded.end());
  lap(sum.describe_ms);
  IncidentSync synced;
  const auto write = [&]() -> Status {
    auto sync = store.replace_incidents(scope, stored);
    if (!sync.ok()) return sync.status();
    synced = *sync;
    if (incremental) {
      auto v = store.put_document("fusion.cursor", std::to_string(max_seq));
      if (!v.ok()) return v.status();
    }
    if (incremental && memo) {
      auto cur = store.incident_cursor();
      if (!cur.ok()) return cur.status();
      memo->versions_after = cur->versions;
      if (wlo > kMin && whi < kMax) {
        std::erase_if(
            win, [&](const StoredObservation& so) { return so.obs.time.ms < wlo || so.obs.time.ms >= whi; });
        memo->window = std::move(win);
        memo->window_from = wlo;
        memo->window_to = whi;
        memo->window_seq = max_seq;
      }
    }
    return Status::Ok();
  };
  TRUCE_RETURN_IF_ERROR(memo && memo->write ? memo->write(write) : write());
  lap(sum.write_ms);
  sum.incidents = stored.size() + sum.unchanged;
  sum.sync = synced;
  return sum;
}

Status export_scorer(Store& store, const std::string& dir, std::size_t* observations,
                     std::size_t* incidents) {
  std::vector<std::string> ids;
  std::unordered_map<std::string, std::uint32_t> index;
  ObservationFilter current;  // what fusion uses: superseded reports are in no incident
  current.current_only = true;
  Status st = store.scan_observations(current, [&](const StoredObservation& so) {
    index.emplace(so.obs.id, static_cast<std::uint32_t>(ids.size()));
    ids.push_back(so.obs.id);
    return true;
  });
  if (!st.ok()) return st;
  std::vector<fusion::Incident> incs;
  st = store.scan_incidents(IncidentFilter{}, [&](const StoredIncident& si) {
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
  if (!st.ok()) return st;
  TRUCE_RETURN_IF_ERROR(write_scorer_files(dir, ids, incs));
  if (observations) *observations = ids.size();
  if (incidents) *incidents = incs.size();
  return Status::Ok();
}

}  // namespace truce::pipeline
