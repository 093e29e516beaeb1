// The HTTP API and OpenRosa endpoints over real HTTP on loopback, with a real SQLite database.
#include "truce/server/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "test_util.h"
#include "truce/agreement/humanitarian.h"
#include "truce/geo/gazetteer.h"
#include "truce/ingest/ingest.h"
#include "truce/store/store.h"

namespace truce {
namespace {

using nlohmann::json;
const std::string kObservers = std::string(TRUCE_SOURCE_DIR) + "/tests/data/ingest/observers.csv";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start(false); }
  void TearDown() override { stop(); }

  void start(bool public_view) {
    db_ = dir_.file("m.db");
    if (!std::filesystem::exists(db_)) {
      SqliteOptions so;
      so.create = true;
      auto s = open_sqlite_store(db_, so);
      ASSERT_TRUE(s.ok());
      ingest::Options io;
      ASSERT_TRUE(ingest::import_observers(**s, {kObservers}, io)->clean());
      for (auto [name, role] : {std::pair{"obs", "observer"}, {"ana", "analyst"}, {"adm", "admin"}}) {
        const std::string tok = *server::new_token();
        User u{
            name, role,
            role == std::string("observer") ? std::vector<std::string>{"M001"} : std::vector<std::string>{},
            server::digest_ha1(name, "truce", tok)};
        ASSERT_TRUE((*s)->add_user(u, server::token_hash(tok)).ok());
        tokens_[role] = tok;
      }
      for (const char* d : {"zones", "loc"}) {
        ASSERT_TRUE((*s)->put_document(d, R"({"type":"FeatureCollection","features":[]})").ok());
      }
      geo::Gazetteer places;
      places.add(geo::Place{"Martuni", LatLon{39.7937, 47.1146}, "PPL", 5400, "AZ",
                            std::string(geo::kGeoNamesCredit), 1});
      ASSERT_TRUE((*s)->put_document("places", places.serialize()).ok());
      ASSERT_TRUE((*s)->put_document("agreement", testing::read_file(std::string(TRUCE_SOURCE_DIR) +
                                                                     "/data/karabakh/agreement.json"))
                      .ok());
      StoredIncident inc;
      inc.id = "inc-1";
      inc.start = *parse_instant("2023-09-01T21:38:00Z");
      inc.end = *parse_instant("2023-09-01T21:39:00Z");
      inc.kind = "mortar";
      inc.party = "A";
      inc.lat = 39.91234;
      inc.lon = 46.83456;
      inc.observation_ids = {"o1", "o2"};
      inc.content = R"({"id":"inc-1","kind":"mortar","status":"corroborated","lat":39.91234,"lon":46.83456,)"
                    R"("party":"A","observations":["o1","o2"],"ellipse":{"semi_major_m":400}})";
      ASSERT_TRUE((*s)->replace_incidents({"o1", "o2"}, {inc}).ok());
    }
    server::Options o;
    o.db_path = db_;
    o.port = 0;
    o.public_view = public_view;
    o.max_body_bytes = 64 * 1024;
    o.threads = 4;
    o.read_timeout_s = 2;
    o.clock = &clock_;
    o.web_dir = web_dir_;
    auto s = server::Server::create(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    thread_ = std::thread([this] { (void)server_->listen(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
  }
  void stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  httplib::Headers auth(const std::string& role) {
    if (role.empty()) return {};
    if (role == "wrong") return {{"Authorization", "Bearer 0000"}};
    return {{"Authorization", "Bearer " + tokens_[role]}};
  }
  httplib::Result post(const std::string& path, const std::string& body, const std::string& role) {
    return client_->Post(path.c_str(), auth(role), body, "application/json");
  }
  static std::string obs(const std::string& id, const std::string& extra = "") {
    return R"({"observation_id":")" + id +
           R"(","time":"2023-09-01T21:38:41Z","observer_id":"M001","kind":"mortar","bearing_deg":92.5)" +
           extra + "}";
  }

  testing::TempDir dir_;
  std::string db_;
  std::string web_dir_;  // the dashboard's files, when a test serves them
  FixedClock clock_{*parse_instant("2023-10-01T00:00:00Z")};
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, PostStatusesFollowTheOutcome) {
  auto created = post("/api/v1/observations", obs("a1"), "observer");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(created->get_header_value("X-OpenRosa-Version"), "1.0");
  auto dup = post("/api/v1/observations", obs("a1"), "observer");
  EXPECT_EQ(dup->status, 200);
  EXPECT_EQ(json::parse(dup->body)["duplicates"], 1);
  auto conflict = post("/api/v1/observations", obs("a1", R"(,"count":7)"), "observer");
  EXPECT_EQ(conflict->status, 409);
  EXPECT_EQ(json::parse(conflict->body)["error"]["field"], "count");
  auto invalid =
      post("/api/v1/observations", "[" + obs("a2", R"(,"count":0)") + "," + obs("a3") + "]", "analyst");
  EXPECT_EQ(invalid->status, 422);
  auto body = json::parse(invalid->body);
  EXPECT_EQ(body["error"]["field"], "count");
  EXPECT_EQ(body["error"]["message"], "expected a whole number >= 1");
  EXPECT_EQ(body["results"][1]["status"], "accepted");
}

// A rejected element of a batch is quarantined as it was received (not re-serialised), and the
// answer, written without a JSON tree, escapes what ids hold.
TEST_F(ServerTest, RejectedBatchItemIsQuarantinedAsReceived) {
  const std::string bad = obs("b1", R"(,  "count" : 0)");
  auto r = post("/api/v1/observations", "[\n " + bad + " ,\t" + obs(R"(q\"\\1)") + "]", "analyst");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  auto body = json::parse(r->body);
  EXPECT_EQ(body["accepted"], 1);
  EXPECT_EQ(body["rejected"], 1);
  EXPECT_EQ(body["results"][0]["index"], 0);
  EXPECT_EQ(body["results"][0]["error"]["field"], "count");
  EXPECT_EQ(body["results"][1]["observation_id"], "q\"\\1");
  EXPECT_EQ(body["results"][1]["status"], "accepted");
  auto store = open_sqlite_store(db_, {});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<Reject> rejects;
  ASSERT_TRUE((*store)
                  ->scan_rejects([&](const Reject& rj) {
                    rejects.push_back(rj);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].raw, bad);
  EXPECT_EQ(rejects[0].line, 1);
}

// Single-observation POSTs from many clients at once share durable transactions (group commit):
// every 201 is stored, each answer is its own request's, and there are fewer commits than requests.
TEST_F(ServerTest, ConcurrentSinglePostsShareCommitsAndEveryAcknowledgedOneIsStored) {
  constexpr int kThreads = 8, kEach = 40;
  std::atomic<int> created{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", server_->port());
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "gc-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = c.Post("/api/v1/observations", auth("analyst"), obs(id), "application/json");
        if (r && r->status == 201 && json::parse(r->body)["results"][0]["observation_id"] == id) {
          ++created;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(created, kThreads * kEach);
  EXPECT_EQ(other, 0);
  SqliteOptions so;
  auto s = open_sqlite_store(db_, so);  // another connection: what was committed, not cached
  ASSERT_TRUE(s.ok());
  ObservationFilter f;
  f.limit = 100000;
  int stored = 0;
  ASSERT_TRUE((*s)->scan_observations(f,
                                      [&](const StoredObservation& so2) {
                                        stored += so2.obs.id.rfind("gc-", 0) == 0;
                                        return true;
                                      })
                  .ok());
  EXPECT_EQ(stored, kThreads * kEach);
  auto m = client_->Get("/metrics", auth("admin"));
  ASSERT_TRUE(m);
  std::smatch commits, requests;
  ASSERT_TRUE(std::regex_search(m->body, commits, std::regex("truce_group_commits_total (\\d+)")));
  ASSERT_TRUE(std::regex_search(m->body, requests, std::regex("truce_group_commit_requests_total (\\d+)")));
  EXPECT_GE(std::stoi(requests[1]), kThreads * kEach);
  EXPECT_LT(std::stoi(commits[1]), std::stoi(requests[1])) << "no two requests shared a commit";
}

TEST_F(ServerTest, ObserverMaySubmitOnlyForItsObservers) {
  auto r =
      post("/api/v1/observations",
           R"({"observation_id":"z","time":"2023-09-01T21:38:41Z","observer_id":"A0001","kind":"drone"})",
           "observer");
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["error"]["message"], "user obs may not submit for observer A0001 (item 0)");
}

TEST_F(ServerTest, MalformedBodiesAreRefusedWithErrors) {
  EXPECT_EQ(post("/api/v1/observations", "{not json", "analyst")->status, 400);
  EXPECT_EQ(post("/api/v1/observations", std::string(100, '[') + std::string(100, ']'), "analyst")->status,
            400);
  EXPECT_EQ(post("/api/v1/observations", "[]", "analyst")->status, 422);
  EXPECT_EQ(post("/api/v1/observations", "42", "analyst")->status, 422);
  auto big = post("/api/v1/observations", "[" + std::string(70 * 1024, ' ') + "]", "analyst");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

TEST_F(ServerTest, CursorPaginationWalksEverything) {
  std::string batch = "[";
  for (int i = 0; i < 25; ++i) batch += (i ? "," : "") + obs("p" + std::to_string(i));
  ASSERT_EQ(post("/api/v1/observations", batch + "]", "analyst")->status, 201);
  std::set<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r =
        client_->Get(("/api/v1/observations?limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor)).c_str(),
                     auth("analyst"));
    ASSERT_EQ(r->status, 200);
    auto j = json::parse(r->body);
    for (const auto& it : j["items"]) seen.insert(it["observation_id"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_EQ(client_->Get("/api/v1/observations?cursor=abc", auth("analyst"))->status, 400);
}

// Every route of the OpenAPI document, called by every kind of caller: the roles it lists get in,
// everyone else gets 401 (no or bad credentials) or 403 (a role without the right).
TEST_F(ServerTest, RoleEndpointMatrix) {
  auto spec = client_->Get("/api/v1/openapi.json");
  ASSERT_EQ(spec->status, 200);
  auto j = json::parse(spec->body);
  int checked = 0;
  for (const auto& [path, ops] : j["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::vector<std::string> roles = op["x-truce-roles"];
      for (const std::string caller : {"", "wrong", "observer", "analyst", "admin"}) {
        const std::string url = std::regex_replace(path, std::regex("\\{id\\}"), "inc-1");
        if (path == "/api/v1/events") {
          // A stream: only its status and first bytes are read.
          int status = 0;
          std::string body;
          // A stream the previous caller closed holds its worker until the server's next write.
          for (int tries = 0; tries < 50 && (status == 0 || status == 503); ++tries) {
            if (status == 503) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            status = 0;
            (void)client_->Get(
                url.c_str(), auth(caller),
                [&](const httplib::Response& res) {
                  status = res.status;
                  return true;
                },
                [&](const char* data, std::size_t n) {
                  body.append(data, n);
                  return status != 200;
                });
          }
          const bool allowed = std::find(roles.begin(), roles.end(), caller) != roles.end();
          EXPECT_EQ(status, allowed                               ? 200
                            : caller.empty() || caller == "wrong" ? 401
                                                                  : 403)
              << path << " as " << caller;
          ++checked;
          continue;
        }
        httplib::Result r = method == "get" ? client_->Get(url.c_str(), auth(caller))
                            : method == "patch"
                                ? client_->Patch(url.c_str(), auth(caller), "{}", "application/json")
                                : client_->Post(url.c_str(), auth(caller), "{}", "application/json");
        ASSERT_TRUE(r) << method << " " << path;
        const bool allowed = roles.empty() || std::find(roles.begin(), roles.end(), caller) != roles.end();
        if (allowed) {
          EXPECT_NE(r->status, 401) << method << " " << path << " as " << caller;
          EXPECT_NE(r->status, 403) << method << " " << path << " as " << caller;
          EXPECT_EQ(r->body.find("no such endpoint"), std::string::npos)
              << method << " " << path << " is in the OpenAPI document but not served";
        } else if (caller.empty() || caller == "wrong") {
          EXPECT_EQ(r->status, 401) << method << " " << path << " as " << caller;
        } else {
          EXPECT_EQ(r->status, 403) << method << " " << path << " as " << caller;
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 21 * 5);
}

TEST_F(ServerTest, PublicViewIsReadOnlyAndRedacted) {
  EXPECT_EQ(client_->Get("/api/v1/stats")->status, 401);
  stop();
  start(true);
  auto stats = client_->Get("/api/v1/stats");
  ASSERT_EQ(stats->status, 200);
  EXPECT_FALSE(json::parse(stats->body).contains("observers"));
  EXPECT_EQ(client_->Get("/api/v1/zones")->status, 200);
  EXPECT_EQ(client_->Get("/api/v1/observers")->status, 401);
  EXPECT_EQ(client_->Get("/api/v1/observations")->status, 401);
  EXPECT_EQ(post("/api/v1/observations", obs("q"), "")->status, 401);
}

TEST_F(ServerTest, IncidentReviewUsesOptimisticConcurrency) {
  auto list = client_->Get("/api/v1/incidents", auth("analyst"));
  ASSERT_EQ(list->status, 200);
  auto items = json::parse(list->body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["status"], "corroborated");
  EXPECT_EQ(items[0]["review_version"], 0);
  auto ok = client_->Patch("/api/v1/incidents/inc-1", auth("analyst"),
                           R"({"status":"verified","notes":"crater seen at dawn","version":0})",
                           "application/json");
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["review_version"], 1);
  auto stale = client_->Patch("/api/v1/incidents/inc-1", auth("admin"),
                              R"({"status":"disputed","version":0})", "application/json");
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(json::parse(stale->body)["error"]["field"], "version");
  auto bad = client_->Patch("/api/v1/incidents/inc-1", auth("analyst"), R"({"status":"maybe","version":1})",
                            "application/json");
  EXPECT_EQ(bad->status, 422);
  EXPECT_EQ(client_->Patch("/api/v1/incidents/nope", auth("analyst"), R"({"version":0})", "application/json")
                ->status,
            404);
  auto one = client_->Get("/api/v1/incidents/inc-1", auth("analyst"));
  ASSERT_EQ(one->status, 200);
  auto j = json::parse(one->body);
  EXPECT_EQ(j["status"], "verified");
  EXPECT_EQ(j["notes"], "crater seen at dawn");
  EXPECT_EQ(j["reviews"][0]["by"], "ana");
  EXPECT_EQ(j["history"][0]["change"], "created");
  EXPECT_EQ(client_->Get("/api/v1/incidents?status=verified", auth("analyst"))->body.find("inc-1") !=
                std::string::npos,
            true);
}

TEST_F(ServerTest, PublicIncidentsAreRoundedAndCarryNoObservations) {
  stop();
  start(true);
  auto list = client_->Get("/api/v1/incidents");
  ASSERT_EQ(list->status, 200);
  auto it = json::parse(list->body)["items"][0];
  EXPECT_FALSE(it.contains("observations"));
  EXPECT_FALSE(it.contains("notes"));
  EXPECT_NEAR(it["lat"].get<double>(), 39.90, 1e-9);
  EXPECT_NEAR(it["lon"].get<double>(), 46.85, 1e-9);
  // Ids are opaque: not made of observation ids, and the real id finds nothing.
  const std::string pub = it["id"];
  EXPECT_EQ(pub.rfind("pub-", 0), 0u) << pub;
  EXPECT_EQ(pub.find("inc-1"), std::string::npos);
  EXPECT_EQ(client_->Get("/api/v1/incidents/inc-1")->status, 404);
  auto one = json::parse(client_->Get(("/api/v1/incidents/" + pub).c_str())->body);
  EXPECT_EQ(one["id"], pub);
  EXPECT_FALSE(one.contains("observation_details"));
  EXPECT_FALSE(one.contains("reviews"));
}

// Regression: the public view published distance_to_loc_m to 0.1 m, exact times, the rules'
// explanations and ids made of observation ids. It shows whole kilometres, minutes, rule titles.
TEST_F(ServerTest, PublicViewIsNoFinerThanItsGrid) {
  {
    SqliteOptions so;
    auto s = open_sqlite_store(db_, so);
    StoredIncident inc;
    inc.id = "inc-obs-77";
    inc.start = *parse_instant("2023-09-02T10:15:41Z");
    inc.end = *parse_instant("2023-09-02T10:16:09Z");
    inc.kind = "artillery";
    inc.party = "B";
    inc.observation_ids = {"obs-77"};
    inc.content =
        R"({"id":"inc-obs-77","kind":"artillery","start":"2023-09-02T10:15:41Z","end":"2023-09-02T10:16:09Z",)"
        R"("distance_to_loc_m":2843.7,"sector":{"apex_lat":39.9,"apex_lon":46.8},)"
        R"("violations":[{"rule":"R1","explanation":"artillery at 10:15:41 from B"}]})";
    ASSERT_TRUE((*s)->replace_incidents({"obs-77"}, {inc}).ok());
  }
  stop();
  start(true);
  auto list = json::parse(client_->Get("/api/v1/incidents?kind=artillery")->body)["items"];
  ASSERT_EQ(list.size(), 1u);
  const auto& j = list[0];
  EXPECT_FALSE(j.contains("distance_to_loc_m"));
  EXPECT_EQ(j["distance_to_loc_km"], 3);  // 2,843.7 m to the nearest km, as the public report says it
  EXPECT_EQ(j["start"], "2023-09-02T10:15:00Z");
  EXPECT_EQ(j["end"], "2023-09-02T10:16:00Z");
  EXPECT_FALSE(j.contains("sector"));
  ASSERT_EQ(j["violations"].size(), 1u);
  EXPECT_EQ(j["violations"][0]["rule"], "R1");
  EXPECT_EQ(j["violations"][0]["title"], "ceasefire: no fire of any kind");
  EXPECT_FALSE(j["violations"][0].contains("explanation"));
  EXPECT_EQ(j.dump().find("obs-77"), std::string::npos) << j.dump();
  // The same id on every read (and after a restart).
  const std::string id = j["id"];
  stop();
  start(true);
  EXPECT_EQ(json::parse(client_->Get("/api/v1/incidents?kind=artillery")->body)["items"][0]["id"], id);
}

// Regression: an observer saw every post's position and bearings through /incidents/{id} and
// /reports/daily, and the analysts' notes. It sees its own posts' reports only, and no notes.
TEST_F(ServerTest, ObserverSeesItsOwnPostsOnlyAndNoNotes) {
  ASSERT_EQ(post("/api/v1/observations", obs("mine"), "observer")->status, 201);
  ASSERT_EQ(
      post(
          "/api/v1/observations",
          R"({"observation_id":"theirs","time":"2023-09-01T21:38:50Z","observer_id":"A0001","kind":"mortar","bearing_deg":80})",
          "analyst")
          ->status,
      201);
  {
    SqliteOptions so;
    auto s = open_sqlite_store(db_, so);
    StoredIncident inc;
    ASSERT_TRUE(
        (*s)->replace_incidents({"o1", "o2"}, {}).ok());  // the fixture's incident has no reports stored
    for (const char* d : {"zones", "loc"}) {              // the report draws the mission's map
      ASSERT_TRUE((*s)->put_document(d, testing::read_file(std::string(TRUCE_SOURCE_DIR) + "/data/example/" +
                                                           d + ".geojson"))
                      .ok());
    }
    inc.id = "inc-mine";
    inc.start = *parse_instant("2023-09-01T21:38:41Z");
    inc.end = *parse_instant("2023-09-01T21:38:50Z");
    inc.kind = "mortar";
    inc.party = "A";
    inc.observation_ids = {"mine", "theirs"};
    inc.content =
        R"({"id":"inc-mine","kind":"mortar","party":"A","status":"corroborated","start":"2023-09-01T21:38:41Z",)"
        R"("end":"2023-09-01T21:38:50Z","reports":2,"sector":{"apex_lat":39.9,"apex_lon":46.8}})";
    ASSERT_TRUE((*s)->replace_incidents({"mine", "theirs"}, {inc}).ok());
  }
  ASSERT_EQ(
      client_
          ->Patch("/api/v1/incidents/inc-mine", auth("analyst"),
                  R"({"status":"disputed","notes":"source B unreliable","version":0})", "application/json")
          ->status,
      200);
  auto as_observer = json::parse(client_->Get("/api/v1/incidents/inc-mine", auth("observer"))->body);
  ASSERT_EQ(as_observer["observation_details"].size(), 1u);
  EXPECT_EQ(as_observer["observation_details"][0]["observation_id"], "mine");
  EXPECT_FALSE(as_observer.contains("notes"));
  EXPECT_FALSE(as_observer.contains("sector"));
  EXPECT_FALSE(as_observer["reviews"][0].contains("notes"));
  EXPECT_EQ(as_observer.dump().find("unreliable"), std::string::npos);
  auto listed = json::parse(client_->Get("/api/v1/incidents", auth("observer"))->body);
  EXPECT_EQ(listed.dump().find("unreliable"), std::string::npos);
  // Staff see everything.
  auto as_analyst = json::parse(client_->Get("/api/v1/incidents/inc-mine", auth("analyst"))->body);
  EXPECT_EQ(as_analyst["observation_details"].size(), 2u);
  EXPECT_EQ(as_analyst["notes"], "source B unreliable");
  // The daily report an observer gets is the edition without posts or notes.
  auto report_r = client_->Get("/api/v1/reports/daily?date=2023-09-01", auth("observer"));
  ASSERT_EQ(report_r->status, 200) << report_r->body;
  auto report = json::parse(report_r->body);
  EXPECT_EQ(report["public"], true);
  EXPECT_EQ(
      json::parse(client_->Get("/api/v1/reports/daily?date=2023-09-01", auth("analyst"))->body)["public"],
      false);
}

// Regression: limit=10abc was read as 10 and date=%ff gave 500. Parameters are parsed strictly
// and a bad one is a 400 that names it.
TEST_F(ServerTest, QueryParametersAreParsedStrictly) {
  struct Case {
    const char* url;
    const char* field;
  };
  for (const Case& c :
       {Case{"/api/v1/incidents?limit=10abc", "limit"}, Case{"/api/v1/incidents?limit=0", "limit"},
        Case{"/api/v1/incidents?limit=100000", "limit"}, Case{"/api/v1/incidents?limit=", "limit"},
        Case{"/api/v1/incidents?limit=5&limit=6", "limit"}, Case{"/api/v1/incidents?colour=red", "colour"},
        Case{"/api/v1/incidents?cursor=abc", "cursor"}, Case{"/api/v1/incidents?kind=%ff", "kind"},
        Case{"/api/v1/reports/daily?date=%ff", "date"}, Case{"/api/v1/incidents/summary?bin_s=60s", "bin_s"},
        Case{"/api/v1/incidents/summary?cell_deg=0.1x", "cell_deg"},
        Case{"/api/v1/observations?limit=1e3", "limit"}, Case{"/api/v1/rejects?limit=-1", "limit"},
        Case{"/api/v1/stats?x=1", "x"}}) {
    auto r = client_->Get(c.url, auth("analyst"));
    ASSERT_TRUE(r) << c.url;
    EXPECT_EQ(r->status, 400) << c.url << " " << r->body;
    auto j = json::parse(r->body);
    EXPECT_EQ(j["error"]["field"], c.field) << c.url;
  }
  EXPECT_EQ(client_->Get("/api/v1/incidents?limit=5000", auth("analyst"))->status, 200);
}

// Regression: --web followed symbolic links (a link to /etc/passwd was served).
TEST_F(ServerTest, DashboardNeverFollowsASymbolicLink) {
  stop();
  web_dir_ = dir_.file("web");
  std::filesystem::create_directories(web_dir_);
  testing::write_file(web_dir_ + "/index.html", "<!doctype html>");
  testing::write_file(dir_.file("outside.txt"), "not for the web");
  std::filesystem::create_directories(dir_.file("outside-dir"));
  testing::write_file(dir_.file("outside-dir/x.js"), "not for the web");
  std::filesystem::create_symlink(dir_.file("outside.txt"), web_dir_ + "/link.txt");
  std::filesystem::create_symlink("/etc/passwd", web_dir_ + "/passwd");
  std::filesystem::create_directory_symlink(dir_.file("outside-dir"), web_dir_ + "/assets");
  start(false);
  EXPECT_EQ(client_->Get("/")->status, 200);
  for (const char* path : {"/link.txt", "/passwd", "/assets/x.js"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("not for the web"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << path;
  }
}

TEST_F(ServerTest, MandateAnswersForAnInstant) {
  auto m = client_->Get("/api/v1/mandate?at=2023-10-13T00:00:00Z", auth("analyst"));
  ASSERT_EQ(m->status, 200) << m->body;
  EXPECT_NE(m->body.find("2025-05-09T21:00:00Z"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("2025-11-09T21:00:00Z"), std::string::npos) << m->body;
  EXPECT_EQ(client_->Get("/api/v1/mandate?at=soon", auth("analyst"))->status, 400);
}

// A raw TCP connection to the server on loopback, for bytes no HTTP client would send; -1 on failure.
// MD5 as hex, what a Digest client computes.
std::string md5_hex(const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), out, &n, EVP_md5(), nullptr);
  std::string h;
  char b[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", out[i]);
    h += b;
  }
  return h;
}

std::string submission_xml(const std::string& instance, int count) {
  return "<?xml version='1.0' ?><data id=\"truce_observation\"><observer_id>M001</observer_id>"
         "<time>2023-09-02T01:38:41.000+04:00</time><location>39.9 46.7 800 "
         "5</location><kind>artillery</kind>"
         "<bearing_deg>88</bearing_deg><distance_m>9000</distance_m><count>" +
         std::to_string(count) + "</count><meta><instanceID>" + instance + "</instanceID></meta></data>";
}

// As ODK Collect does it: HEAD first, then a multipart POST with Digest auth; a resend after a
// dropped connection carries the same instanceID.
TEST_F(ServerTest, OpenRosaSubmissionWithDigestAndResend) {
  httplib::Client c("127.0.0.1", server_->port());
  auto noauth = c.Head("/submission");
  ASSERT_TRUE(noauth);
  EXPECT_EQ(noauth->status, 401);
  EXPECT_NE(noauth->get_header_value("WWW-Authenticate").find("Digest realm=\"truce\""), std::string::npos);
  c.set_digest_auth("obs", tokens_["observer"].c_str());
  auto head = c.Head("/submission");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 204);
  EXPECT_EQ(head->get_header_value("X-OpenRosa-Accept-Content-Length"), "65536");
  auto list = c.Get("/formList");
  ASSERT_EQ(list->status, 200);
  EXPECT_NE(list->body.find("<formID>truce_observation</formID>"), std::string::npos);
  EXPECT_NE(list->body.find("<hash>md5:"), std::string::npos);
  auto form = c.Get("/forms/truce_observation.xml");
  EXPECT_EQ(form->status, 200);
  const std::string id = "uuid:00000000-0000-4000-8000-000000000001";
  httplib::MultipartFormDataItems parts = {
      {"xml_submission_file", submission_xml(id, 3), "submission.xml", "text/xml"}};
  auto first = c.Post("/submission", parts);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201) << first->body;
  EXPECT_EQ(first->get_header_value("X-OpenRosa-Version"), "1.0");
  auto resend = c.Post("/submission", parts);
  EXPECT_EQ(resend->status, 201);
  httplib::MultipartFormDataItems changed = {
      {"xml_submission_file", submission_xml(id, 4), "submission.xml", "text/xml"}};
  EXPECT_EQ(c.Post("/submission", changed)->status, 409);
  auto list_obs = client_->Get("/api/v1/observations", auth("analyst"));
  auto items = json::parse(list_obs->body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["observation_id"], id);
  EXPECT_EQ(items[0]["channel"], "openrosa");
  EXPECT_EQ(items[0]["time"], "2023-09-01T21:38:41Z");
  EXPECT_EQ(items[0]["observer_lat"], 39.9);
  httplib::MultipartFormDataItems bad = {{"xml_submission_file", "<data id='other'/>", "s.xml", "text/xml"}};
  auto refused = c.Post("/submission", bad);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("expected a submission of form truce_observation"), std::string::npos);
}

// ODK Collect sends an edited report with a new instanceID and the old one as deprecatedID: both
// are kept and the edit names the original. Bytes that are not UTF-8 are refused by field, and the
// quarantine still lists as JSON.
TEST_F(ServerTest, OpenRosaEditedSubmissionAndInvalidUtf8) {
  httplib::Client c("127.0.0.1", server_->port());
  c.set_digest_auth("obs", tokens_["observer"].c_str());
  auto post = [&](const std::string& xml) {
    httplib::MultipartFormDataItems parts = {{"xml_submission_file", xml, "submission.xml", "text/xml"}};
    return c.Post("/submission", parts);
  };
  ASSERT_EQ(post(submission_xml("uuid:old", 3))->status, 201);
  std::string edited = submission_xml("uuid:new", 4);
  edited.replace(edited.find("</instanceID>"), 13, "</instanceID><deprecatedID>uuid:old</deprecatedID>");
  auto e = post(edited);
  EXPECT_EQ(e->status, 201) << e->body;
  std::vector<std::string> ids;
  auto st = open_sqlite_store(db_, SqliteOptions{});
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)
                  ->scan_observations({},
                                      [&](const StoredObservation& so) {
                                        ids.push_back(so.obs.id + ">" + so.superseded_by);
                                        return true;
                                      })
                  .ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"uuid:old>uuid:new", "uuid:new>"}));
  std::string bad = submission_xml("uuid:bad", 1);
  bad.replace(bad.find("<count>"), 0,
              "<notes>obus \xE9"
              "clat\xE9</notes>");  // Latin-1, not UTF-8
  auto refused = post(bad);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("notes: expected UTF-8 text; byte 5 (0xe9) is not part of a UTF-8 character"),
            std::string::npos)
      << refused->body;
  auto rejects = client_->Get("/api/v1/rejects", auth("analyst"));
  ASSERT_EQ(rejects->status, 200) << rejects->body;
  EXPECT_EQ(json::parse(rejects->body)["items"][0]["field"], "notes");
}

// Regression: places are stored in the gazetteer's own form and were served as if GeoJSON.
TEST_F(ServerTest, PlacesAreServedAsGeoJsonWithTheirCredit) {
  auto r = client_->Get("/api/v1/places", auth("analyst"));
  ASSERT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["type"], "FeatureCollection");
  ASSERT_EQ(j["features"].size(), 1u);
  EXPECT_EQ(j["features"][0]["properties"]["name"], "Martuni");
  EXPECT_EQ(j["features"][0]["properties"]["credit"], "GeoNames (geonames.org), CC BY 4.0");
  EXPECT_EQ(j["features"][0]["geometry"]["coordinates"][0], 47.1146);
}

// A field app whose connection drops after sending (the answer never arrives) sends the same
// submission again: it is accepted again and stored once.
TEST_F(ServerTest, OpenRosaResendAfterADroppedConnection) {
  const std::string id = "uuid:00000000-0000-4000-8000-00000000d120";
  const std::string xml = submission_xml(id, 2);
  const std::string boundary = "----truceboundary";
  const std::string body =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; filename=\"s.xml\"\r\n"
      "Content-Type: text/xml\r\n\r\n" +
      xml + "\r\n--" + boundary + "--\r\n";
  const std::string req =
      "POST /submission HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + tokens_["observer"] +
      "\r\nX-OpenRosa-Version: 1.0\r\nContent-Type: multipart/form-data; boundary=" + boundary +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const int fd = testing::connect_loopback(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  ::close(fd);  // gone before the answer
  httplib::Client c("127.0.0.1", server_->port());
  c.set_digest_auth("obs", tokens_["observer"].c_str());
  httplib::MultipartFormDataItems parts = {{"xml_submission_file", xml, "s.xml", "text/xml"}};
  auto again = c.Post("/submission", parts);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201) << again->body;
  auto items = json::parse(client_->Get("/api/v1/observations", auth("analyst"))->body)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["observation_id"], id);
}

TEST_F(ServerTest, DigestWithAWrongTokenIsRefused) {
  httplib::Client c("127.0.0.1", server_->port());
  c.set_digest_auth("obs", "not-the-token");
  EXPECT_EQ(c.Get("/formList")->status, 401);
}

// Raw bytes on a socket: garbage, truncated requests, too many headers, a client that stops
// sending. The server answers or hangs up, and stays healthy.
TEST_F(ServerTest, MalformedRequestsDoNotHurtTheServer) {
  const std::vector<std::string> corpus = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "\x00\x01\x02\xff\xfe\r\n\r\n",
      "POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"trunc",
      "POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
      "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n",
      [] {
        std::string s = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
        for (int i = 0; i < 200; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
        return s + "\r\n";
      }(),
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100000, 'b') + "\r\n\r\n",
      "POST /submission HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
      "boundary=zz\r\nContent-Length: 20\r\n\r\n--zz\r\nbroken",
      "GET /api/v1/observations?from=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x",  // never finishes its headers
  };
  for (const auto& req : corpus) {
    const int fd = testing::connect_loopback(server_->port());
    ASSERT_GE(fd, 0);
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    char buf[512];
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)!::recv(fd, buf, sizeof buf, 0);
    ::close(fd);
  }
  auto h = client_->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto many = client_->Get("/healthz", [] {
    httplib::Headers hs;
    for (int i = 0; i < 100; ++i) hs.emplace("X-H" + std::to_string(i), "v");
    return hs;
  }());
  EXPECT_EQ(many->status, 431);
}

// Regression: an invalid UTF-8 byte in the path reached the JSON access log, which threw, and the
// process ended (std::terminate) on one unauthenticated request.
TEST_F(ServerTest, InvalidUtf8InThePathDoesNotKillTheServer) {
  for (const std::string path : {"/%ff", "/api/v1/%ff%fe", "/%c3%28?x=%ff", "/\xff\xfe"}) {
    const int fd = testing::connect_loopback(server_->port());
    ASSERT_GE(fd, 0);
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ::close(fd);
    EXPECT_GT(n, 0) << path;
    auto h = client_->Get("/healthz");
    ASSERT_TRUE(h) << "the server died after GET " << path;
    EXPECT_EQ(h->status, 200);
  }
}

// The API asks for a Bearer token only; Digest (and Basic) are for the OpenRosa routes, and a
// Digest HA1 unlocks nothing else.
TEST_F(ServerTest, ApiChallengesBearerOnlyAndDigestUnlocksOnlyOpenRosa) {
  auto r = client_->Get("/api/v1/stats");
  ASSERT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"truce\"");
  EXPECT_EQ(r->get_header_value_count("WWW-Authenticate"), 1u);
  httplib::Client c("127.0.0.1", server_->port());
  c.set_digest_auth("ana", tokens_["analyst"].c_str());
  EXPECT_EQ(c.Get("/formList")->status, 200);
  // The same Digest credentials on an API route: refused (the client has no Digest challenge to
  // answer, so it is sent as a header computed for a fresh nonce of the OpenRosa realm).
  auto head = c.Head("/submission");
  ASSERT_EQ(head->status, 204);
  httplib::Client raw("127.0.0.1", server_->port());
  auto challenge = raw.Get("/formList");
  ASSERT_EQ(challenge->status, 401);
  const std::string www = challenge->get_header_value("WWW-Authenticate");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(www, m, std::regex("nonce=\"([^\"]+)\"")));
  const std::string nonce = m[1];
  auto digest_for = [&](const std::string& method, const std::string& uri, const std::string& nc) {
    const std::string ha1 = server::digest_ha1("ana", "truce", tokens_["analyst"]);
    const std::string resp =
        md5_hex(ha1 + ":" + nonce + ":" + nc + ":abc:auth:" + md5_hex(method + ":" + uri));
    return "Digest username=\"ana\", realm=\"truce\", nonce=\"" + nonce + "\", uri=\"" + uri +
           "\", qop=auth, nc=" + nc + ", cnonce=\"abc\", response=\"" + resp + "\"";
  };
  EXPECT_EQ(
      raw.Get("/api/v1/stats", {{"Authorization", digest_for("GET", "/api/v1/stats", "00000001")}})->status,
      401);
  // On an OpenRosa route it works once per nonce count: a replay is refused.
  EXPECT_EQ(raw.Get("/formList", {{"Authorization", digest_for("GET", "/formList", "00000002")}})->status,
            200);
  EXPECT_EQ(raw.Get("/formList", {{"Authorization", digest_for("GET", "/formList", "00000002")}})->status,
            401);
  EXPECT_EQ(raw.Get("/formList", {{"Authorization", digest_for("GET", "/formList", "00000003")}})->status,
            200);
  // For another request than the one it was computed for (the uri is checked): refused.
  EXPECT_EQ(
      raw.Get("/formList", {{"Authorization", digest_for("GET", "/forms/truce_observation.xml", "00000004")}})
          ->status,
      401);
  // Without qop (RFC 2069 style): refused.
  const std::string ha1 = server::digest_ha1("ana", "truce", tokens_["analyst"]);
  const std::string old = "Digest username=\"ana\", realm=\"truce\", nonce=\"" + nonce +
                          "\", uri=\"/formList\", response=\"" +
                          md5_hex(ha1 + ":" + nonce + ":" + md5_hex("GET:/formList")) + "\"";
  EXPECT_EQ(raw.Get("/formList", {{"Authorization", old}})->status, 401);
}

// An expired nonce is refused however well the rest is computed.
TEST_F(ServerTest, DigestNonceExpiresAfterTenMinutes) {
  httplib::Client c("127.0.0.1", server_->port());
  auto challenge = c.Get("/formList");
  std::smatch m;
  const std::string www = challenge->get_header_value("WWW-Authenticate");
  ASSERT_TRUE(std::regex_search(www, m, std::regex("nonce=\"([^\"]+)\"")));
  const std::string nonce = m[1];
  const std::string ha1 = server::digest_ha1("ana", "truce", tokens_["analyst"]);
  auto header = [&](const std::string& nc) {
    return "Digest username=\"ana\", realm=\"truce\", nonce=\"" + nonce +
           "\", uri=\"/formList\", qop=auth, nc=" + nc + ", cnonce=\"x\", response=\"" +
           md5_hex(ha1 + ":" + nonce + ":" + nc + ":x:auth:" + md5_hex("GET:/formList")) + "\"";
  };
  EXPECT_EQ(c.Get("/formList", {{"Authorization", header("00000001")}})->status, 200);
  clock_.advance_ms(11 * 60 * 1000);
  EXPECT_EQ(c.Get("/formList", {{"Authorization", header("00000002")}})->status, 401);
}

// Regression: a stop() that came while listen() was starting was lost and the server ran on.
TEST_F(ServerTest, StopRightAfterStartIsNotLost) {
  for (int i = 0; i < 20; ++i) {
    stop();
    start(false);
    stop();  // at once: the listen thread may not have reached its loop yet
  }
  start(false);
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(ServerTest, MetricsCountRequests) {
  client_->Get("/healthz");
  auto m = client_->Get("/metrics", auth("admin"));
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("truce_http_requests_total{route=\"GET /healthz\",code=\"200\"}"), std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("truce_observations 0"), std::string::npos);
  EXPECT_NE(m->body.find("truce_live_fusion_runs_total "), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("truce_events_total "), std::string::npos);
}

// The dashboard's static files are served at /, API routes keep priority and unknown API paths
// stay JSON 404s; nothing outside the web directory can be read.
TEST_F(ServerTest, DashboardFilesAreServedBesideTheApi) {
  stop();
  web_dir_ = dir_.file("web");
  std::filesystem::create_directories(web_dir_ + "/assets");
  testing::write_file(web_dir_ + "/index.html", "<!doctype html><title>truce</title>");
  testing::write_file(web_dir_ + "/assets/index-abc.js", "console.log(1)");
  testing::write_file(dir_.file("secret.txt"), "not for the web");
  start(false);
  auto index = client_->Get("/");
  ASSERT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>truce</title>");
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->get_header_value("Cache-Control"), "no-cache");
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  auto js = client_->Get("/assets/index-abc.js");
  ASSERT_EQ(js->status, 200);
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  for (const char* path :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/missing.js", "/assets/"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("not for the web"), std::string::npos) << path;
  }
  auto api404 = client_->Get("/api/v1/no-such-thing", auth("analyst"));
  ASSERT_EQ(api404->status, 404);
  EXPECT_EQ(json::parse(api404->body)["error"]["code"], "not_found");
  EXPECT_EQ(client_->Get("/api/v1/stats", auth("analyst"))->status, 200);  // API routes win
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(ServerTest, WithoutADashboardTheRootIsAJson404) {
  auto r = client_->Get("/");
  ASSERT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["message"], "no such endpoint (this server has no dashboard)");
}

// A store with incidents of several kinds, statuses, places and times for the aggregation tests.
void add_incidents(const std::string& db) {
  auto s = open_sqlite_store(db, SqliteOptions{});
  ASSERT_TRUE(s.ok());
  std::vector<StoredIncident> incs;
  std::vector<std::string> scope;
  auto add = [&](const std::string& id, const std::string& start, const std::string& kind,
                 const std::string& party, std::optional<std::pair<double, double>> pos,
                 const std::string& extra) {
    StoredIncident i;
    i.id = id;
    i.start = *parse_instant(start);
    i.end = i.start;
    i.kind = kind;
    i.party = party;
    json c = {{"id", id},
              {"kind", kind},
              {"party", party},
              {"start", start},
              {"end", start},
              {"status", "reported"},
              {"observations", {id + "-o"}}};
    if (pos) {
      i.lat = pos->first, i.lon = pos->second;
      c["lat"] = pos->first;
      c["lon"] = pos->second;
    }
    c.update(json::parse(extra));
    i.content = c.dump();
    i.observation_ids = {id + "-o"};
    scope.push_back(id + "-o");
    incs.push_back(i);
  };
  add("s1", "2023-09-02T01:10:00Z", "mortar", "A", std::pair{39.801, 46.801},
      R"({"violations":[{"rule":"no_fire","explanation":"fire"}]})");
  add("s2", "2023-09-02T01:40:00Z", "mortar", "A", std::pair{39.802, 46.802}, R"({"status":"corroborated"})");
  add("s3", "2023-09-02T03:05:00Z", "artillery", "B", std::pair{39.95, 46.95},
      R"({"violations":[{"rule":"no_fire","explanation":"fire"},{"rule":"heavy_weapons","explanation":"122 mm"}]})");
  add("s4", "2023-09-02T05:00:00Z", "small_arms", "", std::nullopt, "{}");
  ASSERT_TRUE((*s)->replace_incidents(scope, incs).ok());
}

TEST_F(ServerTest, SummaryAggregatesOnAGridAndATimeline) {
  stop();
  add_incidents(db_);
  start(false);
  auto r = client_->Get(
      "/api/v1/incidents/summary?from=2023-09-02T00:00:00Z&to=2023-09-03T00:00:00Z&cell_deg=0.1&bin_s=3600",
      auth("analyst"));
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["total"], 4);
  EXPECT_EQ(j["located"], 3);
  ASSERT_EQ(j["cells"].size(), 2u);  // s1 and s2 share a 0.1-degree cell
  EXPECT_EQ(j["cells"][0]["n"], 2);
  EXPECT_DOUBLE_EQ(j["cells"][0]["lat"].get<double>(), 39.8015);
  EXPECT_EQ(j["cells"][0]["kind"], "mortar");
  EXPECT_EQ(j["timeline"]["start"], "2023-09-02T00:00:00Z");
  EXPECT_EQ(j["timeline"]["step_s"], 3600);
  ASSERT_EQ(j["timeline"]["counts"].size(), 24u);
  EXPECT_EQ(j["timeline"]["counts"][1], 2);
  EXPECT_EQ(j["timeline"]["counts"][3], 1);
  EXPECT_EQ(j["timeline"]["counts"][5], 1);
  EXPECT_EQ(j["by_kind"]["mortar"], 2);
  EXPECT_EQ(j["by_status"]["corroborated"], 1);
  EXPECT_EQ(j["by_rule"]["no_fire"], 2);
  EXPECT_EQ(j["first"], "2023-09-02T01:10:00Z");
  EXPECT_EQ(j["last"], "2023-09-02T05:00:00Z");
  // Without a range the timeline spans what matched, with a bin chosen for it.
  auto all =
      json::parse(client_->Get("/api/v1/incidents/summary?kind=mortar,artillery", auth("analyst"))->body);
  EXPECT_EQ(all["total"], 4);  // with the fixture's inc-1
  EXPECT_EQ(all["timeline"]["step_s"], 60);
  EXPECT_EQ(all["timeline"]["start"], "2023-09-01T21:38:00Z");
  EXPECT_EQ(all["timeline"]["counts"].size(), 328u);  // 21:38 .. 03:05 inclusive, by the minute
  EXPECT_EQ(client_->Get("/api/v1/incidents/summary?cell_deg=0", auth("analyst"))->status, 400);
  EXPECT_EQ(client_->Get("/api/v1/incidents/summary?bin_s=1", auth("analyst"))->status, 400);
}

// The summary's index follows reviews made through this server at once, and imports (which move
// the fusion cursor) on the next request.
TEST_F(ServerTest, SummaryFollowsReviewsAndImports) {
  stop();
  add_incidents(db_);
  start(false);
  auto by_status = [&] {
    return json::parse(client_->Get("/api/v1/incidents/summary?from=2023-09-02T00:00:00Z", auth("analyst"))
                           ->body)["by_status"];
  };
  EXPECT_EQ(by_status()["reported"], 3);
  auto r = client_->Patch("/api/v1/incidents/s1", auth("analyst"), R"({"version":0,"status":"verified"})",
                          "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  auto after = by_status();
  EXPECT_EQ(after["reported"], 2);
  EXPECT_EQ(after["verified"], 1);
  EXPECT_EQ(
      json::parse(client_->Get("/api/v1/incidents/summary?status=verified", auth("analyst"))->body)["total"],
      1);
  {
    auto s = open_sqlite_store(db_, SqliteOptions{});
    ASSERT_TRUE(s.ok());
    StoredIncident i;
    i.id = "s5";
    i.start = i.end = *parse_instant("2023-09-02T06:00:00Z");
    i.kind = "drone";
    i.content = R"({"id":"s5","kind":"drone","status":"reported","start":"2023-09-02T06:00:00Z"})";
    i.observation_ids = {"s5-o"};
    ASSERT_TRUE((*s)->replace_incidents({"s5-o"}, {i}).ok());
    ASSERT_TRUE((*s)->put_document("fusion.cursor", "99").ok());  // what an import's fusion does
  }
  EXPECT_EQ(by_status()["reported"], 3);
}

TEST_F(ServerTest, IncidentsFilterByRuleAndByLists) {
  add_incidents(db_);
  auto ids = [&](const std::string& q) {
    std::vector<std::string> out;
    auto r = client_->Get(("/api/v1/incidents?from=2023-09-02T00:00:00Z&" + q).c_str(), auth("analyst"));
    EXPECT_EQ(r->status, 200) << q;
    const json body = json::parse(r->body);
    for (const auto& i : body["items"]) out.push_back(i["id"]);
    return out;
  };
  EXPECT_EQ(ids("rule=no_fire"), (std::vector<std::string>{"s1", "s3"}));
  EXPECT_EQ(ids("rule=heavy_weapons"), (std::vector<std::string>{"s3"}));
  EXPECT_EQ(ids("rule=heavy_weapons,no_fire&kind=mortar"), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(ids("kind=mortar,small_arms"), (std::vector<std::string>{"s1", "s2", "s4"}));
  EXPECT_EQ(ids("status=corroborated,verified"), (std::vector<std::string>{"s2"}));
  EXPECT_EQ(ids("party=A,B&status=reported"), (std::vector<std::string>{"s1", "s3"}));
}

TEST_F(ServerTest, PublicSummaryIsNoFinerThanThePublicGrid) {
  stop();
  add_incidents(db_);
  start(true);
  auto j = json::parse(client_->Get("/api/v1/incidents/summary?cell_deg=0.001")->body);
  EXPECT_DOUBLE_EQ(j["cell_deg"].get<double>(), 0.05);
  for (const auto& c : j["cells"]) {
    const double lat = c["lat"].get<double>() / 0.05;
    EXPECT_NEAR(lat, std::round(lat), 1e-6) << c.dump();  // positions are the rounded ones
  }
}

TEST_F(ServerTest, MeSaysWhoIsAsking) {
  auto a = json::parse(client_->Get("/api/v1/me", auth("analyst"))->body);
  EXPECT_EQ(a["role"], "analyst");
  EXPECT_EQ(a["name"], "ana");
  EXPECT_EQ(a["public_view"], false);
  EXPECT_EQ(a["credentials"], "valid");
  auto anon = json::parse(client_->Get("/api/v1/me")->body);
  EXPECT_TRUE(anon["role"].is_null());
  EXPECT_EQ(anon["credentials"], "none");
  auto wrong = client_->Get("/api/v1/me", auth("wrong"));
  ASSERT_EQ(wrong->status, 200);
  EXPECT_EQ(json::parse(wrong->body)["credentials"], "invalid");
  EXPECT_TRUE(json::parse(wrong->body)["role"].is_null());
  stop();
  start(true);
  auto pub = json::parse(client_->Get("/api/v1/me")->body);
  EXPECT_EQ(pub["role"], "public");
  EXPECT_EQ(pub["public_view"], true);
}

TEST_F(ServerTest, DailyReportInEveryFormatAndRedactedForThePublic) {
  {  // The report draws the mission's map: give it one.
    auto s = open_sqlite_store(db_, SqliteOptions{});
    ASSERT_TRUE(s.ok());
    for (const char* d : {"zones", "loc"})
      ASSERT_TRUE((*s)->put_document(d, testing::read_file(std::string(TRUCE_SOURCE_DIR) + "/data/example/" +
                                                           d + ".geojson"))
                      .ok());
    auto b = (*s)->begin();  // the incident's two reports
    ASSERT_TRUE(b.ok());
    for (const char* id : {"o1", "o2"}) {
      Observation o;
      o.id = id;
      o.time = *parse_instant("2023-09-01T21:38:30Z");
      o.observer_id = id == std::string("o1") ? "M001" : "M002";
      o.observer_pos = LatLon{39.85, 46.8};
      o.kind = Kind::kMortar;
      o.bearing_deg = 30;
      ASSERT_TRUE((*b)->append(o).ok());
    }
    ASSERT_TRUE((*b)->commit().ok());
  }
  auto j = client_->Get("/api/v1/reports/daily?date=2023-09-01", auth("analyst"));
  ASSERT_EQ(j->status, 200) << j->body;
  auto model = json::parse(j->body);
  EXPECT_EQ(model["date"], "2023-09-01");
  EXPECT_EQ(model["totals"]["incidents"], 1);
  EXPECT_EQ(model["by_kind"]["mortar"], 1);
  auto html = client_->Get("/api/v1/reports/daily?date=2023-09-01&format=html", auth("analyst"));
  ASSERT_EQ(html->status, 200);
  EXPECT_EQ(html->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(html->body.find("<svg"), std::string::npos);
  EXPECT_EQ(html->body.find("http://"), std::string::npos);
  auto md = client_->Get("/api/v1/reports/daily?date=2023-09-01&format=md", auth("analyst"));
  ASSERT_EQ(md->status, 200);
  EXPECT_NE(md->body.find("2023-09-01"), std::string::npos);
  EXPECT_EQ(client_->Get("/api/v1/reports/daily?date=2023-09-31", auth("analyst"))->status, 400);
  EXPECT_EQ(client_->Get("/api/v1/reports/daily", auth("analyst"))->status, 400);
  EXPECT_EQ(client_->Get("/api/v1/reports/daily?date=2023-09-01&format=pdf", auth("analyst"))->status, 400);
  // The public edition: the same day, no exact place.
  stop();
  start(true);
  auto pub = client_->Get("/api/v1/reports/daily?date=2023-09-01");
  ASSERT_EQ(pub->status, 200) << pub->body;
  EXPECT_EQ(json::parse(pub->body)["totals"]["incidents"], 1);
  EXPECT_EQ(pub->body.find("39.91234"), std::string::npos);
  EXPECT_NE(j->body.find("39.91234"), std::string::npos);
}

TEST_F(ServerTest, HumanitarianFiguresComeFromTheStoredDocuments) {
  auto empty = client_->Get("/api/v1/humanitarian?at=2023-10-01", auth("analyst"));
  ASSERT_EQ(empty->status, 200);
  EXPECT_EQ(json::parse(empty->body)["total_out"], 0);
  {
    auto s = open_sqlite_store(db_, SqliteOptions{});
    ASSERT_TRUE(s.ok());
    agreement::Crossing c;
    c.first_day = c.last_day = *agreement::parse_date("2023-09-25");
    c.checkpoint = "Hakari bridge";
    c.people = 6650;
    c.source = "test";
    agreement::Baseline b{"Karabakh", 120000, *agreement::parse_date("2023-09-01"), "test"};
    ASSERT_TRUE((*s)->put_document("crossings", agreement::crossings_to_json({c})).ok());
    ASSERT_TRUE((*s)->put_document("population_baselines", agreement::baselines_to_json({b})).ok());
  }
  auto r = client_->Get("/api/v1/humanitarian?at=2023-10-01", auth("analyst"));
  ASSERT_EQ(r->status, 200);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["at"], "2023-10-01");
  EXPECT_EQ(j["total_out"], 6650);
  EXPECT_EQ(j["baseline"]["population"], 120000);
  EXPECT_DOUBLE_EQ(j["share_out_percent"].get<double>(), 5.5);
  EXPECT_EQ(client_->Get("/api/v1/humanitarian?at=2023-10-99", auth("analyst"))->status, 400);
}

}  // namespace
}  // namespace truce
