#include "truce/ingest/ingest.h"

#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

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
  auto opt = [](const std::optional<double>& v) {
    if (!v) return std::string();
    char b[32];
    auto r = std::to_chars(b, b + sizeof b, *v);
    return std::string(b, r.ptr);
  };
  if (stored.time != o.time) return {"time", format_instant(o.time), "stored " + format_instant(stored.time)};
  if (stored.observer_id != o.observer_id)
    return {"observer_id", o.observer_id, "stored " + stored.observer_id};
  if (stored.observer_pos != o.observer_pos) return {"observer_lat", "", "stored position differs"};
  if (stored.kind != o.kind) {
    return {"kind", std::string(to_string(o.kind)), "stored " + std::string(to_string(stored.kind))};
  }
  if (stored.bearing_deg != o.bearing_deg)
    return {"bearing_deg", opt(o.bearing_deg), "stored " + opt(stored.bearing_deg)};
  if (stored.bearing_sigma_deg != o.bearing_sigma_deg) {
    return {"bearing_sigma_deg", opt(o.bearing_sigma_deg), "stored " + opt(stored.bearing_sigma_deg)};
  }
  if (stored.distance_m != o.distance_m)
    return {"distance_m", opt(o.distance_m), "stored " + opt(stored.distance_m)};
  if (stored.distance_sigma_m != o.distance_sigma_m) {
    return {"distance_sigma_m", opt(o.distance_sigma_m), "stored " + opt(stored.distance_sigma_m)};
  }
  if (stored.count != o.count)
    return {"count", std::to_string(o.count), "stored " + std::to_string(stored.count)};
  if (stored.direction != o.direction)
    return {"direction", std::string(to_string(o.direction)), "stored differs"};
  return {"notes", o.notes.substr(0, 60), "stored notes differ"};
}

using KnownObservers =
    std::unordered_map<std::string, bool>;  // observer id -> has a position (ObserverCache)

Result<KnownObservers> known_observers(Store& store) {
  auto obs = store.observers();
  if (!obs.ok()) return obs.status();
  KnownObservers known;
  for (const auto& o : *obs) known.emplace(o.id, o.position.has_value());
  return known;
}

// The registration rule: a report needs a position, its own or its observer's.
std::optional<FieldError> check_observer(const KnownObservers& known, const Observation& o) {
  if (o.observer_pos) return std::nullopt;
  auto it = known.find(o.observer_id);
  if (it == known.end()) {
    return FieldError{"observer_id", o.observer_id,
                      "unknown observer and no observer_lat/observer_lon: register it with `truce import "
                      "observers` or give its position"};
  }
  if (!it->second) {
    return FieldError{"observer_id", o.observer_id,
                      "observer has no registered position and the row gives none"};
  }
  return std::nullopt;
}

// Explains a conflict: which field differs from the stored version.
Result<FieldError> conflict_error(WriteBatch& batch, const Observation& o) {
  auto stored = batch.find_observation(o.id);
  if (!stored.ok()) return stored.status();
  FieldError diff = *stored ? first_difference(**stored, o) : FieldError{};
  diff.reason = "conflict: observation " + o.id + " was already accepted with different content (" +
                diff.reason + "); the new version is kept aside, the stored one is unchanged";
  return diff;
}

// One row after parsing: the value, or why it was rejected.
template <typename T>
struct Item {
  std::variant<T, FieldError> v;
  std::int64_t line = 0;
  std::string raw;     // kept only for rejects
  std::string rec_id;  // id of a rejected record, when known
  Digest digest{};     // content digest of the value (observations), computed on the producer
};

template <typename T>
struct Chunk {
  std::vector<Item<T>> items;
  const std::string* source = nullptr;  // file name; lives as long as the import
  bool end_of_file = false;
};

// A bounded single-producer single-consumer queue of chunks.
template <typename T>
class ChunkQueue {
 public:
  void push(Chunk<T> c) {
    std::unique_lock lk(mu_);
    not_full_.wait(lk, [&] { return q_.size() < kMax || closed_; });
    if (closed_) return;
    q_.push_back(std::move(c));
    not_empty_.notify_one();
  }
  bool pop(Chunk<T>& out) {
    std::unique_lock lk(mu_);
    not_empty_.wait(lk, [&] { return !q_.empty() || done_; });
    if (q_.empty()) return false;
    out = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void finish() {  // producer: no more chunks
    std::lock_guard lk(mu_);
    done_ = true;
    not_empty_.notify_all();
  }
  void close() {  // consumer: stop accepting (after a store failure)
    std::lock_guard lk(mu_);
    closed_ = true;
    not_full_.notify_all();
  }

 private:
  static constexpr std::size_t kMax = 16;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Chunk<T>> q_;
  bool done_ = false, closed_ = false;
};

// Reads files on a producer thread (read, split, parse, validate) while the calling thread
// writes to the store, committing every batch_rows rows and at the end of each file.
// Parse: (const io::Row&, Format, T&, Digest&) -> std::optional<FieldError>; runs on the producer thread.
// Store: (WriteBatch&, const std::string& source, Item<T>&) -> Status; runs on the calling thread.
template <typename T>
class Importer {
 public:
  Importer(Store& store, const io::Schema& schema, const Options& opts, Progress* progress)
      : store_(store), schema_(schema), opts_(opts), progress_(progress) {}

  Summary& summary() { return sum_; }
  // Counts an accepted or duplicate record; true means a conflict, for the caller to quarantine.
  bool tally_is_conflict(Outcome o) {
    if (o == Outcome::kAccepted) ++sum_.accepted;
    if (o == Outcome::kDuplicate) ++sum_.duplicates;
    return o == Outcome::kConflict;
  }

  template <typename Parse, typename StoreFn>
  Result<Summary> run(const std::vector<std::string>& paths, Parse parse, StoreFn store_fn) {
    std::vector<std::unique_ptr<io::ByteSource>> sources;
    std::int64_t total = 0;
    for (const auto& p : paths) {
      auto src = io::ByteSource::open(p);
      if (!src.ok()) {
        sum_.file_errors.push_back(src.status());
        continue;
      }
      total = (total < 0 || (*src)->size() < 0) ? -1 : total + (*src)->size();
      sources.push_back(std::move(src).value());
    }
    ChunkQueue<T> queue;
    std::thread producer([&] {
      std::uint64_t done_before = 0;
      for (auto& src : sources) produce(*src, parse, queue, done_before, total);
      if (progress_) progress_->update(done_before, total);
      queue.finish();
    });
    Status st = consume(queue, store_fn);
    if (!st.ok()) queue.close();
    // Drain so the producer can finish after a failure.
    Chunk<T> sink;
    while (queue.pop(sink)) {
    }
    producer.join();
    for (auto& e : producer_file_errors_) sum_.file_errors.push_back(std::move(e));
    for (auto& w : producer_warnings_) sum_.warnings.push_back(std::move(w));
    if (!st.ok()) return st;
    return sum_;
  }

  Status reject(WriteBatch& batch, const std::string& source, std::int64_t line, const FieldError& e,
                std::string_view disposition, std::string record_id, std::string raw) {
    (disposition == "conflict" ? sum_.conflicts : sum_.rejected)++;
    if (sum_.messages.size() < opts_.max_messages) {
      sum_.messages.push_back(describe(source, line, e));
    } else {
      ++sum_.more_messages;
    }
    Reject r;
    r.what = std::string(schema_.what);
    r.disposition = std::string(disposition);
    r.source = source;
    r.line = line;
    r.field = e.field;
    r.value = e.value;
    r.reason = e.reason;
    r.record_id = std::move(record_id);
    r.raw = std::move(raw);
    return batch.quarantine(r);
  }

 private:
  template <typename StoreFn>
  Status consume(ChunkQueue<T>& queue, StoreFn& store_fn) {
    std::unique_ptr<WriteBatch> batch;
    std::int64_t in_batch = 0;
    Chunk<T> c;
    while (queue.pop(c)) {
      if (!batch) {
        auto b = store_.begin();
        if (!b.ok()) return b.status();
        batch = std::move(b).value();
      }
      for (auto& item : c.items) {
        if (!batch) {
          auto b = store_.begin();
          if (!b.ok()) return b.status();
          batch = std::move(b).value();
        }
        ++sum_.read;
        if (auto* fe = std::get_if<FieldError>(&item.v)) {
          TRUCE_RETURN_IF_ERROR(
              reject(*batch, *c.source, item.line, *fe, "rejected", item.rec_id, std::move(item.raw)));
        } else {
          TRUCE_RETURN_IF_ERROR(store_fn(*batch, *c.source, item));
        }
        if (++in_batch >= opts_.batch_rows) {
          TRUCE_RETURN_IF_ERROR(batch->commit());
          batch.reset();
          in_batch = 0;
        }
      }
      if (batch && c.end_of_file) {
        TRUCE_RETURN_IF_ERROR(batch->commit());
        batch.reset();
        in_batch = 0;
      }
    }
    if (batch) TRUCE_RETURN_IF_ERROR(batch->commit());
    return Status::Ok();
  }

  template <typename Parse>
  void produce(io::ByteSource& src, Parse& parse, ChunkQueue<T>& queue, std::uint64_t& done_before,
               std::int64_t total) {
    constexpr std::size_t kChunk = 2048;
    const Format fmt = resolve(opts_.format, src.name());
    io::RecordReader reader(
        src, fmt == Format::kCsv ? io::RecordReader::Mode::kCsv : io::RecordReader::Mode::kLines,
        opts_.limits);
    sources_.push_back(src.name());
    const std::string* source = &sources_.back();
    io::Record rec;
    Status err;
    io::Row row;
    io::ColumnMap map;
    std::vector<std::string> json_storage;
    std::vector<std::string> ignored;
    bool header_seen = fmt == Format::kNdjson;
    std::int64_t rows = 0;
    Chunk<T> chunk;
    chunk.source = source;
    chunk.items.reserve(kChunk);
    auto flush = [&](bool eof) {
      chunk.end_of_file = eof;
      queue.push(std::move(chunk));
      chunk = Chunk<T>();
      chunk.source = source;
      chunk.items.reserve(kChunk);
    };
    for (std::int64_t n = 0;; ++n) {
      if (progress_ && (n & 4095) == 0) progress_->update(done_before + reader.bytes_consumed(), total);
      const io::ReadResult rr = reader.next(rec, err);
      if (rr == io::ReadResult::kEnd) break;
      if (rr == io::ReadResult::kFatal) {
        producer_file_errors_.push_back(err);
        break;
      }
      if (!header_seen) {
        if (rr == io::ReadResult::kBadRecord) {
          producer_file_errors_.push_back(
              Status::Invalid("cannot read the header: " + err.message() + "; file skipped",
                              Location{src.name(), rec.line, ""}));
          done_before += reader.bytes_consumed();
          return;
        }
        auto m = io::map_header(schema_, rec.fields, src.name());
        if (!m.ok()) {
          producer_file_errors_.push_back(m.status());
          done_before += reader.bytes_consumed();
          return;
        }
        map = std::move(m).value();
        header_seen = true;
        continue;
      }
      ++rows;
      Item<T>& item = chunk.items.emplace_back();
      item.line = rec.line;
      std::optional<FieldError> fe;
      if (rr == io::ReadResult::kBadRecord) {
        fe = FieldError{"", "", err.message()};
      } else {
        fe = fmt == Format::kCsv ? io::pick(map, rec, row)
                                 : io::pick_json(schema_, rec.fields[0], opts_.limits.max_json_depth, row,
                                                 json_storage, ignored);
        if (!fe) {
          item.v = T{};
          fe = parse(row, fmt, std::get<T>(item.v), item.digest);
        }
      }
      if (fe) {
        if (auto* t = std::get_if<T>(&item.v)) item.rec_id = t->id;
        item.v = std::move(*fe);
        item.raw.assign(rec.raw.substr(0, 4096));
      }
      if (chunk.items.size() >= kChunk) flush(false);
    }
    flush(true);
    if (!header_seen) {
      producer_file_errors_.push_back(Status::Invalid(
          "empty file: expected a header line naming the columns (at least " + required_list() + ")",
          Location{src.name(), 1, ""}));
    } else if (rows == 0) {
      producer_warnings_.push_back(src.name() + ": no records after the header");
    }
    for (const auto& c : fmt == Format::kCsv ? map.ignored : ignored) {
      producer_warnings_.push_back(src.name() + ": column '" + c + "' is not used by truce and was ignored");
    }
    done_before += reader.bytes_consumed();
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
  std::deque<std::string> sources_;  // stable addresses for Chunk::source
  std::vector<Status> producer_file_errors_;
  std::vector<std::string> producer_warnings_;
};

const Clock& clock_of(const Options& o) {
  static const SystemClock kSystem;
  return o.clock ? *o.clock : kSystem;
}

}  // namespace

Result<Summary> import_observations(Store& store, const std::vector<std::string>& paths, const Options& opts,
                                    Progress* progress) {
  auto known_r = known_observers(store);
  if (!known_r.ok()) return known_r.status();
  const KnownObservers& known = *known_r;  // read-only on the producer thread
  const Instant now = clock_of(opts).now();
  Importer<Observation> imp(store, io::observation_schema(), opts, progress);
  auto parse = [&](const io::Row& row, Format fmt, Observation& o,
                   Digest& digest) -> std::optional<FieldError> {
    if (auto e = io::parse_observation(row, now, o)) return e;
    if (auto e = check_observer(known, o)) return e;
    o.channel = fmt == Format::kCsv ? "csv" : "ndjson";
    o.submitted_by = opts.submitted_by;
    digest = content_digest(canonical_content(o));
    return std::nullopt;
  };
  auto store_fn = [&](WriteBatch& batch, const std::string& source, Item<Observation>& item) -> Status {
    const Observation& o = std::get<Observation>(item.v);
    auto out = batch.append(o, item.digest);
    if (!out.ok()) return out.status();
    if (!imp.tally_is_conflict(*out)) return Status::Ok();
    auto diff = conflict_error(batch, o);
    if (!diff.ok()) return diff.status();
    return imp.reject(batch, source, item.line, *diff, "conflict", o.id, canonical_content(o));
  };
  return imp.run(paths, parse, store_fn);
}

namespace {
// A report may correct only a report that was received, and only one of the same observer: else a
// submitter could take another observer's report out of fusion.
Result<std::optional<FieldError>> check_supersedes(WriteBatch& batch, const Observation& o) {
  auto old = batch.find_observation(o.supersedes);
  if (!old.ok()) return old.status();
  if (!*old) {
    return std::optional<FieldError>(
        FieldError{"supersedes", o.supersedes,
                   "expected the id of a report received before; there is none with this id"});
  }
  if ((*old)->observer_id != o.observer_id) {
    return std::optional<FieldError>(FieldError{"supersedes", o.supersedes,
                                                "expected a report of observer " + o.observer_id +
                                                    "; it is a report of observer " + (*old)->observer_id});
  }
  return std::optional<FieldError>();
}
}  // namespace

Status ObserverCache::reload(Store& store) {
  auto k = known_observers(store);
  if (!k.ok()) return k.status();
  known_ = std::move(k).value();
  loaded_ = true;
  return Status::Ok();
}

Result<std::vector<std::vector<SubmissionResult>>> submit_observation_groups(
    Store& store, std::vector<SubmissionGroup> groups, const Options& opts, ObserverCache* cache) {
  using State = SubmissionResult::State;
  ObserverCache local;
  if (!cache) cache = &local;
  bool reloaded = false;
  if (!cache->loaded()) {
    TRUCE_RETURN_IF_ERROR(cache->reload(store));
    reloaded = true;
  }
  const Instant now = clock_of(opts).now();
  auto b = store.begin();
  if (!b.ok()) return b.status();
  WriteBatch& batch = **b;
  std::vector<std::vector<SubmissionResult>> all(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& items = groups[g].items;
    const std::string& source = groups[g].source;
    std::vector<SubmissionResult>& out = all[g];
    out.resize(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      Submission& it = items[i];
      SubmissionResult& r = out[i];
      std::optional<FieldError> fe;
      if (!it.obs || (it.prepared && !it.content)) {
        fe = it.error;
      } else {
        if (!it.prepared) fe = validate(*it.obs, now);
        if (!fe) fe = check_observer(cache->known(), *it.obs);
        if (fe && fe->field == "observer_id" && !reloaded) {
          // Registered since the cache was read (by `truce import observers`, say)?
          TRUCE_RETURN_IF_ERROR(cache->reload(store));
          reloaded = true;
          fe = check_observer(cache->known(), *it.obs);
        }
        if (!fe && !it.obs->supersedes.empty()) {
          auto e = check_supersedes(batch, *it.obs);
          if (!e.ok()) return e.status();
          fe = *e;
        }
      }
      if (!fe) {
        auto res = it.content ? batch.append(*it.obs, *it.content) : batch.append(*it.obs);
        if (!res.ok()) return res.status();
        if (*res == Outcome::kAccepted) {
          r.state = State::kAccepted;
          continue;
        }
        if (*res == Outcome::kDuplicate) {
          r.state = State::kDuplicate;
          continue;
        }
        auto diff = conflict_error(batch, *it.obs);
        if (!diff.ok()) return diff.status();
        r.state = State::kConflict;
        r.error = *diff;
      } else {
        r.state = State::kRejected;
        r.error = *fe;
      }
      Reject rj;
      rj.what = "observation";
      rj.disposition = r.state == State::kConflict ? "conflict" : "rejected";
      rj.source = source;
      rj.line = static_cast<std::int64_t>(i) + 1;  // the item's place in its own request
      rj.field = r.error.field;
      rj.value = r.error.value;
      rj.reason = r.error.reason;
      rj.record_id = it.obs ? it.obs->id : std::string();
      rj.raw = std::move(it.raw);
      TRUCE_RETURN_IF_ERROR(batch.quarantine(rj));
    }
  }
  TRUCE_RETURN_IF_ERROR(batch.commit());
  return all;
}

void prepare(Submission& s, Instant now) {
  s.prepared = true;
  s.content.reset();
  if (!s.obs) return;
  if (auto fe = validate(*s.obs, now)) {
    s.error = *fe;
    return;
  }
  s.content = content_digest(canonical_content(*s.obs));
}

Result<std::vector<SubmissionResult>> submit_observations(Store& store, std::vector<Submission> items,
                                                          const std::string& source, const Options& opts) {
  std::vector<SubmissionGroup> one(1);
  one[0].items = std::move(items);
  one[0].source = source;
  auto r = submit_observation_groups(store, std::move(one), opts);
  if (!r.ok()) return r.status();
  return std::move((*r)[0]);
}

Result<Summary> import_observers(Store& store, const std::vector<std::string>& paths, const Options& opts,
                                 Progress* progress) {
  Importer<Observer> imp(store, io::observer_schema(), opts, progress);
  auto parse = [](const io::Row& row, Format, Observer& o, Digest&) { return io::parse_observer(row, o); };
  auto store_fn = [&](WriteBatch& batch, const std::string& source, Item<Observer>& item) -> Status {
    const Observer& o = std::get<Observer>(item.v);
    auto out = batch.append(o);
    if (!out.ok()) return out.status();
    if (!imp.tally_is_conflict(*out)) return Status::Ok();
    return imp.reject(batch, source, item.line,
                      FieldError{"observer_id", o.id,
                                 "conflict: observer " + o.id +
                                     " is already registered with a different position, party or type; the "
                                     "registered one is unchanged"},
                      "conflict", o.id, "");
  };
  return imp.run(paths, parse, store_fn);
}

}  // namespace truce::ingest
