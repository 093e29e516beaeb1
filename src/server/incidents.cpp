// Incidents: lists, one incident with its history, reviews, and the live change feed.
#include "server/server_impl.h"
#include "truce/report/public_view.h"

namespace truce::server {

Result<std::optional<StoredIncident>> find_incident(Store& store, const std::string& id) {
  IncidentFilter f;
  f.id = id;
  std::optional<StoredIncident> found;
  Status st = store.scan_incidents(f, [&](const StoredIncident& si) {
    found = si;
    return false;
  });
  if (!st.ok()) return st;
  return found;
}

std::string ServerImpl::public_id(const std::string& id) const {
  return "pub-" + sha256_hex(public_id_key_ + id).substr(0, 24);
}

std::shared_ptr<const std::map<std::string, std::string>> ServerImpl::rule_titles() {
  Result<std::optional<std::string>> doc = Status::Internal("");
  {
    std::lock_guard lk(store_mu_);
    doc = store_->document("agreement");
  }
  const std::size_t key = doc.ok() && *doc ? std::hash<std::string>{}(**doc) : 0;
  std::lock_guard lk(titles_mu_);
  if (titles_ && key == titles_key_) return titles_;
  auto titles = std::make_shared<std::map<std::string, std::string>>();
  if (doc.ok() && *doc) {
    if (auto a = agreement::parse_agreement(**doc, "agreement (mission database)"); a.ok()) {
      for (const auto& r : a->rules) (*titles)[r.id] = r.title;
    }
  }
  titles_ = titles;
  titles_key_ = key;
  return titles_;
}

json ServerImpl::incident_json(const StoredIncident& si, const IncidentReview& rv, const Caller& c,
                               const std::map<std::string, std::string>* titles) const {
  json j = json::parse(si.content, nullptr, false);
  if (j.is_discarded() || !j.is_object()) j = json::object();
  j["id"] = si.id;
  j["version"] = si.version;
  j["review_version"] = rv.version;
  if (!rv.status.empty()) j["status"] = rv.status;
  if (c.role == "public") {
    // Nothing finer than the public grid: no observations or posts, no ellipse, the origin on
    // the grid, the distance to the line in whole kilometres (as the public report says it),
    // times to the minute, an id that is not made of observation ids, and rules by title.
    j["id"] = public_id(si.id);
    j.erase("observations");
    j.erase("sector");
    j.erase("ellipse");
    if (j.contains("lat") && j["lat"].is_number() && j.contains("lon") && j["lon"].is_number()) {
      const LatLon p = report::public_view::on_grid(LatLon{j["lat"].get<double>(), j["lon"].get<double>()},
                                                    opts_.public_grid_deg);
      j["lat"] = p.lat;
      j["lon"] = p.lon;
    } else {
      j.erase("lat");
      j.erase("lon");
    }
    if (auto d = j.find("distance_to_loc_m"); d != j.end()) {
      if (d->is_number()) j["distance_to_loc_km"] = report::public_view::whole_km(d->get<double>());
      j.erase("distance_to_loc_m");
    }
    for (const char* k : {"start", "end"}) {
      if (j.contains(k) && j[k].is_string()) {
        if (auto t = parse_instant(j[k].get<std::string>()); t.ok()) {
          j[k] = format_instant(report::public_view::to_minute(*t));
        }
      }
    }
    if (auto v = j.find("violations"); v != j.end() && v->is_array()) {
      json out = json::array();
      for (const auto& x : *v) {
        if (!x.is_object() || !x.contains("rule") || !x["rule"].is_string()) continue;
        const std::string rule = x["rule"].get<std::string>();
        const auto t = titles ? titles->find(rule) : std::map<std::string, std::string>::const_iterator{};
        out.push_back({{"rule", rule}, {"title", titles && t != titles->end() ? t->second : rule}});
      }
      *v = std::move(out);
    }
  } else if (c.role == "observer") {
    // An observer sees no analysts' notes and no other post's position (a sector's apex is one).
    j.erase("sector");
  } else {
    j["notes"] = rv.notes;
  }
  return j;
}

// A page of incidents in start order. Pages are bounded (limit 1..5000, 1000 when not given) and
// read on a connection of their own, so a large page holds up no write; next_cursor, when not
// null, is the `cursor` of the next page.
void ServerImpl::get_incidents(const Request& req, Response& res, const Caller& c) {
  IncidentQuery q;
  if (!parse_incident_query(req, res, q)) return;
  std::int64_t limit = 1000;
  if (!int_param(req, res, "limit", 1, kMaxIncidentPage, limit)) return;
  // The cursor is "<start ms>.<k>": the page goes on after the first k incidents (in store
  // order, matching or not) that start at that millisecond. It names no incident, so the public
  // view's cursors give nothing away.
  std::int64_t cursor_ms = 0, skip = 0;
  if (req.has_param("cursor")) {
    const std::string cur = req.get_param_value("cursor");
    const auto dot = cur.find('.');
    const char* b = cur.data();
    const auto [e1, ec1] = std::from_chars(b, b + std::min(dot, cur.size()), cursor_ms);
    const auto [e2, ec2] = dot == std::string::npos ? std::from_chars_result{b, std::errc::invalid_argument}
                                                    : std::from_chars(b + dot + 1, b + cur.size(), skip);
    if (dot == std::string::npos || ec1 != std::errc() || e1 != b + dot || ec2 != std::errc() ||
        e2 != b + cur.size() || skip < 0) {
      return send_error(res, 400, "invalid_argument", "cursor: expected the next_cursor of an earlier page",
                        "cursor");
    }
    q.f.starting_at = Instant{cursor_ms};
  }
  const auto titles = c.role == "public" ? rule_titles() : nullptr;
  auto reader = readers_.acquire();
  if (!reader.ok()) return send_status(res, reader.status());
  // Staff and observers' pages are made of cached renderings when the store's own filter is the
  // whole filter; the public view (rule titles) and filters on content render every incident.
  const bool cacheable = c.role != "public" && q.statuses.empty() && q.rules.empty() && q.kinds.size() <= 1 &&
                         q.parties.size() <= 1;
  if (cacheable) q.f.with_content = q.f.with_observations = false;
  std::string body = "{\"items\":[";
  std::int64_t n = 0, last_ms = 0, at_last_ms = 0;
  Status st = (*reader)->scan_incidents(q.f, [&](const StoredIncident& si) {
    if (si.start.ms == cursor_ms && skip > 0) {
      --skip;
      last_ms = cursor_ms;
      ++at_last_ms;
      return true;
    }
    if (si.start.ms != last_ms) last_ms = si.start.ms, at_last_ms = 0;
    ++at_last_ms;
    auto rv = (*reader)->incident_review(si.id);
    const IncidentReview review = rv.ok() ? *rv : IncidentReview{};
    if (cacheable) {
      // An incident's version and its review's version name its rendering for good.
      const std::string key = (c.role == "observer" ? "o:" : "s:") + si.id + '\0' +
                              std::to_string(si.version) + '.' + std::to_string(review.version);
      auto hit = renders_.get(key);
      if (!hit) {
        // The scan read only the indexed columns: the content and links of this one, then.
        auto full = find_incident(**reader, si.id);
        if (!full.ok() || !*full) return true;  // retired since the scan began
        hit = std::make_shared<const std::string>(
            incident_json(**full, review, c, nullptr).dump(-1, ' ', false, json::error_handler_t::replace));
        renders_.put(key, hit);
      }
      if (n) body += ',';
      body += *hit;
      return ++n < limit;
    }
    json j = incident_json(si, review, c, titles.get());
    if (!q.matches(j)) return true;
    if (n) body += ',';
    body += j.dump(-1, ' ', false, json::error_handler_t::replace);
    return ++n < limit;
  });
  readers_.release(std::move(reader).value());
  if (!st.ok()) return send_status(res, st);
  body += "],\"next_cursor\":";
  body += n == limit ? "\"" + std::to_string(last_ms) + "." + std::to_string(at_last_ms) + "\""
                     : std::string("null");
  body += "}";
  res.set_content(std::move(body), "application/json");
}

void ServerImpl::get_incident(const Request& req, Response& res, const Caller& c) {
  const std::string asked = req.matches[1];
  const bool is_public = c.role == "public", is_staff = c.role == "analyst" || c.role == "admin";
  const auto titles = is_public ? rule_titles() : nullptr;
  std::lock_guard lk(store_mu_);
  std::string id = asked;
  if (is_public) {
    // Public ids are opaque: find the incident whose public id was asked for.
    auto cur = store_->incident_cursor();
    if (!cur.ok()) return send_status(res, cur.status());
    if (public_ids_versions_ != cur->versions) {
      public_ids_.clear();
      IncidentFilter all;
      all.with_content = false;
      all.with_observations = false;
      Status st = store_->scan_incidents(all, [&](const StoredIncident& si) {
        public_ids_.emplace(public_id(si.id), si.id);
        return true;
      });
      if (!st.ok()) return send_status(res, st);
      public_ids_versions_ = cur->versions;
    }
    auto hit = public_ids_.find(asked);
    if (hit == public_ids_.end()) return send_error(res, 404, "not_found", "no incident " + asked);
    id = hit->second;
  }
  auto found = find_incident(*store_, id);
  if (!found.ok()) return send_status(res, found.status());
  if (!*found) return send_error(res, 404, "not_found", "no incident " + asked);
  auto rv = store_->incident_review(id);
  json out = incident_json(**found, rv.ok() ? *rv : IncidentReview{}, c, titles.get());
  if (!is_public) {
    // A read-only look-up of each fused observation (the batch is rolled back, never committed).
    // An observer sees the reports of its own posts only.
    json obs = json::array();
    if (auto batch = store_->begin(); batch.ok()) {
      for (const auto& oid : (*found)->observation_ids) {
        auto o = (*batch)->find_observation(oid);
        if (!o.ok() || !*o) continue;
        if (!is_staff && (!c.user || std::find(c.user->observers.begin(), c.user->observers.end(),
                                               (*o)->observer_id) == c.user->observers.end())) {
          continue;
        }
        obs.push_back(observation_json(StoredObservation{0, **o}));
      }
    }
    out["observation_details"] = obs;
    json versions = json::array();
    if (auto h = store_->incident_history(id); h.ok()) {
      for (const auto& v : *h)
        versions.push_back({{"version", v.version}, {"at", format_instant(v.at)}, {"change", v.change}});
    }
    json reviews = json::array();
    if (auto h = store_->review_history(id); h.ok()) {
      for (const auto& r : *h) {
        json one = {{"version", r.version}, {"status", r.status}, {"by", r.by}, {"at", format_instant(r.at)}};
        if (is_staff) one["notes"] = r.notes;
        reviews.push_back(std::move(one));
      }
    }
    out["history"] = versions;
    out["reviews"] = reviews;
  }
  res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void ServerImpl::get_events(const Request& req, Response& res, const Caller& c) {
  std::int64_t after = events_.last_id();
  const std::string last = req.get_header_value("Last-Event-ID");
  if (!last.empty()) {
    char* end = nullptr;
    const long long v = std::strtoll(last.c_str(), &end, 10);
    if (*end != '\0' || v < 0)
      return send_error(res, 400, "invalid_argument", "Last-Event-ID: expected an event id", "Last-Event-ID");
    after = v > events_.last_id() ? events_.last_id() : v;  // ids from before a restart start over
  }
  const int limit = std::max(1, opts_.max_event_streams);
  if (streams_.fetch_add(1) >= limit) {
    --streams_;
    res.set_header("Retry-After", "5");
    return send_error(res, 503, "busy",
                      "too many open event streams (" + std::to_string(limit) + "); retry later");
  }
  res.status = 200;
  res.set_header("Content-Type", "text/event-stream");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto stream = std::make_shared<ResponseStream>();
  stream->interval = std::chrono::milliseconds(100);
  struct Cursor {
    std::int64_t after;
    bool first = true;
    std::chrono::steady_clock::time_point last_write{};
  };
  auto cur = std::make_shared<Cursor>(Cursor{after});
  // Runs on the engine's I/O thread: never waits (a zero timeout), at most 1,000 events a tick, and
  // a comment at least every second (a write is how a client that has gone is noticed).
  stream->poll = [this, cur, is_public = c.role == "public"](bool& done) {
    std::string out;
    if (cur->first) {
      cur->first = false;
      out = "retry: 2000\n: truce events\n\n";
    }
    if (closing_ || events_.closed()) {
      done = true;
      return out;
    }
    bool gap = false;
    auto batch = events_.wait_after(cur->after, std::chrono::milliseconds(0), 1000, &gap);
    if (gap) out += "event: reset\ndata: {}\n\n";  // fell too far behind: reload everything
    for (auto& e : batch) {
      if (is_public) e.incident = public_id(e.incident);  // the ids the public routes show
      out += sse_frame(e);
      cur->after = e.id;
    }
    const auto now = std::chrono::steady_clock::now();
    if (out.empty() && now - cur->last_write >= std::chrono::seconds(1)) out = ":\n";
    if (!out.empty()) cur->last_write = now;
    return out;
  };
  stream->close = [this] { --streams_; };
  res.stream = std::move(stream);
}

void ServerImpl::patch_incident(const Request& req, Response& res, const Caller& c) {
  const std::string id = req.matches[1];
  auto body = parse_body(req, res);
  if (!body) return;
  if (!body->is_object()) return send_error(res, 422, "invalid_argument", "expected a JSON object");
  if (!body->contains("version") || !(*body)["version"].is_number_integer()) {
    return send_error(res, 422, "invalid_argument", "expected the review_version you read, as an integer",
                      "version");
  }
  static const std::set<std::string> kStatuses = {"reported", "corroborated", "verified", "rejected",
                                                  "disputed"};
  IncidentReview r;
  r.incident_id = id;
  r.by = c.user ? c.user->name : "";
  std::lock_guard lk(store_mu_);
  auto found = find_incident(*store_, id);
  if (!found.ok()) return send_status(res, found.status());
  if (!*found) return send_error(res, 404, "not_found", "no incident " + id);
  auto cur = store_->incident_review(id);
  if (!cur.ok()) return send_status(res, cur.status());
  r.status = cur->status;
  r.notes = cur->notes;
  if (body->contains("status")) {
    const auto& s = (*body)["status"];
    if (!s.is_string() || !kStatuses.count(s.get<std::string>())) {
      return send_error(res, 422, "invalid_argument",
                        "expected one of reported, corroborated, verified, rejected, disputed", "status");
    }
    r.status = s.get<std::string>();
  }
  if (body->contains("notes")) {
    const auto& n = (*body)["notes"];
    if (!n.is_string() || n.get<std::string>().size() > 4096) {
      return send_error(res, 422, "invalid_argument", "expected a string of at most 4096 bytes", "notes");
    }
    r.notes = n.get<std::string>();
  }
  auto done = store_->update_review(r, (*body)["version"].get<std::int64_t>());
  if (!done.ok()) {
    if (done.status().code() == Code::kConflict)
      return send_error(res, 409, "conflict", done.status().message(), "version");
    return send_status(res, done.status());
  }
  res.set_content(json({{"id", id},
                        {"review_version", done->version},
                        {"status", done->status},
                        {"notes", done->notes},
                        {"by", done->by},
                        {"at", format_instant(done->at)}})
                      .dump(),
                  "application/json");
}

bool ServerImpl::parse_incident_query(const Request& req, Response& res, IncidentQuery& q) {
  for (const char* name : {"from", "to"}) {
    if (!req.has_param(name)) continue;
    auto t = parse_instant(req.get_param_value(name));
    if (!t.ok()) {
      send_error(res, 400, "invalid_argument", t.status().message(), name);
      return false;
    }
    (std::string_view(name) == "from" ? q.f.from : q.f.to) = *t;
  }
  if (req.has_param("party")) q.parties = split_list(req.get_param_value("party"));
  if (req.has_param("kind")) q.kinds = split_list(req.get_param_value("kind"));
  if (req.has_param("status")) q.statuses = split_list(req.get_param_value("status"));
  if (req.has_param("rule")) q.rules = split_list(req.get_param_value("rule"));
  // One value goes to the store's own (indexed) filter; a list is checked here.
  if (q.parties.size() == 1) q.f.party = q.parties[0];
  if (q.kinds.size() == 1) q.f.kind = q.kinds[0];
  return true;
}

}  // namespace truce::server
