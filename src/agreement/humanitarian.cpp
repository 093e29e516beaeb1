#include "truce/agreement/humanitarian.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "truce/core/time.h"
#include "truce/io/record_reader.h"

namespace truce::agreement {

Result<std::int64_t> parse_date(std::string_view s) {
  auto t = parse_instant(std::string(s) + "T00:00:00Z");
  if (s.size() != 10 || !t.ok())
    return Status::Invalid("expected a date YYYY-MM-DD, got \"" + std::string(s.substr(0, 40)) + "\"");
  return t->ms / 86'400'000;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A whole number >= 0 written with or without thousands separators is refused: "100514" only.
std::optional<std::int64_t> count(std::string_view s) {
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 0 || v > 100'000'000'000)
    return std::nullopt;
  return v;
}

// Reads a small CSV table with named columns; calls row(fields by column, line) for each data row.
template <typename RowFn>
Status read_table(const std::string& path, const std::vector<std::string_view>& columns,
                  const std::vector<std::string_view>& required, ReadErrors& errors, std::size_t max_errors,
                  RowFn row) {
  auto src = io::ByteSource::open(path);
  if (!src.ok()) return src.status();
  io::RecordReader reader(**src, io::RecordReader::Mode::kCsv);
  io::Record rec;
  Status err;
  std::vector<int> at(columns.size(), -1);
  bool header = false;
  std::size_t width = 0;
  auto problem = [&](Status st) {
    if (errors.errors.size() < max_errors)
      errors.errors.push_back(std::move(st));
    else
      ++errors.more;
  };
  for (;;) {
    const auto rr = reader.next(rec, err);
    if (rr == io::ReadResult::kEnd) break;
    if (rr == io::ReadResult::kFatal) return err;
    if (rr == io::ReadResult::kBadRecord) {
      if (!header) return err;
      problem(err);
      continue;
    }
    if (!header) {
      header = true;
      width = rec.fields.size();
      for (std::size_t i = 0; i < rec.fields.size(); ++i) {
        const auto h = trim(rec.fields[i]);
        for (std::size_t c = 0; c < columns.size(); ++c) {
          if (h != columns[c]) continue;
          if (at[c] >= 0)
            return Status::Invalid("column '" + std::string(h) + "' appears twice in the header",
                                   Location{path, rec.line, ""});
          at[c] = static_cast<int>(i);
        }
      }
      for (auto r : required) {
        const auto c =
            static_cast<std::size_t>(std::find(columns.begin(), columns.end(), r) - columns.begin());
        if (at[c] < 0) {
          std::string all;
          for (auto x : required) all += (all.empty() ? "" : ",") + std::string(x);
          return Status::Invalid("missing required column '" + std::string(r) +
                                     "' in the header (the header needs: " + all + ")",
                                 Location{path, rec.line, ""});
        }
      }
      continue;
    }
    if (rec.fields.size() == 1 && trim(rec.fields[0]).empty()) continue;  // blank line
    if (rec.fields.size() != width) {
      problem(Status::Invalid("expected " + std::to_string(width) + " fields like the header, got " +
                                  std::to_string(rec.fields.size()),
                              Location{path, rec.line, ""}));
      continue;
    }
    std::vector<std::string_view> v(columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c)
      v[c] = at[c] >= 0 ? trim(rec.fields[static_cast<std::size_t>(at[c])]) : "";
    if (auto st = row(v, rec.line); !st.ok())
      problem(Status::Invalid(st.message(), Location{path, rec.line, st.location().field}));
  }
  if (!header) return Status::Invalid("the file is empty: expected a header line", Location{path, 0, ""});
  return Status::Ok();
}

Status field(std::string name, std::string msg) {
  return Status::Invalid(std::move(msg), Location{"", 0, std::move(name)});
}

}  // namespace

Result<std::vector<Crossing>> read_crossings_csv(const std::string& path, ReadErrors& errors,
                                                 std::size_t max_errors) {
  std::vector<Crossing> out;
  const std::vector<std::string_view> cols = {"date",   "checkpoint", "direction",
                                              "people", "vehicles",   "source"};
  Status st = read_table(
      path, cols, {"date", "checkpoint", "direction", "people", "source"}, errors, max_errors,
      [&](const std::vector<std::string_view>& v, std::int64_t) -> Status {
        Crossing c;
        const auto slash = v[0].find('/');
        auto first = parse_date(v[0].substr(0, slash));
        if (!first.ok())
          return field("date", "expected YYYY-MM-DD or a period YYYY-MM-DD/YYYY-MM-DD, got \"" +
                                   std::string(v[0].substr(0, 40)) + "\"");
        c.first_day = c.last_day = *first;
        if (slash != std::string_view::npos) {
          auto last = parse_date(v[0].substr(slash + 1));
          if (!last.ok())
            return field("date", "expected YYYY-MM-DD or a period YYYY-MM-DD/YYYY-MM-DD, got \"" +
                                     std::string(v[0].substr(0, 40)) + "\"");
          if (*last < *first)
            return field("date", "the period ends before it starts: \"" + std::string(v[0]) + "\"");
          c.last_day = *last;
        }
        if (v[1].empty()) return field("checkpoint", "required; expected the checkpoint or corridor name");
        c.checkpoint = std::string(v[1]);
        if (v[2] == "out")
          c.direction = Direction::kOut;
        else if (v[2] == "in")
          c.direction = Direction::kIn;
        else
          return field("direction", "expected out (leaving the area) or in (entering it), got \"" +
                                        std::string(v[2].substr(0, 40)) + "\"");
        auto p = count(v[3]);
        if (!p)
          return field("people", "expected a whole number >= 0 without separators, got \"" +
                                     std::string(v[3].substr(0, 40)) + "\"");
        c.people = *p;
        if (!v[4].empty()) {
          auto n = count(v[4]);
          if (!n)
            return field("vehicles", "expected a whole number >= 0 or empty, got \"" +
                                         std::string(v[4].substr(0, 40)) + "\"");
          c.vehicles = *n;
        }
        if (v[5].empty()) return field("source", "required; expected where the figure comes from");
        c.source = std::string(v[5]);
        out.push_back(std::move(c));
        return Status::Ok();
      });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Baseline>> read_baselines_csv(const std::string& path, ReadErrors& errors,
                                                 std::size_t max_errors) {
  std::vector<Baseline> out;
  const std::vector<std::string_view> cols = {"area", "population", "date", "source"};
  Status st =
      read_table(path, cols, cols, errors, max_errors,
                 [&](const std::vector<std::string_view>& v, std::int64_t) -> Status {
                   Baseline b;
                   if (v[0].empty())
                     return field("area", "required; expected the area the population lives in");
                   b.area = std::string(v[0]);
                   auto p = count(v[1]);
                   if (!p || *p == 0)
                     return field("population", "expected a whole number > 0 without separators, got \"" +
                                                    std::string(v[1].substr(0, 40)) + "\"");
                   b.population = *p;
                   auto d = parse_date(v[2]);
                   if (!d.ok()) return field("date", d.status().message());
                   b.as_of = *d;
                   if (v[3].empty()) return field("source", "required; expected where the figure comes from");
                   b.source = std::string(v[3]);
                   out.push_back(std::move(b));
                   return Status::Ok();
                 });
  if (!st.ok()) return st;
  return out;
}

namespace {
using nlohmann::json;
std::string date_or_period(std::int64_t a, std::int64_t b) {
  return a == b ? format_day(a) : format_day(a) + "/" + format_day(b);
}
}  // namespace

std::string crossings_to_json(const std::vector<Crossing>& rows) {
  json arr = json::array();
  for (const auto& c : rows) {
    json j = {{"date", date_or_period(c.first_day, c.last_day)},
              {"checkpoint", c.checkpoint},
              {"direction", c.direction == Direction::kOut ? "out" : "in"},
              {"people", c.people},
              {"source", c.source}};
    j["vehicles"] = c.vehicles ? json(*c.vehicles) : json(nullptr);
    arr.push_back(std::move(j));
  }
  return arr.dump();
}

Result<std::vector<Crossing>> crossings_from_json(std::string_view text) {
  json arr = json::parse(text.begin(), text.end(), nullptr, false);
  if (arr.is_discarded() || !arr.is_array())
    return Status::Corruption("stored document 'crossings' is not a JSON array");
  std::vector<Crossing> out;
  try {
    for (const auto& j : arr) {
      Crossing c;
      const std::string d = j.at("date").get<std::string>();
      const auto slash = d.find('/');
      auto a = parse_date(d.substr(0, slash));
      auto b = parse_date(slash == std::string::npos ? d : d.substr(slash + 1));
      if (!a.ok() || !b.ok()) return Status::Corruption("stored document 'crossings' has a bad date: " + d);
      c.first_day = *a;
      c.last_day = *b;
      c.checkpoint = j.at("checkpoint").get<std::string>();
      c.direction = j.at("direction").get<std::string>() == "in" ? Direction::kIn : Direction::kOut;
      c.people = j.at("people").get<std::int64_t>();
      if (j.contains("vehicles") && !j.at("vehicles").is_null())
        c.vehicles = j.at("vehicles").get<std::int64_t>();
      c.source = j.at("source").get<std::string>();
      out.push_back(std::move(c));
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("stored document 'crossings' does not have the expected shape: ") +
                              e.what());
  }
  return out;
}

std::string baselines_to_json(const std::vector<Baseline>& rows) {
  json arr = json::array();
  for (const auto& b : rows)
    arr.push_back({{"area", b.area},
                   {"population", b.population},
                   {"date", format_day(b.as_of)},
                   {"source", b.source}});
  return arr.dump();
}

Result<std::vector<Baseline>> baselines_from_json(std::string_view text) {
  json arr = json::parse(text.begin(), text.end(), nullptr, false);
  if (arr.is_discarded() || !arr.is_array())
    return Status::Corruption("stored document 'population_baselines' is not a JSON array");
  std::vector<Baseline> out;
  try {
    for (const auto& j : arr) {
      Baseline b;
      b.area = j.at("area").get<std::string>();
      b.population = j.at("population").get<std::int64_t>();
      auto d = parse_date(j.at("date").get<std::string>());
      if (!d.ok()) return Status::Corruption("stored document 'population_baselines' has a bad date");
      b.as_of = *d;
      b.source = j.at("source").get<std::string>();
      out.push_back(std::move(b));
    }
  } catch (const json::exception& e) {
    return Status::Corruption(
        std::string("stored document 'population_baselines' does not have the expected shape: ") + e.what());
  }
  return out;
}

MergeCounts merge_crossings(std::vector<Crossing>& stored, const std::vector<Crossing>& incoming) {
  MergeCounts m;
  for (const auto& c : incoming) {
    auto it = std::find_if(stored.begin(), stored.end(), [&](const Crossing& s) {
      return s.first_day == c.first_day && s.last_day == c.last_day && s.checkpoint == c.checkpoint &&
             s.direction == c.direction;
    });
    if (it == stored.end()) {
      stored.push_back(c);
      ++m.added;
    } else if (it->people == c.people && it->vehicles == c.vehicles && it->source == c.source) {
      ++m.unchanged;
    } else {
      *it = c;
      ++m.replaced;
    }
  }
  return m;
}

MergeCounts merge_baselines(std::vector<Baseline>& stored, const std::vector<Baseline>& incoming) {
  MergeCounts m;
  for (const auto& b : incoming) {
    auto it = std::find_if(stored.begin(), stored.end(),
                           [&](const Baseline& s) { return s.area == b.area && s.as_of == b.as_of; });
    if (it == stored.end()) {
      stored.push_back(b);
      ++m.added;
    } else if (it->population == b.population && it->source == b.source) {
      ++m.unchanged;
    } else {
      *it = b;
      ++m.replaced;
    }
  }
  return m;
}

MovementSummary summarize(const std::vector<Crossing>& rows, const std::vector<Baseline>& baselines,
                          std::int64_t at) {
  MovementSummary s;
  s.at = at;
  std::map<std::pair<std::int64_t, std::int64_t>, MovementDay> by;  // (last, first) -> totals
  auto add_source = [&s](const std::string& src) {
    if (std::find(s.sources.begin(), s.sources.end(), src) == s.sources.end()) s.sources.push_back(src);
  };
  std::int64_t first_movement = INT64_MAX;
  for (const auto& c : rows) {
    if (c.last_day > at) continue;
    auto& d = by[{c.last_day, c.first_day}];
    d.first_day = c.first_day;
    d.last_day = c.last_day;
    (c.direction == Direction::kOut ? d.out_people : d.in_people) += c.people;
    if (c.vehicles) {
      (c.direction == Direction::kOut ? d.out_vehicles : d.in_vehicles) += *c.vehicles;
      d.vehicles_known = true;
    }
    first_movement = std::min(first_movement, c.first_day);
    add_source(c.source);
  }
  for (auto& [key, d] : by) {
    s.total_out += d.out_people;
    s.total_in += d.in_people;
    d.cumulative_out = s.total_out;
    d.cumulative_in = s.total_in;
    s.days.push_back(d);
  }
  // The population before the movement: the latest baseline dated on or before it began.
  for (const auto& b : baselines) {
    if (b.as_of > at) continue;
    if (!s.baseline) s.baseline = b;
    const bool before = b.as_of <= first_movement;
    const bool cur_before = s.baseline->as_of <= first_movement;
    if ((before && (!cur_before || b.as_of > s.baseline->as_of)) ||
        (!before && !cur_before && b.as_of < s.baseline->as_of))
      s.baseline = b;
  }
  if (s.baseline) {
    s.share_out = static_cast<double>(s.total_out) / static_cast<double>(s.baseline->population);
    add_source(s.baseline->source);
  }
  return s;
}

namespace {
std::string thousands(std::int64_t v) {
  std::string d = std::to_string(v < 0 ? -v : v), o;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) o += ',';
    o += d[i];
  }
  return (v < 0 ? "-" : "") + o;
}
std::string pct(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %%", share * 100.0);
  return b;
}
}  // namespace

std::string summary_text(const MovementSummary& s) {
  std::string o =
      "humanitarian movement up to " + format_day(s.at) + " (figures as reported by their sources)\n";
  if (s.days.empty()) {
    o += "no crossings recorded up to this date (truce import crossings FILE)\n";
  } else {
    char b[256];
    std::snprintf(b, sizeof b, "%-23s %10s %10s %12s %12s %14s\n", "date", "out", "in", "vehicles out",
                  "vehicles in", "cumulative out");
    o += b;
    for (const auto& d : s.days) {
      std::snprintf(b, sizeof b, "%-23s %10s %10s %12s %12s %14s\n",
                    (d.first_day == d.last_day ? format_day(d.first_day)
                                               : format_day(d.first_day) + ".." + format_day(d.last_day))
                        .c_str(),
                    thousands(d.out_people).c_str(), thousands(d.in_people).c_str(),
                    d.vehicles_known ? thousands(d.out_vehicles).c_str() : "-",
                    d.vehicles_known ? thousands(d.in_vehicles).c_str() : "-",
                    thousands(d.cumulative_out).c_str());
      o += b;
    }
    o += "(a row spanning dates is a total reported for the whole period; truce does not split it into "
         "days)\n";
  }
  o += "total: " + thousands(s.total_out) + " out, " + thousands(s.total_in) + " in\n";
  if (s.baseline) {
    o += "baseline: " + thousands(s.baseline->population) + " people in " + s.baseline->area + " as of " +
         format_day(s.baseline->as_of) + "\n";
    o += "departed: " + thousands(s.total_out) + " of " + thousands(s.baseline->population) + " (" +
         pct(*s.share_out) + ") by " + format_day(s.at) + "\n";
  } else {
    o += "baseline: none recorded (truce import baseline FILE)\n";
  }
  for (const auto& src : s.sources) o += "source: " + src + "\n";
  return o;
}

std::string summary_json(const MovementSummary& s) {
  json j;
  j["at"] = format_day(s.at);
  j["rows"] = json::array();
  for (const auto& d : s.days) {
    json r = {{"date", date_or_period(d.first_day, d.last_day)},
              {"period", d.first_day != d.last_day},
              {"out_people", d.out_people},
              {"in_people", d.in_people},
              {"cumulative_out", d.cumulative_out},
              {"cumulative_in", d.cumulative_in}};
    r["out_vehicles"] = d.vehicles_known ? json(d.out_vehicles) : json(nullptr);
    r["in_vehicles"] = d.vehicles_known ? json(d.in_vehicles) : json(nullptr);
    j["rows"].push_back(std::move(r));
  }
  j["total_out"] = s.total_out;
  j["total_in"] = s.total_in;
  if (s.baseline) {
    j["baseline"] = {{"area", s.baseline->area},
                     {"population", s.baseline->population},
                     {"date", format_day(s.baseline->as_of)},
                     {"source", s.baseline->source}};
    j["share_out"] = *s.share_out;
    j["share_out_percent"] = std::round(*s.share_out * 1000.0) / 10.0;
  } else {
    j["baseline"] = nullptr;
    j["share_out"] = nullptr;
  }
  j["sources"] = s.sources;
  return j.dump();
}

}  // namespace truce::agreement
