// Private to the server module: the server's state and its handlers. The engine and the route
// table are in server.cpp and routes.cpp, authentication in auth.cpp, and the handlers by resource:
// observations.cpp, incidents.cpp, incident_index.cpp (the summary), mission.cpp (documents,
// agreement, reports), openrosa.cpp and static_files.cpp.
#pragma once

#include <openssl/evp.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <regex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "server/engine.h"
#include "server/events.h"
#include "server/group_commit.h"
#include "server/internal.h"
#include "server/live_fusion.h"
#include "server/multipart.h"
#include "truce/agreement/humanitarian.h"
#include "truce/agreement/term.h"
#include "truce/core/decimal.h"
#include "truce/geo/gazetteer.h"
#include "truce/ingest/ingest.h"
#include "truce/io/openrosa.h"
#include "truce/io/tabular.h"
#include "truce/pipeline/mission.h"
#include "truce/pipeline/report.h"
#include "truce/report/report.h"
#include "truce/server/server.h"
#include "truce/store/store.h"

namespace truce::server {
using nlohmann::json;

// Who is asking. Anonymous requests have no user and role "" (or "public" with the public view).
struct Caller {
  std::optional<User> user;
  std::string role;
  bool bad_credentials = false;
};

struct Route {
  std::string method;  // GET, POST, PATCH, HEAD
  std::string path;    // OpenAPI form, e.g. /api/v1/observations
  std::string summary;
  std::vector<std::string> roles;  // who may call it; empty = anyone, even unauthenticated
  bool openrosa = false;           // answers 401 with a Digest challenge
  std::function<void(const Request&, Response&, const Caller&)> handler;
  std::vector<std::string> params{};  // the query parameters it takes (others get 400)
  std::regex pattern{};               // the path as a regular expression, compiled once by ServerImpl::add
  bool literal = false;               // no {parameters}: the path is compared as it is
};

// "/api/v1/incidents/{id}" -> "/api/v1/incidents/([^/]+)"
std::string path_pattern(const std::string& openapi_path);

std::string base64_decode(const std::string& in);

void send_error(Response& res, int status, std::string_view code, const std::string& message,
                const std::string& field = "");

// The HTTP status of a truce status code (kInvalidArgument 422, kNotFound 404, kConflict 409,
// kIOError 503, kUnsupported 501, else 500), and an error answer made from a Status.
int http_status(Code code);

// Strict query parameters: only the route's own names, each at most once, UTF-8; numbers whole
// (or decimal) and in range, nothing after them ("10abc" is refused). Each answers 400 naming the
// parameter itself and returns false; an absent parameter leaves `out` as it was.
bool check_params(const Request& req, Response& res, const std::vector<std::string>& allowed);
bool int_param(const Request& req, Response& res, const char* name, std::int64_t lo, std::int64_t hi,
               std::int64_t& out);
bool double_param(const Request& req, Response& res, const char* name, double lo, double hi, double& out);
void send_status(Response& res, const Status& st, const std::string& field = "");

// The current incident with this id, or nullopt.
Result<std::optional<StoredIncident>> find_incident(Store& store, const std::string& id);

json observation_json(const StoredObservation& so);

// Splits "a,b,c" into its non-empty parts.
std::vector<std::string> split_list(const std::string& s);

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
      if (v.is_object() && v.contains("rule") && v["rule"].is_string() &&
          any(rules, v["rule"].get<std::string>()))
        return true;
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
    bool alive = true;  // false: retired since the index was built
    std::uint16_t kind = 0, party = 0, status = 0;
    std::uint32_t rules_begin = 0, rules_count = 0;  // into `rules`
  };
  std::vector<Row> rows;
  std::vector<std::uint16_t> rules;  // rule name ids, flattened
  std::vector<std::string> names;    // interned kinds, parties, statuses and rules
  std::unordered_map<std::string, std::uint16_t> name_ids;
  std::unordered_map<std::string, std::uint32_t> row_of;  // incident id -> row
  IncidentCursor cursor;                                  // the store's change cursor the rows are as of

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
std::string content_type_of(const std::filesystem::path& p);

// Read connections for large pages, kept for reuse so that a long read holds up no write.
struct ReaderPool {
  std::function<Result<std::unique_ptr<Store>>()> open;
  std::mutex mu;
  std::vector<std::unique_ptr<Store>> idle;
  Result<std::unique_ptr<Store>> acquire() {
    {
      std::lock_guard lk(mu);
      if (!idle.empty()) {
        auto s = std::move(idle.back());
        idle.pop_back();
        return s;
      }
    }
    return open();
  }
  void release(std::unique_ptr<Store> s) {
    std::lock_guard lk(mu);
    if (idle.size() < 8) idle.push_back(std::move(s));
  }
};

// Renderings of incidents by a key that names them for good (incident and review versions), so
// that a page of 100 incidents is a concatenation instead of 100 JSON parses. Bounded: emptied
// when it holds `capacity` entries.
class RenderCache {
 public:
  explicit RenderCache(std::size_t capacity = 50000) : capacity_(capacity) {}
  std::shared_ptr<const std::string> get(const std::string& key) {
    std::lock_guard lk(mu_);
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  void put(const std::string& key, std::shared_ptr<const std::string> v) {
    std::lock_guard lk(mu_);
    if (map_.size() >= capacity_) map_.clear();
    map_.emplace(key, std::move(v));
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> map_;
  std::size_t capacity_;
};

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(Options opts) : opts_(std::move(opts)) {}
  ~ServerImpl() override {
    closing_ = true;
    engine_.reset();  // stops serving and waits for the handlers in progress
    committer_.reset();
    events_.close();
    if (live_) live_->stop();
    if (warm_.joinable()) warm_.join();
  }

  // Starts the live fuser: what the server accepts is fused on its own thread and connection.
  Status start_live();

  // Builds the incident index in the background so the dashboard's first summary is quick.
  void warm_index();

  Status init();

  int port() const override { return port_; }

  Status bind();

  Status listen() override;

  void stop() override;

 private:
  Instant now() const;

  void log(const Request& req, const Response& res, std::size_t bytes_out);

  // Every request: the route table, its roles and parameters, 404/405, the request counters.
  void handle(Request& req, Response& res);

  // Runs a route: authentication, its roles, its query parameters, then its handler.
  void run_route(const Route& route, Request& req, Response& res);

  // --- authentication ---
  // Bearer tokens everywhere; HTTP Digest (and Basic, when allowed) only on the OpenRosa routes,
  // whose clients cannot send a Bearer token: a Digest HA1 unlocks nothing else.
  Caller authenticate(const Request& req, const Route& route);

  // "<unix seconds>-<random>-<MAC>": fresh for every challenge (so that nonce counts can be
  // tracked per nonce), checkable without storing it, and refused after 10 minutes.
  std::string make_nonce();

  bool nonce_fresh(const std::string& nonce);

  std::optional<User> check_digest(const Request& req, const std::string& params);

  void challenge(Response& res);

  // --- routes ---
  void add(Route r);

  std::vector<std::string> readers() const;

  void define_routes();

  json openapi() const;

  void healthz(Response& res);

  void metrics(Response& res);

  // Parses a JSON body with a depth bound; answers 400/413 itself and returns nullopt on failure.
  std::optional<json> parse_body(const Request& req, Response& res);

  void post_observations(const Request& req, Response& res, const Caller& c);

  // Stores and answers: 201 created, 200 all duplicates, 409 conflict, 422 invalid.
  void store_submissions(std::vector<ingest::Submission> subs, const std::string& source, Response& res,
                         bool openrosa);

  void get_observations(const Request& req, Response& res);

  void get_observers(Response& res);

  void get_document(Response& res, const std::string& name);

  void get_stats(Response& res, const Caller& c);

  void get_rejects(const Request& req, Response& res);

  // --- incidents ---
  // An incident as the API shows it: fusion's content, its version, and the latest review. The
  // public view drops observation ids and notes and rounds the origin to the public grid.
  // role "public": opaque ids, grid positions, whole kilometres, minutes, rule titles (`titles`:
  // rule id -> title); "observer": no notes, no sector; staff: everything and the notes.
  json incident_json(const StoredIncident& si, const IncidentReview& rv, const Caller& c,
                     const std::map<std::string, std::string>* titles) const;
  // The id the public view shows for an incident: a keyed hash, stable for the database.
  std::string public_id(const std::string& id) const;
  // The agreement's rule titles by rule id, parsed again only when the agreement changes.
  std::shared_ptr<const std::map<std::string, std::string>> rule_titles();

  void get_incidents(const Request& req, Response& res, const Caller& c);

  void get_incident(const Request& req, Response& res, const Caller& c);

  // The change feed as text/event-stream, written by the engine's I/O threads as events come
  // (a stream holds no worker); at most Options::max_event_streams at once.
  void get_events(const Request& req, Response& res, const Caller& c);

  void patch_incident(const Request& req, Response& res, const Caller& c);

  // The index as the store is now. Exact: the store's change cursor says whether any incident or
  // review changed (by anyone, in any process); what changed since the index was read is applied
  // to it, and only a large change (or none built yet) reads every incident again.
  Result<std::shared_ptr<IncidentIndex>> current_index();

  // Applies what changed since ix was read; false when that is too much to apply row by row.
  Result<bool> update_index(IncidentIndex& ix);

  // Sets (or adds) the index row of one current incident.
  static void index_row(IncidentIndex& ix, const StoredIncident& si, const IncidentReview& rv);

  // Reads every current incident, on a read connection of its own so that API requests go on.
  Result<std::shared_ptr<IncidentIndex>> build_index();

  // Parses the filters shared by /incidents and /incidents/summary; answers 400 itself on failure.
  bool parse_incident_query(const Request& req, Response& res, IncidentQuery& q);

  // Incidents aggregated so that a map and a timeline stay light however many there are: counts
  // on a lat/lon grid (cell_deg; the mean position of each cell's incidents) and counts by start
  // time (bin_s, chosen for at most ~400 bins when not given), with totals by kind/party/status/rule.
  void get_summary(const Request& req, Response& res, const Caller& c);

  void get_humanitarian(const Request& req, Response& res);

  // The report a mission publishes: the same model and renderers as `truce report daily`. The
  // public role always gets the redacted edition.
  void get_daily_report(const Request& req, Response& res, const Caller& c);

  // Anyone may ask, so a client learns whether its token is still good without a failing call.
  void get_me(Response& res, const Caller& c);

  // The dashboard: files under web_dir, "/" is index.html. Never a path outside web_dir.
  void static_file(const Request& req, Response& res);

  void get_mandate(const Request& req, Response& res);

  // --- OpenRosa ---
  void openrosa_reply(Response& res, int status, const std::string& message);

  void form_list(const Request& req, Response& res);

  void submission(const Request& req, Response& res, const Caller& c);

  static constexpr std::int64_t kMaxIncidentPage = 5000;

  Options opts_;
  ReaderPool readers_;
  RenderCache renders_;
  std::string public_id_key_;  // the key of public ids (document "public.id_key")
  // Public id -> incident id, rebuilt (under store_mu_) only when the incidents changed: a public
  // lookup is then one hash, not a digest of every incident.
  std::unordered_map<std::string, std::string> public_ids_;
  std::optional<std::int64_t> public_ids_versions_;
  std::mutex titles_mu_;
  std::shared_ptr<const std::map<std::string, std::string>> titles_;  // under titles_mu_
  std::size_t titles_key_ = 0;
  std::unique_ptr<HttpEngine> engine_;
  std::unique_ptr<GroupCommitter> committer_;  // the write routes' observations, on a connection of its own
  std::unique_ptr<Store> store_;
  // The incident index for summaries: built once (on its own read connection, without holding
  // store_mu_), then brought up to date from the store's change feed before each use.
  std::shared_ptr<IncidentIndex> index_;
  std::shared_mutex index_mu_;  // guards index_ and its rows
  std::mutex index_build_mu_;   // one build or update at a time
  std::atomic<bool> closing_{false};
  std::thread warm_;
  EventLog events_;
  std::unique_ptr<LiveFusion> live_;
  std::atomic<int> streams_{0};  // open /api/v1/events streams
  std::mutex store_mu_;          // the Store is single-threaded; requests take turns
  std::mutex log_mu_;
  std::map<std::pair<std::string, int>, std::int64_t> requests_;
  std::deque<Route> routes_;  // a deque: handlers keep references to their route, which push_back never moves
  std::string nonce_secret_;
  std::mutex nonce_mu_;
  std::unordered_map<std::string, unsigned long> nonce_counts_;  // under nonce_mu_: last nc per nonce
  int port_ = -1;
  std::atomic<bool> listen_called_{false}, listen_returned_{false}, stop_requested_{false};
};

}  // namespace truce::server
