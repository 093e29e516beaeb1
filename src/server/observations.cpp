// Observations in (the JSON API) and out (lists for analysts), observers and rejects.
#include "server/server_impl.h"
#include "truce/core/json_depth.h"

namespace truce::server {

std::optional<json> ServerImpl::parse_body(const Request& req, Response& res) {
  if (json_depth(req.body) > opts_.max_json_depth) {
    send_error(res, 400, "invalid_json",
               "JSON nested deeper than " + std::to_string(opts_.max_json_depth) + " levels");
    return std::nullopt;
  }
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    send_error(res, 400, "invalid_json", "the body is not valid JSON");
    return std::nullopt;
  }
  return j;
}

void ServerImpl::post_observations(const Request& req, Response& res, const Caller& c) {
  const io::Schema& schema = io::observation_schema();
  const Instant t = now();
  io::Row row;
  std::vector<std::string> storage, ignored;
  std::vector<ingest::Submission> subs;
  // One element's row, as either reader gave it, into a submission; false: the answer is sent.
  auto take = [&](std::size_t i, const std::optional<FieldError>& picked) {
    if (picked) {
      subs[i].error = *picked;
      return true;
    }
    Observation o;
    if (auto e = io::parse_observation(row, t, o)) {
      subs[i].error = *e;
      return true;
    }
    if (c.role == "observer" && std::find(c.user->observers.begin(), c.user->observers.end(),
                                          o.observer_id) == c.user->observers.end()) {
      send_error(res, 403, "forbidden",
                 "user " + c.user->name + " may not submit for observer " + o.observer_id + " (item " +
                     std::to_string(i) + ")",
                 "observer_id");
      return false;
    }
    o.channel = "api";
    o.submitted_by = c.user ? c.user->name : "";
    subs[i].obs = std::move(o);
    ingest::prepare(subs[i], t);  // checked and digested here, in parallel, not on the writer
    return true;
  };
  auto too_many = [&] {
    send_error(res, 413, "too_large",
               "at most " + std::to_string(opts_.max_batch) + " observations per request");
  };
  auto empty = [&] {
    send_error(res, 422, "invalid_argument", "expected an observation object or a non-empty array of them");
  };
  if (json_depth(req.body) > opts_.max_json_depth) {
    return send_error(res, 400, "invalid_json",
                      "JSON nested deeper than " + std::to_string(opts_.max_json_depth) + " levels");
  }
  // A batch (a JSON array) is read with simdjson; an element it leaves to the general reader, and
  // any other body, go through nlohmann's tree. Each element is kept as the bytes received, for
  // the quarantine (re-serialising every one cost more than storing it).
  std::size_t count = 0;
  bool stopped = false, split = true;
  std::vector<std::string_view> texts;
  // Only a body that opens an array is offered to it: a single object would be parsed twice.
  const auto first = req.body.find_first_not_of(" \t\r\n");
  bool fast =
      first != std::string::npos && req.body[first] == '[' &&
      io::pick_json_array(schema, req.body, opts_.max_batch, count, row, storage,
                          [&](std::size_t i, bool general, const std::optional<FieldError>& picked) {
                            if (stopped || !split) return;
                            if (i == 0) {
                              texts = io::json_array_elements(req.body);
                              split = texts.size() == count;  // else: the general reader below (never seen)
                              if (!split) return;
                              subs.resize(count);
                            }
                            subs[i].raw = std::string(texts[i].substr(0, 4096));
                            std::optional<FieldError> e = picked;
                            if (general)
                              e = io::pick_json_value(schema, json::parse(texts[i], nullptr, false), row,
                                                      storage, ignored);
                            if (!take(i, e)) stopped = true;
                          });
  if (!split) {
    fast = false;
    subs.clear();
  }
  if (fast) {
    if (stopped) return;
    if (count == 0) return empty();
    if (count > opts_.max_batch) return too_many();
    return store_submissions(std::move(subs), "api", res, false);
  }
  auto body = parse_body(req, res);
  if (!body) return;
  json items = body->is_array()                                      ? *body
               : body->is_object() && body->contains("observations") ? (*body)["observations"]
                                                                     : json::array({*body});
  if (!items.is_array() || items.empty()) return empty();
  if (items.size() > opts_.max_batch) return too_many();
  subs.resize(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    subs[i].raw = items[i].dump(-1, ' ', false, json::error_handler_t::replace);
    if (!take(i, io::pick_json_value(schema, items[i], row, storage, ignored))) return;
  }
  store_submissions(std::move(subs), "api", res, false);
}

void ServerImpl::store_submissions(std::vector<ingest::Submission> subs, const std::string& source,
                                   Response& res, bool openrosa) {
  std::vector<std::string> ids;
  for (const auto& s : subs) ids.push_back(s.obs ? s.obs->id : "");
  // Durable before the answer, in one transaction with whatever other requests came meanwhile.
  auto r = committer_->submit(ingest::SubmissionGroup{std::move(subs), source});
  if (!r.ok()) return send_status(res, r.status());
  using State = ingest::SubmissionResult::State;
  int counts[4] = {0, 0, 0, 0};
  // The results array is written directly (a JSON object per item cost as much as storing it).
  std::string results = "[";
  results.reserve(64 * r->size() + 2);
  const FieldError* first_error = nullptr;
  for (std::size_t i = 0; i < r->size(); ++i) {
    const auto& sr = (*r)[i];
    ++counts[static_cast<int>(sr.state)];
    static constexpr const char* kNames[] = {"accepted", "duplicate", "conflict", "rejected"};
    if (i) results += ',';
    results += "{\"index\":";
    results += std::to_string(i);
    results += ",\"observation_id\":";
    io::append_json_string(results, ids[i]);
    results += ",\"status\":\"";
    results += kNames[static_cast<int>(sr.state)];
    results += '"';
    if (sr.state == State::kConflict || sr.state == State::kRejected) {
      results += ",\"error\":{\"code\":\"";
      results += sr.state == State::kConflict ? "conflict" : "invalid_argument";
      results += "\",\"message\":";
      io::append_json_string(
          results, sr.error.reason + (sr.error.value.empty() ? "" : " (got \"" + sr.error.value + "\")"));
      results += ",\"field\":";
      io::append_json_string(results, sr.error.field);
      results += '}';
      if (!first_error || sr.state == State::kRejected) first_error = &sr.error;
    }
    results += '}';
  }
  results += ']';
  const int accepted = counts[0], dups = counts[1], conflicts = counts[2], rejected = counts[3];
  if (accepted > 0 && live_) live_->notify(accepted);  // fused on the live fuser's thread; nobody waits here
  if (openrosa) {
    if (rejected)
      return openrosa_reply(
          res, 400, "The report was not accepted: " + first_error->field + ": " + first_error->reason);
    if (conflicts)
      return openrosa_reply(res, 409, "A different report with this instanceID was received before.");
    return openrosa_reply(res, 201, dups ? "Already received: thank you." : "Report received: thank you.");
  }
  std::string body = "{\"accepted\":" + std::to_string(accepted) + ",\"duplicates\":" + std::to_string(dups) +
                     ",\"conflicts\":" + std::to_string(conflicts) +
                     ",\"rejected\":" + std::to_string(rejected);
  if (rejected || conflicts) {
    body += ",\"error\":{\"code\":\"";
    body += rejected ? "invalid_argument" : "conflict";
    body += "\",\"message\":";
    io::append_json_string(body, first_error->reason);
    body += ",\"field\":";
    io::append_json_string(body, first_error->field);
    body += '}';
  }
  res.status = rejected ? 422 : conflicts ? 409 : accepted ? 201 : 200;
  body += ",\"results\":";
  body += results;
  body += '}';
  res.set_content(std::move(body), "application/json");
}

void ServerImpl::get_observations(const Request& req, Response& res) {
  ObservationFilter f;
  for (const char* name : {"from", "to"}) {
    if (!req.has_param(name)) continue;
    auto t = parse_instant(req.get_param_value(name));
    if (!t.ok()) return send_error(res, 400, "invalid_argument", t.status().message(), name);
    (std::string_view(name) == "from" ? f.from : f.to) = *t;
  }
  if (req.has_param("observer")) f.observer_id = req.get_param_value("observer");
  if (req.has_param("kind")) {
    auto k = kind_from_string(req.get_param_value("kind"));
    if (!k) return send_error(res, 400, "invalid_argument", "expected one of " + kind_list(), "kind");
    f.kind = *k;
  }
  f.limit = 100;
  if (!int_param(req, res, "limit", 1, 1000, f.limit)) return;
  if (req.has_param("cursor")) {
    const std::string c = req.get_param_value("cursor");
    const auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), f.after_seq);
    if (c.empty() || ec != std::errc() || end != c.data() + c.size() || f.after_seq < 0) {
      return send_error(res, 400, "invalid_argument", "expected the next_cursor of an earlier page",
                        "cursor");
    }
  }
  json items = json::array();
  std::int64_t last = 0;
  Status st;
  {
    std::lock_guard lk(store_mu_);
    st = store_->scan_observations(f, [&](const StoredObservation& so) {
      items.push_back(observation_json(so));
      last = so.seq;
      return true;
    });
  }
  if (!st.ok()) return send_status(res, st);
  json body = {{"items", items},
               {"next_cursor", static_cast<std::int64_t>(items.size()) == f.limit ? json(std::to_string(last))
                                                                                  : json(nullptr)}};
  res.set_content(body.dump(), "application/json");
}

void ServerImpl::get_observers(Response& res) {
  Result<std::vector<Observer>> obs = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    obs = store_->observers();
  }
  if (!obs.ok()) return send_status(res, obs.status());
  json features = json::array();
  for (const auto& o : *obs) {
    json f = {{"type", "Feature"},
              {"properties", {{"id", o.id}, {"party", o.party}, {"type", to_string(o.type)}}},
              {"geometry", nullptr}};
    if (o.position) f["geometry"] = {{"type", "Point"}, {"coordinates", {o.position->lon, o.position->lat}}};
    features.push_back(f);
  }
  res.set_content(json({{"type", "FeatureCollection"}, {"features", features}}).dump(),
                  "application/geo+json");
}

void ServerImpl::get_rejects(const Request& req, Response& res) {
  std::int64_t limit = 100;
  if (!int_param(req, res, "limit", 1, 1000, limit)) return;
  json items = json::array();
  Status st;
  {
    std::lock_guard lk(store_mu_);
    st = store_->scan_rejects([&](const Reject& r) {
      items.push_back({{"seq", r.seq},
                       {"what", r.what},
                       {"disposition", r.disposition},
                       {"source", r.source},
                       {"line", r.line},
                       {"field", r.field},
                       {"value", r.value},
                       {"reason", r.reason},
                       {"record_id", r.record_id},
                       {"at", format_instant(r.at)}});
      return static_cast<std::int64_t>(items.size()) < limit;
    });
  }
  if (!st.ok()) return send_status(res, st);
  res.set_content(json({{"items", items}}).dump(), "application/json");
}

json observation_json(const StoredObservation& so) {
  const Observation& o = so.obs;
  json j = {{"seq", so.seq},
            {"observation_id", o.id},
            {"time", format_instant(o.time)},
            {"observer_id", o.observer_id},
            {"kind", to_string(o.kind)},
            {"count", o.count},
            {"channel", o.channel}};
  j["observer_lat"] = o.observer_pos ? json(o.observer_pos->lat) : json(nullptr);
  j["observer_lon"] = o.observer_pos ? json(o.observer_pos->lon) : json(nullptr);
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  j["bearing_deg"] = opt(o.bearing_deg);
  j["bearing_sigma_deg"] = opt(o.bearing_sigma_deg);
  j["distance_m"] = opt(o.distance_m);
  j["distance_sigma_m"] = opt(o.distance_sigma_m);
  j["direction"] = o.direction == Direction::kUnknown ? json(nullptr) : json(to_string(o.direction));
  j["notes"] = o.notes;
  return j;
}

}  // namespace truce::server
