#include "truce/ingest/ingest.h"

#include <unordered_map>

#include "truce/io/tabular.h"

namespace truce::ingest {

namespace {

bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

Format resolve(Format f, const std::string& path) {
  if (f != Format::kAuto) return f;
  return ends_with(path, ".ndjson") || ends_with(path, ".jsonl") || ends_with(path, ".json") ? Format::kNdjson
                                                                                              : Format::kCsv;
}

std::string describe(const std::string& source, std::int64_t line, const FieldError& e) {
  std::string s = source + ":" + std::to_string(line) + ": ";
  if (!e.field.empty()) s += "field '" + e.field + "': ";
  s += e.reason;
  if (!e.value.empty()) s += " (got \"" + e.value + "\")";
  return s;
}

// Names the first field in which two observations differ, for the conflict report.
FieldError first_difference(const Observation& stored, const Observation& o) {
  auto opt = [](const std::optional<double>& v) { return v ? std::to_string(*v) : std::string(); };
  if (stored.time != o.time) return {"time", format_instant(o.time), "stored " + format_instant(stored.time)};
  if (stored.observer_id != o.observer_id) return {"observer_id", o.observer_id, "stored " + stored.observer_id};
  if (stored.observer_pos != o.observer_pos) return {"observer_lat", "", "stored position differs"};
  if (stored.kind != o.kind) return {"kind", std::string(to_string(o.kind)), "stored " + std::string(to_string(stored.kind))};
  if (stored.bearing_deg != o.bearing_deg) return {"bearing_deg", opt(o.bearing_deg), "stored " + opt(stored.bearing_deg)};
  if (stored.bearing_sigma_deg != o.bearing_sigma_deg) return {"bearing_sigma_deg", opt(o.bearing_sigma_deg), "stored " + opt(stored.bearing_sigma_deg)};
  if (stored.distance_m != o.distance_m) return {"distance_m", opt(o.distance_m), "stored " + opt(stored.distance_m)};
  if (stored.distance_sigma_m != o.distance_sigma_m) return {"distance_sigma_m", opt(o.distance_sigma_m), "stored " + opt(stored.distance_sigma_m)};
  if (stored.count != o.count) return {"count", std::to_string(o.count), "stored " + std::to_string(stored.count)};
  if (stored.direction != o.direction) return {"direction", std::string(to_string(o.direction)), "stored differs"};
  return {"notes", o.notes.substr(0, 60), "stored notes differ"};
}

// The shared loop: open each file, map its header, and hand each row to `handle`, batching
// commits. Handle returns the outcome or the field error that rejects the row.
class Importer {
 public:
  Importer(Store& store, const io::Schema& schema, const Options& opts, Progress* progress)
      : store_(store), schema_(schema), opts_(opts), progress_(progress) {}

  template <typename Handle>
  Result<Summary> run(const std::vector<std::string>& paths, Handle&& handle) {
    std::int64_t total = 0;
    std::vector<std::unique_ptr<io::ByteSource>> sources;
    for (const auto& p : paths) {
      auto src = io::ByteSource::open(p);
      if (!src.ok()) {
        sum_.file_errors.push_back(src.status());
        sources.emplace_back();
        continue;
      }
      total = (total < 0 || (*src)->size() < 0) ? -1 : total + (*src)->size();
      sources.push_back(std::move(src).value());
    }
    std::uint64_t done_before = 0;
    for (auto& src : sources) {
      if (!src) continue;
      auto b = store_.begin();
      if (!b.ok()) return b.status();
      batch_ = std::move(b).value();
      in_batch_ = 0;
      TRUCE_RETURN_IF_ERROR(run_file(*src, handle, done_before, total));
      TRUCE_RETURN_IF_ERROR(batch_->commit());
      batch_.reset();
    }
    if (progress_) progress_->update(done_before, total);
    return sum_;
  }

  WriteBatch& batch() { return *batch_; }
  Summary& summary() { return sum_; }

  Status reject(const std::string& source, const io::Record& rec, const FieldError& e, std::string_view disposition,
                std::string record_id) {
    (disposition == "conflict" ? sum_.conflicts : sum_.rejected)++;
    note(describe(source, rec.line, e));
    Reject r;
    r.what = std::string(schema_.what);
    r.disposition = std::string(disposition);
    r.source = source;
    r.line = rec.line;
    r.field = e.field;
    r.value = e.value;
    r.reason = e.reason;
    r.record_id = std::move(record_id);
    r.raw = std::string(rec.raw);
    return batch_->quarantine(r);
  }

 private:
  void note(std::string msg) {
    if (sum_.messages.size() < opts_.max_messages) sum_.messages.push_back(std::move(msg));
    else ++sum_.more_messages;
  }

  template <typename Handle>
  Status run_file(io::ByteSource& src, Handle& handle, std::uint64_t& done_before, std::int64_t total) {
    const Format fmt = resolve(opts_.format, src.name());
    io::RecordReader reader(src, fmt == Format::kCsv ? io::RecordReader::Mode::kCsv : io::RecordReader::Mode::kLines,
                            opts_.limits);
    io::Record rec;
    Status err;
    io::Row row;
    io::ColumnMap map;
    std::vector<std::string> json_storage;
    std::vector<std::string> ignored;
    bool header_seen = fmt == Format::kNdjson;
    std::int64_t rows_in_file = 0;
    for (std::int64_t n = 0;; ++n) {
      if (progress_ && (n & 4095) == 0) progress_->update(done_before + reader.bytes_consumed(), total);
      const io::ReadResult rr = reader.next(rec, err);
      if (rr == io::ReadResult::kEnd) break;
      if (rr == io::ReadResult::kFatal) {
        sum_.file_errors.push_back(err);
        break;
      }
      if (!header_seen) {
        if (rr == io::ReadResult::kBadRecord) {
          sum_.file_errors.push_back(Status::Invalid("cannot read the header: " + err.message() + "; file skipped",
                                                     Location{src.name(), rec.line, ""}));
          done_before += reader.bytes_consumed();
          return Status::Ok();
        }
        auto m = io::map_header(schema_, rec.fields, src.name());
        if (!m.ok()) {
          sum_.file_errors.push_back(m.status());
          done_before += reader.bytes_consumed();
          return Status::Ok();
        }
        map = std::move(m).value();
        header_seen = true;
        continue;
      }
      ++sum_.read;
      ++rows_in_file;
      if (rr == io::ReadResult::kBadRecord) {
        TRUCE_RETURN_IF_ERROR(reject(src.name(), rec, FieldError{"", "", err.message()}, "rejected", ""));
      } else {
        std::optional<FieldError> fe =
            fmt == Format::kCsv ? io::pick(map, rec, row)
                                : io::pick_json(schema_, rec.fields[0], opts_.limits.max_json_depth, row, json_storage, ignored);
        if (fe) {
          TRUCE_RETURN_IF_ERROR(reject(src.name(), rec, *fe, "rejected", ""));
        } else {
          TRUCE_RETURN_IF_ERROR(handle(*this, src.name(), rec, row, fmt));
        }
      }
      if (++in_batch_ >= opts_.batch_rows) {
        TRUCE_RETURN_IF_ERROR(batch_->commit());
        auto b = store_.begin();
        if (!b.ok()) return b.status();
        batch_ = std::move(b).value();
        in_batch_ = 0;
      }
    }
    if (!header_seen) {
      sum_.file_errors.push_back(Status::Invalid(
          "empty file: expected a header line naming the columns (at least " + required_list() + ")",
          Location{src.name(), 1, ""}));
    } else if (rows_in_file == 0) {
      sum_.warnings.push_back(src.name() + ": no records after the header");
    }
    for (const auto& c : fmt == Format::kCsv ? map.ignored : ignored) {
      sum_.warnings.push_back(src.name() + ": column '" + c + "' is not used by truce and was ignored");
    }
    done_before += reader.bytes_consumed();
    return Status::Ok();
  }

  std::string required_list() const {
    std::string s;
    for (auto r : schema_.required) s += (s.empty() ? "" : ",") + std::string(r);
    return s;
  }

  Store& store_;
  const io::Schema& schema_;
  const Options& opts_;
  Progress* progress_;
  Summary sum_;
  std::unique_ptr<WriteBatch> batch_;
  std::int64_t in_batch_ = 0;
};

const Clock& clock_of(const Options& o) {
  static const SystemClock kSystem;
  return o.clock ? *o.clock : kSystem;
}

}  // namespace

Result<Summary> import_observations(Store& store, const std::vector<std::string>& paths, const Options& opts,
                                    Progress* progress) {
  auto obs = store.observers();
  if (!obs.ok()) return obs.status();
  std::unordered_map<std::string, bool> known;  // observer id -> has a position
  for (const auto& o : *obs) known.emplace(o.id, o.position.has_value());
  const Instant now = clock_of(opts).now();
  Observation o;
  Importer imp(store, io::observation_schema(), opts, progress);
  return imp.run(paths, [&](Importer& im, const std::string& source, const io::Record& rec, const io::Row& row,
                            Format fmt) -> Status {
    if (auto e = io::parse_observation(row, now, o)) return im.reject(source, rec, *e, "rejected", o.id);
    if (!o.observer_pos) {
      auto it = known.find(o.observer_id);
      if (it == known.end() || !it->second) {
        return im.reject(source, rec,
                         FieldError{"observer_id", o.observer_id,
                                    it == known.end()
                                        ? "unknown observer and no observer_lat/observer_lon: register it with "
                                          "`truce import observers` or give its position"
                                        : "observer has no registered position and the row gives none"},
                         "rejected", o.id);
      }
    }
    o.channel = fmt == Format::kCsv ? "csv" : "ndjson";
    o.submitted_by = opts.submitted_by;
    auto out = im.batch().append(o);
    if (!out.ok()) return out.status();
    if (*out == Outcome::kAccepted) {
      ++im.summary().accepted;
    } else if (*out == Outcome::kDuplicate) {
      ++im.summary().duplicates;
    } else {
      auto stored = im.batch().find_observation(o.id);
      if (!stored.ok()) return stored.status();
      FieldError diff = *stored ? first_difference(**stored, o) : FieldError{"", "", ""};
      diff.reason = "conflict: observation " + o.id + " was already accepted with different content (" +
                    diff.reason + "); the new version is kept aside, the stored one is unchanged";
      return im.reject(source, rec, diff, "conflict", o.id);
    }
    return Status::Ok();
  });
}

Result<Summary> import_observers(Store& store, const std::vector<std::string>& paths, const Options& opts,
                                 Progress* progress) {
  Observer o;
  Importer imp(store, io::observer_schema(), opts, progress);
  return imp.run(paths, [&](Importer& im, const std::string& source, const io::Record& rec, const io::Row& row,
                            Format) -> Status {
    if (auto e = io::parse_observer(row, o)) return im.reject(source, rec, *e, "rejected", o.id);
    auto out = im.batch().append(o);
    if (!out.ok()) return out.status();
    if (*out == Outcome::kAccepted) {
      ++im.summary().accepted;
    } else if (*out == Outcome::kDuplicate) {
      ++im.summary().duplicates;
    } else {
      return im.reject(source, rec,
                       FieldError{"observer_id", o.id,
                                  "conflict: observer " + o.id +
                                      " is already registered with a different position, party or type; the "
                                      "registered one is unchanged"},
                       "conflict", o.id);
    }
    return Status::Ok();
  });
}

}  // namespace truce::ingest
