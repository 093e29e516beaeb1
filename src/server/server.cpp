#include "truce/server/server.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <thread>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "server/internal.h"
#include "truce/agreement/humanitarian.h"
#include "truce/pipeline/mission.h"
#include "truce/pipeline/report.h"
#include "truce/report/report.h"
#include "truce/agreement/term.h"
#include "truce/core/decimal.h"
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

// Splits "a,b,c" into its non-empty parts.
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const auto end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// What the incident endpoints filter on: the store's own filter plus what only the content says.
struct IncidentQuery {
  IncidentFilter f;
  std::vector<std::string> kinds, parties, statuses, rules;  // any of (empty: all)
  bool matches(const nlohmann::json& j) const {
    auto any = [](const std::vector<std::string>& want, const std::string& v) {
      return want.empty() || std::find(want.begin(), want.end(), v) != want.end();
    };
    if (!any(kinds, j.value("kind", std::string())) || !any(parties, j.value("party", std::string())) ||
        !any(statuses, j.value("status", std::string()))) {
      return false;
    }
    if (rules.empty()) return true;
    const auto it = j.find("violations");
    if (it == j.end() || !it->is_array()) return false;
    for (const auto& v : *it) {
      if (v.is_object() && v.contains("rule") && v["rule"].is_string() && any(rules, v["rule"].get<std::string>())) return true;
    }
    return false;
  }
};

// What the dashboard's aggregation needs of every current incident, compact and in memory, so that
// a summary of 100,000 incidents is computed in milliseconds instead of re-reading and re-parsing
// every incident from the store. Rows are in the store's order (start time, then id).
struct IncidentIndex {
  struct Row {
    std::int64_t start_ms = 0, end_ms = 0;
    double lat = 0, lon = 0;
    bool located = false;
    std::uint16_t kind = 0, party = 0, status = 0;
    std::uint32_t rules_begin = 0, rules_count = 0;  // into `rules`
  };
  std::vector<Row> rows;
  std::vector<std::uint16_t> rules;             // rule name ids, flattened
  std::vector<std::string> names;               // interned kinds, parties, statuses and rules
  std::unordered_map<std::string, std::uint16_t> name_ids;
  std::unordered_map<std::string, std::uint32_t> row_of;  // incident id -> row
  std::string stamp;                            // what the store looked like when built
  std::chrono::steady_clock::time_point built;

  std::uint16_t intern(const std::string& s) {
    auto [it, fresh] = name_ids.try_emplace(s, static_cast<std::uint16_t>(names.size()));
    if (fresh) names.push_back(s);
    return it->second;
  }
  // The id of a name, or -1 when no incident has it.
  int id_of(const std::string& s) const {
    const auto it = name_ids.find(s);
    return it == name_ids.end() ? -1 : it->second;
  }
};

// The content type of a dashboard file, by its extension.
std::string content_type_of(const std::filesystem::path& p) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".geojson", "application/geo+json"}, {".svg", "image/svg+xml"},
      {".png", "image/png"}, {".ico", "image/x-icon"}, {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"}, {".woff2", "font/woff2"}, {".map", "application/json"}};
  const auto it = kTypes.find(p.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(Options opts) : opts_(std::move(opts)) {}
  ~ServerImpl() override {
    closing_ = true;
    if (warm_.joinable()) warm_.join();
  }

  // Builds the incident index in the background so the dashboard's first summary is quick.
  void warm_index() {
    refreshing_ = true;
    warm_ = std::thread([this] {
      (void)current_index(true);
      refreshing_ = false;
    });
  }

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
    // Requests are counted before the response goes out (the logger runs after it is written, so a
    // client's next request could see its previous one not yet counted).
    svr_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const std::string route = req.method + " " + route_of(req.path);
      std::lock_guard lk(log_mu_);
      ++requests_[{route, res.status}];
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
    add({"GET", "/api/v1/incidents",
         "incidents: from, to, party, kind, status, rule (lists: a,b), limit (public: rounded, no observers)",
         readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { get_incidents(req, res, c); }});
    add({"GET", "/api/v1/incidents/summary",
         "incidents aggregated for a map and a timeline: the filters of /incidents, cell_deg, bin_s", readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { get_summary(req, res, c); }});
    add({"GET", "/api/v1/incidents/{id}", "one incident with its observations, versions and reviews", readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { get_incident(req, res, c); }});
    add({"PATCH", "/api/v1/incidents/{id}",
         "review an incident: {status, notes, version}; a stale version gets 409", staff, false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { patch_incident(req, res, c); }});
    add({"GET", "/api/v1/mandate", "the agreement's term: running term, notice deadline, what comes next (?at=)",
         readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller&) { get_mandate(req, res); }});
    add({"GET", "/api/v1/humanitarian", "movement through checkpoints and displacement up to a day (?at=YYYY-MM-DD)",
         readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller&) { get_humanitarian(req, res); }});
    add({"GET", "/api/v1/reports/daily",
         "the daily report of a UTC day: ?date=YYYY-MM-DD&format=json|html|md (public: the redacted edition)",
         readers(), false,
         [this](const httplib::Request& req, httplib::Response& res, const Caller& c) { get_daily_report(req, res, c); }});
    add({"GET", "/api/v1/me", "who the caller is: role, name, whether the credentials are valid, whether the public view is on", {},
         false, [this](const httplib::Request&, httplib::Response& res, const Caller& c) { get_me(res, c); }});
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
    // Last: the dashboard's static files for every GET no route above took (not in the OpenAPI
    // document: it is not part of the API). Unknown paths under /api stay JSON 404s.
    svr_.Get("/.*", [this](const httplib::Request& req, httplib::Response& res) { static_file(req, res); });
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
    ++writes_;
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
        if (j.contains(k) && j[k].is_number()) j[k] = round_to_grid(j[k].get<double>(), g);
      }
      j.erase("ellipse");
    } else {
      j["notes"] = rv.notes;
    }
    return j;
  }

  void get_incidents(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    IncidentQuery q;
    if (!parse_incident_query(req, res, q)) return;
    std::int64_t limit = 10000;
    if (req.has_param("limit")) {
      limit = std::atoll(req.get_param_value("limit").c_str());
      if (limit < 1 || limit > 100000) return send_error(res, 400, "invalid_argument", "expected 1..100000", "limit");
    }
    json items = json::array();
    Status st = scan_matching(q, c.role == "public", [&](json& j) {
      items.push_back(std::move(j));
      return static_cast<std::int64_t>(items.size()) < limit;
    });
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
    index_review(id, done->status);
    res.set_content(json({{"id", id}, {"review_version", done->version}, {"status", done->status},
                          {"notes", done->notes}, {"by", done->by}, {"at", format_instant(done->at)}})
                        .dump(),
                    "application/json");
  }

  static constexpr auto kIndexMaxAge = std::chrono::seconds(30);

  // What, in the store, says the incidents may have changed: the fusion cursor (every import
  // fuses what it adds and moves it), the agreement (classification), and this server's writes.
  Result<std::string> index_stamp(Store& store) {
    std::string stamp = std::to_string(writes_.load());
    for (const char* doc : {"fusion.cursor", "agreement"}) {
      auto d = store.document(doc);
      if (!d.ok()) return d.status();
      stamp += "|" + (*d ? std::to_string(std::hash<std::string>{}(**d)) : std::string("-"));
    }
    return stamp;
  }

  // The index, rebuilt first if it may have changed; `async`: called from the background builder.
  Result<std::shared_ptr<IncidentIndex>> current_index(bool async = false) {
    std::string stamp;
    {
      std::lock_guard lk(store_mu_);
      auto st = index_stamp(*store_);
      if (!st.ok()) return st.status();
      stamp = *st;
    }
    auto fresh = [&](const std::shared_ptr<IncidentIndex>& ix) {
      return ix && ix->stamp == stamp && std::chrono::steady_clock::now() - ix->built < kIndexMaxAge;
    };
    {
      std::shared_lock lk(index_mu_);
      if (fresh(index_)) return index_;
      // Only old (nothing says it changed): answer from it and rebuild in the background.
      if (index_ && index_->stamp == stamp && !async) {
        if (!refreshing_.exchange(true)) {
          if (warm_.joinable()) warm_.join();
          warm_ = std::thread([this] {
            (void)current_index(true);
            refreshing_ = false;
          });
        }
        return index_;
      }
    }
    std::lock_guard build(index_build_mu_);
    {
      std::shared_lock lk(index_mu_);
      if (fresh(index_)) return index_;  // built by another request meanwhile
    }
    {
      std::unique_lock lk(index_mu_);
      building_ = true;
      reviews_during_build_.clear();
    }
    struct Done {
      ServerImpl* self;
      ~Done() {
        std::unique_lock lk(self->index_mu_);
        self->building_ = false;
      }
    } done{this};
    // A read connection of its own: API requests go on while the index is built.
    SqliteOptions so;
    so.clock = opts_.clock;
    auto reader = open_sqlite_store(opts_.db_path, so);
    if (!reader.ok()) return reader.status();
    auto ix = std::make_shared<IncidentIndex>();
    ix->built = std::chrono::steady_clock::now();
    ix->stamp = stamp;
    Status st = (*reader)->scan_incidents({}, [&](const StoredIncident& si) {
      if (closing_) return false;
      auto rv = (*reader)->incident_review(si.id);
      IncidentIndex::Row r;
      r.start_ms = si.start.ms;
      r.end_ms = si.end.ms;
      if (si.lat && si.lon) r.lat = *si.lat, r.lon = *si.lon, r.located = true;
      r.kind = ix->intern(si.kind);
      r.party = ix->intern(si.party);
      json j = json::parse(si.content, nullptr, false);
      std::string status = j.is_object() ? j.value("status", std::string()) : std::string();
      if (rv.ok() && !rv->status.empty()) status = rv->status;
      r.status = ix->intern(status);
      r.rules_begin = static_cast<std::uint32_t>(ix->rules.size());
      if (j.is_object()) {
        if (auto v = j.find("violations"); v != j.end() && v->is_array()) {
          for (const auto& x : *v) {
            if (x.is_object() && x.contains("rule") && x["rule"].is_string()) ix->rules.push_back(ix->intern(x["rule"].get<std::string>()));
          }
        }
      }
      r.rules_count = static_cast<std::uint32_t>(ix->rules.size()) - r.rules_begin;
      ix->row_of[si.id] = static_cast<std::uint32_t>(ix->rows.size());
      ix->rows.push_back(r);
      return ix->names.size() < 60000;  // name ids are 16-bit
    });
    if (!st.ok()) return st;
    if (closing_) return Status::Internal("the server is stopping");
    std::unique_lock lk(index_mu_);
    // Reviews made here while the build was reading may be missing from what it read.
    for (const auto& [id, status] : reviews_during_build_) {
      if (const auto it = ix->row_of.find(id); it != ix->row_of.end()) ix->rows[it->second].status = ix->intern(status);
    }
    index_ = ix;
    return ix;
  }

  // A review made here: the index follows at once instead of being rebuilt.
  void index_review(const std::string& id, const std::string& status) {
    std::unique_lock lk(index_mu_);
    if (building_) reviews_during_build_.emplace_back(id, status);
    if (!index_) return;
    const auto it = index_->row_of.find(id);
    if (it == index_->row_of.end()) return;
    index_->rows[it->second].status = index_->intern(status);
  }

  // Parses the filters shared by /incidents and /incidents/summary; answers 400 itself on failure.
  bool parse_incident_query(const httplib::Request& req, httplib::Response& res, IncidentQuery& q) {
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

  // Calls fn with the API form of each current incident that matches q, in start order, until fn
  // returns false. Holds the store lock throughout.
  Status scan_matching(const IncidentQuery& q, bool is_public, const std::function<bool(json&)>& fn) {
    std::lock_guard lk(store_mu_);
    return store_->scan_incidents(q.f, [&](const StoredIncident& si) {
      auto rv = store_->incident_review(si.id);
      json j = incident_json(si, rv.ok() ? *rv : IncidentReview{}, is_public);
      if (!q.matches(j)) return true;
      return fn(j);
    });
  }

  // Incidents aggregated so that a map and a timeline stay light however many there are: counts
  // on a lat/lon grid (cell_deg; the mean position of each cell's incidents) and counts by start
  // time (bin_s, chosen for at most ~400 bins when not given), with totals by kind/party/status/rule.
  void get_summary(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    IncidentQuery q;
    if (!parse_incident_query(req, res, q)) return;
    const bool is_public = c.role == "public";
    double cell = 0.05;
    if (req.has_param("cell_deg")) {
      cell = std::atof(req.get_param_value("cell_deg").c_str());
      if (!(cell >= 1e-4 && cell <= 10)) return send_error(res, 400, "invalid_argument", "expected 0.0001..10", "cell_deg");
    }
    if (is_public) cell = std::max(cell, opts_.public_grid_deg);  // no finer than the public grid
    std::int64_t bin_s = 0;
    if (req.has_param("bin_s")) {
      bin_s = std::atoll(req.get_param_value("bin_s").c_str());
      if (bin_s < 60 || bin_s > 366 * 86400) return send_error(res, 400, "invalid_argument", "expected 60..31622400", "bin_s");
    }
    auto index = current_index();
    if (!index.ok()) return send_error(res, 500, "store_failed", index.status().message());
    const IncidentIndex& ix = **index;
    std::shared_lock lk(index_mu_);  // statuses may be updated in place by a review
    // A filter list as name ids; a name no incident has matches nothing.
    auto ids = [&](const std::vector<std::string>& names) {
      std::vector<int> out;
      for (const auto& n : names) out.push_back(ix.id_of(n));
      return out;
    };
    const auto kinds = ids(q.kinds), parties = ids(q.parties), statuses = ids(q.statuses), rules = ids(q.rules);
    auto any = [](const std::vector<int>& want, int v) {
      return want.empty() || std::find(want.begin(), want.end(), v) != want.end();
    };
    const std::int64_t from_ms = q.f.from ? q.f.from->ms : std::numeric_limits<std::int64_t>::min();
    const std::int64_t to_ms = q.f.to ? q.f.to->ms : std::numeric_limits<std::int64_t>::max();
    struct Row {
      std::int64_t t;
      std::optional<std::pair<double, double>> pos;
      std::uint16_t kind, party, status;
    };
    std::vector<Row> rows;
    std::vector<std::int64_t> n_kind(ix.names.size()), n_party(ix.names.size()), n_status(ix.names.size()),
        n_rule(ix.names.size());
    const double g = opts_.public_grid_deg;
    for (const auto& r : ix.rows) {
      if (r.end_ms < from_ms || r.start_ms >= to_ms) continue;
      if (!any(kinds, r.kind) || !any(parties, r.party) || !any(statuses, r.status)) continue;
      if (!rules.empty()) {
        bool hit = false;
        for (std::uint32_t k = 0; k < r.rules_count && !hit; ++k) hit = any(rules, ix.rules[r.rules_begin + k]);
        if (!hit) continue;
      }
      Row out{r.start_ms, std::nullopt, r.kind, r.party, r.status};
      if (r.located) {
        out.pos = is_public ? std::pair{round_to_grid(r.lat, g), round_to_grid(r.lon, g)} : std::pair{r.lat, r.lon};
      }
      ++n_kind[r.kind];
      ++n_party[r.party];
      ++n_status[r.status];
      for (std::uint32_t k = 0; k < r.rules_count; ++k) ++n_rule[ix.rules[r.rules_begin + k]];
      rows.push_back(out);
    }
    auto count_json = [&](const std::vector<std::int64_t>& n) {
      json o = json::object();
      for (std::size_t i = 0; i < n.size(); ++i) {
        if (n[i]) o[ix.names[i]] = n[i];
      }
      return o;
    };
    const json by_kind = count_json(n_kind), by_party = count_json(n_party), by_status = count_json(n_status),
               by_rule = count_json(n_rule);
    // The grid: coarsened until it has at most summary_cells cells.
    struct Cell {
      std::int64_t n = 0;
      double lat = 0, lon = 0;
      std::map<std::uint16_t, std::int64_t> kind, party, status;
    };
    std::map<std::pair<std::int64_t, std::int64_t>, Cell> cells;
    std::int64_t located = 0;
    for (;;) {
      cells.clear();
      located = 0;
      for (const auto& r : rows) {
        if (!r.pos) continue;
        ++located;
        Cell& k = cells[{static_cast<std::int64_t>(std::floor(r.pos->first / cell)),
                         static_cast<std::int64_t>(std::floor(r.pos->second / cell))}];
        ++k.n;
        k.lat += r.pos->first;
        k.lon += r.pos->second;
        ++k.kind[r.kind];
        ++k.party[r.party];
        ++k.status[r.status];
      }
      if (cells.size() <= opts_.summary_cells || cell >= 10) break;
      cell *= 2;
    }
    auto top = [&](const std::map<std::uint16_t, std::int64_t>& m) {
      std::uint16_t best = 0;
      std::int64_t n = -1;
      for (const auto& [k, v] : m) {
        if (v > n || (v == n && ix.names[k] < ix.names[best])) best = k, n = v;
      }
      return ix.names[best];
    };
    json jcells = json::array();
    for (const auto& [key, k] : cells) {
      const double n = static_cast<double>(k.n);
      jcells.push_back({{"lat", std::round(k.lat / n * 1e5) / 1e5}, {"lon", std::round(k.lon / n * 1e5) / 1e5},
                        {"n", k.n}, {"kind", top(k.kind)}, {"party", top(k.party)}, {"status", top(k.status)}});
    }
    // The timeline over [from, to) when given, else over the span of what matched.
    json timeline = nullptr;
    std::int64_t lo = q.f.from ? q.f.from->ms : 0, hi = q.f.to ? q.f.to->ms : 0;
    if (!rows.empty()) {
      if (!q.f.from) lo = rows.front().t;
      if (!q.f.to) {
        hi = lo;
        for (const auto& r : rows) hi = std::max(hi, r.t + 1);
      }
    }
    if (hi > lo) {
      if (bin_s == 0) {
        static constexpr std::int64_t kSteps[] = {60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400, 28 * 86400};
        bin_s = kSteps[std::size(kSteps) - 1];
        for (auto s : kSteps) {
          if ((hi - lo) / (s * 1000) < 400) {
            bin_s = s;
            break;
          }
        }
      }
      const std::int64_t step = bin_s * 1000;
      const std::int64_t start = lo - ((lo % step) + step) % step;  // aligned to the step
      const std::int64_t n = std::min<std::int64_t>((hi - start + step - 1) / step, 100000);
      std::vector<std::int64_t> counts(static_cast<std::size_t>(std::max<std::int64_t>(n, 1)), 0);
      for (const auto& r : rows) {
        const std::int64_t i = (r.t - start) / step;
        if (r.t >= start && i < static_cast<std::int64_t>(counts.size())) ++counts[static_cast<std::size_t>(i)];
      }
      timeline = {{"start", format_instant(Instant{start})}, {"step_s", bin_s}, {"counts", counts}};
    }
    json body = {{"total", rows.size()}, {"located", located}, {"cell_deg", cell}, {"cells", jcells},
                 {"timeline", timeline}, {"by_kind", by_kind}, {"by_party", by_party}, {"by_status", by_status},
                 {"by_rule", by_rule}};
    if (!rows.empty()) {
      body["first"] = format_instant(Instant{rows.front().t});
      std::int64_t last = rows.front().t;
      for (const auto& r : rows) last = std::max(last, r.t);
      body["last"] = format_instant(Instant{last});
    }
    res.set_content(body.dump(), "application/json");
  }

  void get_humanitarian(const httplib::Request& req, httplib::Response& res) {
    std::int64_t at = now().ms / 86'400'000;
    if (req.has_param("at")) {
      auto d = agreement::parse_date(req.get_param_value("at"));
      if (!d.ok()) return send_error(res, 400, "invalid_argument", d.status().message(), "at");
      at = *d;
    }
    Result<pipeline::MovementRecords> m = Status::Internal("");
    {
      std::lock_guard lk(store_mu_);
      m = pipeline::movement_records(*store_);
    }
    if (!m.ok()) return send_error(res, 500, "store_failed", m.status().message());
    res.set_content(agreement::summary_json(agreement::summarize(m->crossings, m->baselines, at)), "application/json");
  }

  // The report a mission publishes: the same model and renderers as `truce report daily`. The
  // public role always gets the redacted edition.
  void get_daily_report(const httplib::Request& req, httplib::Response& res, const Caller& c) {
    if (!req.has_param("date")) return send_error(res, 400, "invalid_argument", "date=YYYY-MM-DD is required", "date");
    auto day = report::parse_day(req.get_param_value("date"));
    if (!day.ok()) return send_error(res, 400, "invalid_argument", day.status().message(), "date");
    const std::string format = req.has_param("format") ? req.get_param_value("format") : "json";
    if (format != "json" && format != "html" && format != "md")
      return send_error(res, 400, "invalid_argument", "format: expected json, html or md", "format");
    Result<report::ReportInputs> inputs = Status::Internal("");
    {
      std::lock_guard lk(store_mu_);
      inputs = pipeline::gather_report_inputs(*store_, *day);
    }
    if (!inputs.ok()) return send_error(res, 500, "store_failed", inputs.status().message());
    report::Options o;
    o.public_view = c.role == "public";
    o.public_grid_deg = opts_.public_grid_deg;
    auto model = report::build_daily_report(*inputs, o);
    if (!model.ok()) return send_error(res, 500, "internal", model.status().message());
    if (format == "html") {
      // Self-contained: inline styles and SVG, nothing fetched.
      res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
      return res.set_content(report::to_html(*model), "text/html; charset=utf-8");
    }
    if (format == "md") return res.set_content(report::to_markdown(*model), "text/markdown; charset=utf-8");
    res.set_content(report::to_json(*model), "application/json");
  }

  // Anyone may ask, so a client learns whether its token is still good without a failing call.
  void get_me(httplib::Response& res, const Caller& c) {
    json j = {{"role", c.role.empty() ? json(nullptr) : json(c.role)},
              {"name", c.user ? json(c.user->name) : json(nullptr)},
              {"credentials", c.bad_credentials ? "invalid" : c.user ? "valid" : "none"},
              {"public_view", opts_.public_view}};
    res.set_content(j.dump(), "application/json");
  }

  // The dashboard: files under web_dir, "/" is index.html. Never a path outside web_dir.
  void static_file(const httplib::Request& req, httplib::Response& res) {
    const std::string& path = req.path;
    if (path == "/api" || path.rfind("/api/", 0) == 0) return send_error(res, 404, "not_found", "no such endpoint");
    if (opts_.web_dir.empty()) return send_error(res, 404, "not_found", "no such endpoint (this server has no dashboard)");
    std::string rel = path == "/" ? "index.html" : path.substr(1);
    const bool bad = rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos ||
                     rel.find('\0') != std::string::npos || rel.find("//") != std::string::npos || rel.front() == '/';
    if (bad) return send_error(res, 404, "not_found", "no such file");
    namespace fs = std::filesystem;
    const fs::path file = fs::path(opts_.web_dir) / rel;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      if (rel == "index.html") {
        return send_error(res, 404, "not_found",
                          "the dashboard is not built: run `make build` (or npm ci && npm run build in web/), or "
                          "give truce serve --web DIR");
      }
      return send_error(res, 404, "not_found", "no such file");
    }
    const auto size = fs::file_size(file, ec);
    if (ec || size > (64u << 20)) return send_error(res, 500, "internal", "cannot read " + rel);
    std::ifstream in(file, std::ios::binary);
    std::string body(static_cast<std::size_t>(size), '\0');
    if (!in.read(body.data(), static_cast<std::streamsize>(size))) return send_error(res, 500, "internal", "cannot read " + rel);
    // Vite names its assets by content hash: they never change. Everything else is revalidated.
    res.set_header("Cache-Control", rel.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (rel == "index.html") {
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: "
                     "https: http:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'");
      res.set_header("Referrer-Policy", "no-referrer");
    }
    res.set_content(std::move(body), content_type_of(file));
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
    io::XformMeta meta;
    if (auto e = io::parse_xform_submission(file.content, row, storage, meta)) {
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
        o.supersedes = meta.deprecated_id;
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
  // The incident index for summaries: rebuilt (on its own read connection, without holding
  // store_mu_) when the store's fusion cursor or agreement changed, when this server changed
  // incidents, or after kIndexMaxAge; reviews made here update it in place.
  std::shared_ptr<IncidentIndex> index_;
  std::shared_mutex index_mu_;   // guards index_ and its rows' statuses
  std::mutex index_build_mu_;    // one build at a time
  std::atomic<std::uint64_t> writes_{0};  // changes this server made that the index may not show
  bool building_ = false;                 // under index_mu_: a build is reading the store
  std::vector<std::pair<std::string, std::string>> reviews_during_build_;  // under index_mu_
  std::atomic<bool> closing_{false};
  std::atomic<bool> refreshing_{false};  // warm_ is building the index
  std::thread warm_;
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
  s->warm_index();
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace truce::server
