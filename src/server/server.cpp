#include "truce/server/server.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "server/internal.h"
#include "truce/agreement/term.h"
#include "truce/geo/gazetteer.h"
#include "truce/ingest/ingest.h"
#include "truce/io/tabular.h"
#include "truce/store/store.h"

namespace truce::server {
namespace {

using nlohmann::json;

// Who is asking. Anonymous requests have no user and role "" (or "public" with the public view).
struct Caller {
  std::optional<User> user;
  std::string role;
  bool bad_credentials = false;
};

struct Route {
  std::string method;   // GET, POST, PATCH, HEAD
  std::string path;     // OpenAPI form, e.g. /api/v1/observations
  std::string summary;
  std::vector<std::string> roles;  // who may call it; empty = anyone, even unauthenticated
  bool openrosa = false;           // answers 401 with a Digest challenge
  std::function<void(const httplib::Request&, httplib::Response&, const Caller&)> handler;
};

std::string base64_decode(const std::string& in) {
  if (in.size() > 4096 || in.size() % 4 != 0) return "";
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return "";
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;  // padding decodes to zeros
  out.resize(len);
  return out;
}

void send_error(httplib::Response& res, int status, std::string_view code, const std::string& message,
                const std::string& field = "") {
  json e = {{"error", {{"code", code}, {"message", message}, {"field", field}}}};
  res.status = status;
  res.set_content(e.dump(), "application/json");
}

json observation_json(const StoredObservation& so) {
  const Observation& o = so.obs;
  json j = {{"seq", so.seq}, {"observation_id", o.id}, {"time", format_instant(o.time)}, {"observer_id", o.observer_id},
            {"kind", to_string(o.kind)}, {"count", o.count}, {"channel", o.channel}};
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

// Parses one OpenRosa submission instance into a row of the observation schema.
std::optional<FieldError> xform_row(const std::string& xml, io::Row& row, std::vector<std::string>& storage) {
  pugi::xml_document doc;
  // Entities and DTDs are not expanded by pugixml; the size is bounded by the request limit.
  auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default & ~pugi::parse_doctype);
  if (!parsed) return FieldError{"xml_submission_file", "", std::string("not well-formed XML: ") + parsed.description()};
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.attribute("id").value()) != kFormId) {
    return FieldError{"xml_submission_file", root.attribute("id").value(),
                      "expected a submission of form " + std::string(kFormId)};
  }
  const auto& cols = io::observation_schema().columns;
  storage.assign(cols.size(), std::string());
  auto set = [&](std::string_view col, std::string v) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (cols[c] == col) storage[c] = std::move(v);
    }
  };
  set("observation_id", root.child("meta").child_value("instanceID"));
  for (auto col : {"observer_id", "time", "kind", "bearing_deg", "bearing_sigma_deg", "distance_m",
                   "distance_sigma_m", "count", "direction", "notes"}) {
    set(col, root.child_value(col));
  }
  // geopoint: "lat lon [altitude [accuracy]]"
  const std::string loc = root.child_value("location");
  if (!loc.empty()) {
    const auto sp = loc.find(' ');
    if (sp == std::string::npos) return FieldError{"location", loc, "expected a geopoint \"lat lon [alt acc]\""};
    const auto sp2 = loc.find(' ', sp + 1);
    set("observer_lat", loc.substr(0, sp));
    set("observer_lon", loc.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1));
  }
  row.assign(cols.size(), std::string_view());
  for (std::size_t c = 0; c < cols.size(); ++c) row[c] = storage[c];
  return std::nullopt;
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(Options opts) : opts_(std::move(opts)) {}

  Status init() {
    SqliteOptions so;
    so.clock = opts_.clock;
    auto s = open_sqlite_store(opts_.db_path, so);
    if (!s.ok()) return s.status();
    store_ = std::move(s).value();
    auto secret = new_token();
    if (!secret.ok()) return secret.status();
    nonce_secret_ = *secret;
    define_routes();
    svr_.set_payload_max_length(opts_.max_body_bytes);
    svr_.set_read_timeout(opts_.read_timeout_s, 0);
    svr_.set_write_timeout(opts_.read_timeout_s, 0);
    svr_.set_keep_alive_timeout(5);
    const int threads = opts_.threads;
    svr_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-OpenRosa-Version", "1.0");
      if (req.headers.size() > opts_.max_headers) {
        send_error(res, 431, "too_many_headers", "more than " + std::to_string(opts_.max_headers) + " headers");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    svr_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) {
        send_error(res, 413, "too_large", "the request body is larger than this server accepts");
      } else if (res.status == 404) {
        send_error(res, 404, "not_found", "no such endpoint");
      } else if (res.status == 405) {
        send_error(res, 405, "method_not_allowed", "this endpoint does not take that method");
      } else {
        send_error(res, res.status, "bad_request", "the request could not be handled");
      }
    });
    svr_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, 500, "internal", "internal error");
    });
    svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log(req, res); });
    return Status::Ok();
  }

  int port() const override { return port_; }

  Status bind() {
    port_ = opts_.port == 0 ? svr_.bind_to_any_port(opts_.host) : (svr_.bind_to_port(opts_.host, opts_.port) ? opts_.port : -1);
    if (port_ < 0) return Status::IOError("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port));
    return Status::Ok();
  }

  Status listen() override {
    listen_called_ = true;
    if (stop_requested_) return Status::Ok();
    const bool ok = svr_.listen_after_bind();
    listen_returned_ = true;
    if (!ok && !stop_requested_) return Status::IOError("the server stopped with an error");
    return Status::Ok();
  }

  void stop() override {
    stop_requested_ = true;
    // A stop that comes while listen() is starting would be lost (the library ignores a stop
    // before its loop runs): wait for the loop, at most a few seconds.
    for (int i = 0; i < 5000 && listen_called_ && !listen_returned_ && !svr_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    svr_.stop();
  }

 private:
  Instant now() const {
    static const SystemClock kSystem;
    return (opts_.clock ? opts_.clock : &kSystem)->now();
  }

  void log(const httplib::Request& req, const httplib::Response& res) {
    json line = {{"t", format_instant(now())}, {"method", req.method}, {"path", req.path}, {"status", res.status},
                 {"bytes_in", req.body.size()}, {"bytes_out", res.body.size()}, {"remote", req.remote_addr}};
    const std::string s = line.dump() + "\n";
    std::lock_guard lk(log_mu_);
    std::fwrite(s.data(), 1, s.size(), stderr);
    ++requests_[{req.method + " " + route_of(req.path), res.status}];
  }

  std::string route_of(const std::string& path) const {
    for (const auto& r : routes_) {
      if (std::regex_match(path, regex_of(r.path))) return r.path;
    }
    return "other";
  }

  static std::regex regex_of(const std::string& openapi_path) {
    return std::regex(std::regex_replace(openapi_path, std::regex("\\{[a-z_]+\\}"), "([^/]+)"));
  }

  // --- authentication ---
  Caller authenticate(const httplib::Request& req) {
    Caller c;
    const std::string auth = req.get_header_value("Authorization");
    auto with_store = [&](auto fn) {
      std::lock_guard lk(store_mu_);
      return fn(*store_);
    };
    if (auth.rfind("Bearer ", 0) == 0) {
      auto u = with_store([&](Store& s) { return s.user_by_token(token_hash(auth.substr(7))); });
      if (u.ok() && *u) c.user = **u;
    } else if (auth.rfind("Basic ", 0) == 0 && opts_.allow_basic_auth) {
      const std::string dec = base64_decode(auth.substr(6));
      const auto colon = dec.find(':');
      if (colon != std::string::npos) {
        auto u = with_store([&](Store& s) { return s.user_by_token(token_hash(dec.substr(colon + 1))); });
        if (u.ok() && *u && (*u)->name == dec.substr(0, colon)) c.user = **u;
      }
    } else if (auth.rfind("Digest ", 0) == 0) {
      c.user = check_digest(req, auth.substr(7));
    }
    if (c.user) {
      c.role = c.user->role;
    } else if (!auth.empty()) {
      c.bad_credentials = true;
    } else if (opts_.public_view) {
      c.role = "public";
    }
    return c;
  }

  std::string make_nonce() {
    const std::string ts = std::to_string(now().ms / 1000);
    return ts + "-" + sha256_hex(nonce_secret_ + ts).substr(0, 32);
  }

  bool nonce_fresh(const std::string& nonce) {
    const auto dash = nonce.find('-');
    if (dash == std::string::npos) return false;
    const std::string ts = nonce.substr(0, dash);
    if (sha256_hex(nonce_secret_ + ts).substr(0, 32) != nonce.substr(dash + 1)) return false;
    const long long t = std::atoll(ts.c_str());
    return now().ms / 1000 - t <= 600;
  }

  std::optional<User> check_digest(const httplib::Request& req, const std::string& params) {
    std::map<std::string, std::string> p;
    static const std::regex kParam(R"re((\w+)=(?:"([^"]*)"|([^,\s]*)))re");
    for (std::sregex_iterator it(params.begin(), params.end(), kParam), end; it != end; ++it) {
      p[(*it)[1]] = (*it)[2].matched ? (*it)[2].str() : (*it)[3].str();
    }
    if (p["realm"] != opts_.realm || !nonce_fresh(p["nonce"])) return std::nullopt;
    std::optional<User> u;
    {
      std::lock_guard lk(store_mu_);
      auto r = store_->user_by_name(p["username"]);
      if (!r.ok() || !*r) return std::nullopt;
      u = **r;
    }
    const std::string ha2 = md5_hex(req.method + ":" + p["uri"]);
    const std::string expect = p["qop"].empty()
                                   ? md5_hex(u->digest_ha1 + ":" + p["nonce"] + ":" + ha2)
                                   : md5_hex(u->digest_ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":" +
                                             p["qop"] + ":" + ha2);
    if (expect != p["response"]) return std::nullopt;
    return u;
  }

  void challenge(httplib::Response& res) {
    res.set_header("WWW-Authenticate", "Digest realm=\"" + opts_.realm + "\", qop=\"auth\", algorithm=MD5, nonce=\"" +
                                           make_nonce() + "\"");
    if (opts_.allow_basic_auth) res.headers.emplace("WWW-Authenticate", "Basic realm=\"" + opts_.realm + "\"");
  }

  // --- routes ---
  void add(Route r) {
    routes_.push_back(std::move(r));
    const Route* route = &routes_.back();
    auto wrapped = [this, route](const httplib::Request& req, httplib::Response& res) {
      Caller c = authenticate(req);
      if (!route->roles.empty()) {
        const bool allowed = std::find(route->roles.begin(), route->roles.end(), c.role) != route->roles.end();
        if (!allowed) {
          if (c.bad_credentials || c.role.empty() || c.role == "public") {
            if (route->openrosa || c.bad_credentials || c.role.empty()) challenge(res);
            send_error(res, 401, "unauthorized",
                       c.bad_credentials ? "the credentials are not valid" : "sign in: send Authorization: Bearer TOKEN");
          } else {
            send_error(res, 403, "forbidden", "role " + c.role + " may not use " + route->method + " " + route->path);
          }
          return;
        }
      }
      route->handler(req, res, c);
    };
    const std::string pattern = std::regex_replace(route->path, std::regex("\\{[a-z_]+\\}"), "([^/]+)");
    if (route->method == "GET") svr_.Get(pattern, wrapped);
    else if (route->method == "POST") svr_.Post(pattern, wrapped);
    else if (route->method == "PATCH") svr_.Patch(pattern, wrapped);
    else if (route->method == "PUT") svr_.Put(pattern, wrapped);
  }

  std::vector<std::string> readers() const {
    if (opts_.public_view) return {"public", "observer", "analyst", "admin"};
    return {"observer", "analyst", "admin"};
  }

  void define_routes() {
    routes_.reserve(32);  // handlers keep pointers into routes_
    const std::vector<std::string> staff = {"analyst", "admin"};
    const std::vector<std::string> submitters = {"observer", "analyst", "admin"};
    add({"GET", "/healthz", "liveness: 200 when the server and its database answer", {}, false,
         [this](const httplib::Request&, httplib::Response& res, const Caller&) { healthz(res); }});
    add({"GET", "/metrics", "Prometheus text metrics", staff, false,
         [this](const httplib::Request&, httplib::Response& res, const Caller&) { metrics(res); }});
    add({"GET", "/api/v1/openapi.json", "this API, as OpenAPI 3", {}, false,
         [this](const httplib::Request&, httplib::Response& res, const Caller&) {
           res.set_content(openapi().dump(2), "application/json");
         }});
    add({"POST", "/api/v1/observations", "submit one observation or a batch (a JSON array)", submitters, false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { post_observations(req, res, c); }});
    add({"GET", "/api/v1/observations", "list observations: from, to, observer, kind, limit, cursor", staff, false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller&) { get_observations(req, res); }});
    add({"GET", "/api/v1/observers", "observers as GeoJSON points", staff, false,
         [this](const httplib::Request&, httplib::Response& res, const Caller&) { get_observers(res); }});
    for (const char* doc : {"zones", "loc", "places"}) {
      add({"GET", std::string("/api/v1/") + doc, std::string("the mission's ") + doc + " as GeoJSON", readers(), false,
           [this, doc](const httplib::Request&, httplib::Response& res, const Caller&) { get_document(res, doc); }});
    }
    add({"GET", "/api/v1/stats", "counts of what the mission holds", readers(), false,
         [this](const httplib::Request&, httplib::Response& res, const Caller& c) { get_stats(res, c); }});
    add({"GET", "/api/v1/rejects", "quarantined records", staff, false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller&) { get_rejects(req, res); }});
    add({"GET", "/api/v1/incidents", "incidents: from, to, party, kind, status, limit (public: rounded, no observers)",
         readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { get_incidents(req, res, c); }});
    add({"GET", "/api/v1/incidents/{id}", "one incident with its observations, versions and reviews", readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { get_incident(req, res, c); }});
    add({"PATCH", "/api/v1/incidents/{id}",
         "review an incident: {status, notes, version}; a stale version gets 409", staff, false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { patch_incident(req, res, c); }});
    add({"GET", "/api/v1/mandate", "the agreement's term: running term, notice deadline, what comes next (?at=)",
         readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller&) { get_mandate(req, res); }});
    add({"GET", "/formList", "OpenRosa form list", submitters, true,
         [this](const httplib::Request& req, httplib::Response& res, const Caller&) { form_list(req, res); }});
    add({"GET", "/forms/truce_observation.xml", "the observation XForm", submitters, true,
         [](const httplib::Request&, httplib::Response& res, const Caller&) {
           res.set_content(std::string(observation_xform()), "text/xml; charset=utf-8");
         }});
    add({"GET", "/submission", "OpenRosa submission pre-flight (HEAD)", submitters, true,
         [this](const httplib::Request&, httplib::Response& res, const Caller&) {
           res.set_header("X-OpenRosa-Accept-Content-Length", std::to_string(opts_.max_body_bytes));
           res.status = 204;
         }});
    add({"POST", "/submission", "OpenRosa submission (multipart, xml_submission_file)", submitters, true,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { submission(req, res, c); }});
  }

  json openapi() const {
    json paths = json::object();
    for (const auto& r : routes_) {
      std::string m = r.method;
      std::transform(m.begin(), m.end(), m.begin(), ::tolower);
      json op = {{"summary", r.summary}, {"x-truce-roles", r.roles}, {"responses", {{"200", {{"description", "ok"}}}}}};
      if (!r.roles.empty()) op["security"] = json::array({{{"bearer", json::array()}}});
      paths[r.path][m] = op;
    }
    return {{"openapi", "3.0.3"},
            {"info", {{"title", "truce API"}, {"version", "1"}, {"description", "Ceasefire monitoring: observations in, incidents out."}}},
            {"paths", paths},
            {"components",
             {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
              {"schemas",
               {{"Error",
                 {{"type", "object"},
                  {"properties",
                   {{"error", {{"type", "object"},
                               {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}},
                                               {"field", {{"type", "string"}}}}}}}}}}}}}}}};
  }

  void healthz(httplib::Response& res) {
    std::lock_guard lk(store_mu_);
    auto st = store_->stats();
    if (!st.ok()) return send_error(res, 503, "unavailable", st.status().message());
    res.set_content("{\"status\":\"ok\"}", "application/json");
  }

  void metrics(httplib::Response& res) {
    std::string out = "# HELP truce_http_requests_total HTTP requests by route and status.\n"
                      "# TYPE truce_http_requests_total counter\n";
    {
      std::lock_guard lk(log_mu_);
      for (const auto& [k, n] : requests_) {
        out += "truce_http_requests_total{route=\"" + k.first + "\",code=\"" + std::to_string(k.second) + "\"} " +
               std::to_string(n) + "\n";
      }
    }
    std::lock_guard lk(store_mu_);
    auto st = store_->stats();
    if (st.ok()) {
      out += "# HELP truce_observations Observations stored.\n# TYPE truce_observations gauge\n";
      out += "truce_observations " + std::to_string(st->observations) + "\n";
      out += "# HELP truce_quarantined Records quarantined (rejected or conflicting).\n# TYPE truce_quarantined gauge\n";
      out += "truce_quarantined " + std::to_string(st->rejected + st->conflicts) + "\n";
    }
    res.set_content(out, "text/plain; version=0.0.4");
  }

  // Parses a JSON body with a depth bound; answers 400/413 itself and returns nullopt on failure.
  std::optional<json> parse_body(const httplib::Request& req, httplib::Response& res) {
    if (io::json_depth(req.body) > opts_.max_json_depth) {
      send_error(res, 400, "invalid_json", "JSON nested deeper than " + std::to_string(opts_.max_json_depth) + " levels");
      return std::nullopt;
    }
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      send_error(res, 400, "invalid_json", "the body is not valid JSON");
      return std::nullopt;
    }
    return j;
  }

  void post_observations(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    auto body = parse_body(req, res);
    if (!body) return;
    json items = body->is_array() ? *body : body->is_object() && body->contains("observations") ? (*body)["observations"]
                                                                                               : json::array({*body});
    if (!items.is_array() || items.empty()) {
      return send_error(res, 422, "invalid_argument", "expected an observation object or a non-empty array of them");
    }
    if (items.size() > opts_.max_batch) {
      return send_error(res, 413, "too_large", "at most " + std::to_string(opts_.max_batch) + " observations per request");
    }
    std::vector<ingest::Submission> subs(items.size());
    io::Row row;
    std::vector<std::string> storage, ignored;
    const Instant t = now();
    for (std::size_t i = 0; i < items.size(); ++i) {
      subs[i].raw = items[i].dump();
      if (auto e = io::pick_json_value(io::observation_schema(), items[i], row, storage, ignored)) {
        subs[i].error = *e;
        continue;
      }
      Observation o;
      if (auto e = io::parse_observation(row, t, o)) {
        subs[i].error = *e;
        continue;
      }
      if (c.role == "observer" &&
          std::find(c.user->observers.begin(), c.user->observers.end(), o.observer_id) == c.user->observers.end()) {
        return send_error(res, 403, "forbidden",
                          "user " + c.user->name + " may not submit for observer " + o.observer_id +
                              " (item " + std::to_string(i) + ")",
                          "observer_id");
      }
      o.channel = "api";
      o.submitted_by = c.user ? c.user->name : "";
      subs[i].obs = std::move(o);
    }
    store_submissions(std::move(subs), "api", res, false);
  }

  // Stores and answers: 201 created, 200 all duplicates, 409 conflict, 422 invalid.
  void store_submissions(std::vector<ingest::Submission> subs, const std::string& source, httplib::Response& res,
                         bool openrosa) {
    std::vector<std::string> ids;
    for (const auto& s : subs) ids.push_back(s.obs ? s.obs->id : "");
    ingest::Options o;
    o.clock = opts_.clock;
    Result<std::vector<ingest::SubmissionResult>> r = Status::Internal("not run");
    {
      std::lock_guard lk(store_mu_);
      r = ingest::submit_observations(*store_, std::move(subs), source, o);
    }
    if (!r.ok()) return send_error(res, 500, "store_failed", r.status().message());
    using State = ingest::SubmissionResult::State;
    int counts[4] = {0, 0, 0, 0};
    json results = json::array();
    const FieldError* first_error = nullptr;
    for (std::size_t i = 0; i < r->size(); ++i) {
      const auto& sr = (*r)[i];
      ++counts[static_cast<int>(sr.state)];
      static constexpr const char* kNames[] = {"accepted", "duplicate", "conflict", "rejected"};
      json item = {{"index", i}, {"observation_id", ids[i]}, {"status", kNames[static_cast<int>(sr.state)]}};
      if (sr.state == State::kConflict || sr.state == State::kRejected) {
        item["error"] = {{"code", sr.state == State::kConflict ? "conflict" : "invalid_argument"},
                         {"message", sr.error.reason + (sr.error.value.empty() ? "" : " (got \"" + sr.error.value + "\")")},
                         {"field", sr.error.field}};
        if (!first_error || sr.state == State::kRejected) first_error = &sr.error;
      }
      results.push_back(item);
    }
    const int accepted = counts[0], dups = counts[1], conflicts = counts[2], rejected = counts[3];
    if (openrosa) {
      if (rejected) return openrosa_reply(res, 400, "The report was not accepted: " + first_error->field + ": " + first_error->reason);
      if (conflicts) return openrosa_reply(res, 409, "A different report with this instanceID was received before.");
      return openrosa_reply(res, 201, dups ? "Already received: thank you." : "Report received: thank you.");
    }
    json body = {{"accepted", accepted}, {"duplicates", dups}, {"conflicts", conflicts}, {"rejected", rejected},
                 {"results", results}};
    if (rejected) {
      body["error"] = {{"code", "invalid_argument"}, {"message", first_error->reason}, {"field", first_error->field}};
      res.status = 422;
    } else if (conflicts) {
      body["error"] = {{"code", "conflict"}, {"message", first_error->reason}, {"field", first_error->field}};
      res.status = 409;
    } else {
      res.status = accepted ? 201 : 200;
    }
    res.set_content(body.dump(), "application/json");
  }

  void get_observations(const httplib::Request& req, httplib::Response& res) {
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
    if (req.has_param("limit")) {
      f.limit = std::atoll(req.get_param_value("limit").c_str());
      if (f.limit < 1 || f.limit > 1000) return send_error(res, 400, "invalid_argument", "expected 1..1000", "limit");
    }
    if (req.has_param("cursor")) {
      const std::string c = req.get_param_value("cursor");
      char* end = nullptr;
      f.after_seq = std::strtoll(c.c_str(), &end, 10);
      if (c.empty() || *end != '\0' || f.after_seq < 0) {
        return send_error(res, 400, "invalid_argument", "expected the next_cursor of an earlier page", "cursor");
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
    if (!st.ok()) return send_error(res, 500, "store_failed", st.message());
    json body = {{"items", items},
                 {"next_cursor", static_cast<std::int64_t>(items.size()) == f.limit ? json(std::to_string(last)) : json(nullptr)}};
    res.set_content(body.dump(), "application/json");
  }

  void get_observers(httplib::Response& res) {
    Result<std::vector<Observer>> obs = Status::Internal("");
    {
      std::lock_guard lk(store_mu_);
      obs = store_->observers();
    }
    if (!obs.ok()) return send_error(res, 500, "store_failed", obs.status().message());
    json features = json::array();
    for (const auto& o : *obs) {
      json f = {{"type", "Feature"},
                {"properties", {{"id", o.id}, {"party", o.party}, {"type", to_string(o.type)}}},
                {"geometry", nullptr}};
      if (o.position) f["geometry"] = {{"type", "Point"}, {"coordinates", {o.position->lon, o.position->lat}}};
      features.push_back(f);
    }
    res.set_content(json({{"type", "FeatureCollection"}, {"features", features}}).dump(), "application/geo+json");
  }

  void get_document(httplib::Response& res, const std::string& name) {
    Result<std::optional<std::string>> d = Status::Internal("");
    {
      std::lock_guard lk(store_mu_);
      d = store_->document(name);
    }
    if (!d.ok()) return send_error(res, 500, "store_failed", d.status().message());
    if (!*d) return send_error(res, 404, "not_found", "the mission has no " + name + " yet (truce import " + name + ")");
    if (name != "places") return res.set_content(**d, "application/geo+json");
    // The gazetteer is stored in its own compact form: serve it as GeoJSON points, with the credit
    // its source asks for (GeoNames: CC BY 4.0).
    auto g = geo::Gazetteer::deserialize(**d, "places (mission database)");
    if (!g.ok()) return send_error(res, 500, "corrupt_places", g.status().ToString());
    json features = json::array();
    for (const auto& p : g->places()) {
      features.push_back({{"type", "Feature"},
                          {"properties", {{"name", p.name}, {"population", p.population}, {"credit", p.credit}}},
                          {"geometry", {{"type", "Point"}, {"coordinates", {p.pos.lon, p.pos.lat}}}}});
    }
    res.set_content(json({{"type", "FeatureCollection"}, {"features", features}}).dump(), "application/geo+json");
  }

  void get_stats(httplib::Response& res, const Caller& c) {
    Result<StoreStats> st = Status::Internal("");
    {
      std::lock_guard lk(store_mu_);
      st = store_->stats();
    }
    if (!st.ok()) return send_error(res, 500, "store_failed", st.status().message());
    json by_kind = json::object();
    for (const auto& [k, n] : st->by_kind) by_kind[k] = n;
    json body = {{"observations", st->observations}, {"by_kind", by_kind}};
    if (c.role != "public") {
      body["observers"] = st->observers;
      body["rejected"] = st->rejected;
      body["conflicts"] = st->conflicts;
    }
    res.set_content(body.dump(), "application/json");
  }

  void get_rejects(const httplib::Request& req, httplib::Response& res) {
    std::int64_t limit = req.has_param("limit") ? std::atoll(req.get_param_value("limit").c_str()) : 100;
    if (limit < 1 || limit > 1000) return send_error(res, 400, "invalid_argument", "expected 1..1000", "limit");
    json items = json::array();
    Status st;
    {
      std::lock_guard lk(store_mu_);
      st = store_->scan_rejects([&](const Reject& r) {
        items.push_back({{"seq", r.seq}, {"what", r.what}, {"disposition", r.disposition}, {"source", r.source},
                         {"line", r.line}, {"field", r.field}, {"value", r.value}, {"reason", r.reason},
                         {"record_id", r.record_id}, {"at", format_instant(r.at)}});
        return static_cast<std::int64_t>(items.size()) < limit;
      });
    }
    if (!st.ok()) return send_error(res, 500, "store_failed", st.message());
    res.set_content(json({{"items", items}}).dump(), "application/json");
  }

  // --- incidents ---
  // An incident as the API shows it: fusion's content, its version, and the latest review. The
  // public view drops observation ids and notes and rounds the origin to the public grid.
  json incident_json(const StoredIncident& si, const IncidentReview& rv, bool is_public) const {
    json j = json::parse(si.content, nullptr, false);
    if (j.is_discarded() || !j.is_object()) j = json::object();
    j["id"] = si.id;
    j["version"] = si.version;
    j["review_version"] = rv.version;
    if (!rv.status.empty()) j["status"] = rv.status;
    if (is_public) {
      j.erase("observations");
      j.erase("sector");
      const double g = opts_.public_grid_deg;
      for (const char* k : {"lat", "lon"}) {
        if (j.contains(k) && j[k].is_number()) j[k] = std::round(j[k].get<double>() / g) * g;
      }
      j.erase("ellipse");
    } else {
      j["notes"] = rv.notes;
    }
    return j;
  }

  void get_incidents(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    IncidentFilter f;
    for (const char* name : {"from", "to"}) {
      if (!req.has_param(name)) continue;
      auto t = parse_instant(req.get_param_value(name));
      if (!t.ok()) return send_error(res, 400, "invalid_argument", t.status().message(), name);
      (std::string_view(name) == "from" ? f.from : f.to) = *t;
    }
    if (req.has_param("party")) f.party = req.get_param_value("party");
    if (req.has_param("kind")) f.kind = req.get_param_value("kind");
    const std::string status = req.has_param("status") ? req.get_param_value("status") : "";
    std::int64_t limit = 10000;
    if (req.has_param("limit")) {
      limit = std::atoll(req.get_param_value("limit").c_str());
      if (limit < 1 || limit > 100000) return send_error(res, 400, "invalid_argument", "expected 1..100000", "limit");
    }
    json items = json::array();
    Status st;
    {
      std::lock_guard lk(store_mu_);
      st = store_->scan_incidents(f, [&](const StoredIncident& si) {
        auto rv = store_->incident_review(si.id);
        json j = incident_json(si, rv.ok() ? *rv : IncidentReview{}, c.role == "public");
        if (!status.empty() && j.value("status", std::string()) != status) return true;
        items.push_back(std::move(j));
        return static_cast<std::int64_t>(items.size()) < limit;
      });
    }
    if (!st.ok()) return send_error(res, 500, "store_failed", st.message());
    res.set_content(json({{"items", items}}).dump(), "application/json");
  }

  void get_incident(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    const std::string id = req.matches[1];
    IncidentFilter f;
    f.id = id;
    std::optional<StoredIncident> found;
    std::lock_guard lk(store_mu_);
    Status st = store_->scan_incidents(f, [&](const StoredIncident& si) {
      found = si;
      return false;
    });
    if (!st.ok()) return send_error(res, 500, "store_failed", st.message());
    if (!found) return send_error(res, 404, "not_found", "no incident " + id);
    auto rv = store_->incident_review(id);
    std::optional<json> out = incident_json(*found, rv.ok() ? *rv : IncidentReview{}, c.role == "public");
    if (c.role != "public") {
      // A read-only look-up of each fused observation (the batch is rolled back, never committed).
      json obs = json::array();
      if (auto batch = store_->begin(); batch.ok()) {
        for (const auto& oid : found->observation_ids) {
          auto o = (*batch)->find_observation(oid);
          if (o.ok() && *o) obs.push_back(observation_json(StoredObservation{0, **o}));
        }
      }
      (*out)["observation_details"] = obs;
      json versions = json::array();
      if (auto h = store_->incident_history(id); h.ok()) {
        for (const auto& v : *h) versions.push_back({{"version", v.version}, {"at", format_instant(v.at)}, {"change", v.change}});
      }
      json reviews = json::array();
      if (auto h = store_->review_history(id); h.ok()) {
        for (const auto& r : *h) {
          reviews.push_back({{"version", r.version}, {"status", r.status}, {"notes", r.notes}, {"by", r.by},
                             {"at", format_instant(r.at)}});
        }
      }
      (*out)["history"] = versions;
      (*out)["reviews"] = reviews;
    }
    res.set_content(out->dump(), "application/json");
  }

  void patch_incident(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    const std::string id = req.matches[1];
    auto body = parse_body(req, res);
    if (!body) return;
    if (!body->is_object()) return send_error(res, 422, "invalid_argument", "expected a JSON object");
    if (!body->contains("version") || !(*body)["version"].is_number_integer()) {
      return send_error(res, 422, "invalid_argument", "expected the review_version you read, as an integer", "version");
    }
    static const std::set<std::string> kStatuses = {"reported", "corroborated", "verified", "rejected", "disputed"};
    IncidentReview r;
    r.incident_id = id;
    r.by = c.user ? c.user->name : "";
    std::lock_guard lk(store_mu_);
    IncidentFilter f;
    f.id = id;
    bool exists = false;
    (void)store_->scan_incidents(f, [&](const StoredIncident&) {
      exists = true;
      return false;
    });
    if (!exists) return send_error(res, 404, "not_found", "no incident " + id);
    auto cur = store_->incident_review(id);
    if (!cur.ok()) return send_error(res, 500, "store_failed", cur.status().message());
    r.status = cur->status;
    r.notes = cur->notes;
    if (body->contains("status")) {
      const auto& s = (*body)["status"];
      if (!s.is_string() || !kStatuses.count(s.get<std::string>())) {
        return send_error(res, 422, "invalid_argument", "expected one of reported, corroborated, verified, rejected, disputed",
                          "status");
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
      if (done.status().code() == Code::kConflict) return send_error(res, 409, "conflict", done.status().message(), "version");
      return send_error(res, 500, "store_failed", done.status().message());
    }
    res.set_content(json({{"id", id}, {"review_version", done->version}, {"status", done->status},
                          {"notes", done->notes}, {"by", done->by}, {"at", format_instant(done->at)}})
                        .dump(),
                    "application/json");
  }

  void get_mandate(const httplib::Request& req, httplib::Response& res) {
    Instant at = now();
    if (req.has_param("at")) {
      auto t = parse_instant(req.get_param_value("at"));
      if (!t.ok()) return send_error(res, 400, "invalid_argument", t.status().message(), "at");
      at = *t;
    }
    Result<std::optional<std::string>> doc = Status::Internal("");
    {
      std::lock_guard lk(store_mu_);
      doc = store_->document("agreement");
    }
    if (!doc.ok()) return send_error(res, 500, "store_failed", doc.status().message());
    if (!*doc) return send_error(res, 404, "not_found", "the mission has no agreement yet (truce import agreement FILE)");
    auto a = agreement::parse_agreement(**doc, "agreement (mission database)");
    if (!a.ok()) return send_error(res, 500, "corrupt_agreement", a.status().ToString());
    auto st = agreement::mandate_status(*a, at);
    if (!st.ok()) return send_error(res, 422, "invalid_argument", st.status().message(), "at");
    res.set_content(agreement::status_json(*a, *st), "application/json");
  }

  // --- OpenRosa ---
  void openrosa_reply(httplib::Response& res, int status, const std::string& message) {
    pugi::xml_document doc;
    auto root = doc.append_child("OpenRosaResponse");
    root.append_attribute("xmlns") = "http://openrosa.org/http/response";
    auto m = root.append_child("message");
    m.append_attribute("nature") = status < 300 ? "submit_success" : "error";
    m.text() = message.c_str();
    std::ostringstream os;
    doc.save(os, "", pugi::format_raw);
    res.status = status;
    res.set_content(os.str(), "text/xml; charset=utf-8");
  }

  void form_list(const httplib::Request& req, httplib::Response& res) {
    const std::string host = req.get_header_value("Host").empty() ? opts_.host + ":" + std::to_string(port_)
                                                                    : req.get_header_value("Host");
    const std::string xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xforms xmlns=\"http://openrosa.org/xforms/xformsList\">\n"
        "  <xform>\n    <formID>" + std::string(kFormId) + "</formID>\n    <name>truce observation report</name>\n"
        "    <version>1</version>\n    <hash>md5:" + md5_hex(observation_xform()) + "</hash>\n"
        "    <downloadUrl>http://" + host + "/forms/truce_observation.xml</downloadUrl>\n  </xform>\n</xforms>\n";
    res.set_content(xml, "text/xml; charset=utf-8");
  }

  void submission(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    res.set_header("X-OpenRosa-Accept-Content-Length", std::to_string(opts_.max_body_bytes));
    if (!req.is_multipart_form_data() || !req.has_file("xml_submission_file")) {
      return openrosa_reply(res, 400, "expected multipart/form-data with an xml_submission_file part");
    }
    const auto file = req.get_file_value("xml_submission_file");
    ingest::Submission sub;
    sub.raw = file.content.substr(0, 4096);
    io::Row row;
    std::vector<std::string> storage;
    if (auto e = xform_row(file.content, row, storage)) {
      sub.error = *e;
    } else {
      Observation o;
      if (auto pe = io::parse_observation(row, now(), o)) {
        sub.error = *pe;
      } else {
        if (c.role == "observer" &&
            std::find(c.user->observers.begin(), c.user->observers.end(), o.observer_id) == c.user->observers.end()) {
          return openrosa_reply(res, 403, "You may not submit reports for observer " + o.observer_id + ".");
        }
        o.channel = "openrosa";
        o.submitted_by = c.user ? c.user->name : "";
        sub.obs = std::move(o);
      }
    }
    std::vector<ingest::Submission> subs;
    subs.push_back(std::move(sub));
    store_submissions(std::move(subs), "openrosa", res, true);
  }

  Options opts_;
  httplib::Server svr_;
  std::unique_ptr<Store> store_;
  std::mutex store_mu_;  // the Store is single-threaded; requests take turns
  std::mutex log_mu_;
  std::map<std::pair<std::string, int>, std::int64_t> requests_;
  std::vector<Route> routes_;
  std::string nonce_secret_;
  int port_ = -1;
  std::atomic<bool> listen_called_{false}, listen_returned_{false}, stop_requested_{false};
};

}  // namespace

Result<std::unique_ptr<Server>> Server::create(const Options& opts) {
  auto s = std::make_unique<ServerImpl>(opts);
  TRUCE_RETURN_IF_ERROR(s->init());
  TRUCE_RETURN_IF_ERROR(s->bind());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace truce::server
