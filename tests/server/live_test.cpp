// The live service end to end: observations posted over real HTTP are fused by the server at once,
// equal what a batch `truce fuse` gives, and are announced on /api/v1/events.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.h"
#include "truce/geo/geography.h"
#include "truce/ingest/ingest.h"
#include "truce/pipeline/fuse.h"
#include "truce/server/server.h"
#include "truce/sim/simulate.h"
#include "truce/store/store.h"

namespace truce {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/data/karabakh/";

// A mission database with the real geography and agreement, simulated posts, and an analyst.
class LiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    zones_ = testing::read_file(kData + "zones.geojson");
    loc_ = testing::read_file(kData + "loc.geojson");
    auto g = geo::Geography::from_geojson(zones_, loc_, "zones", "loc");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    geography_ = *g;
    posts_ = sim::posts_along_loc(**g, 16);
    std::string csv = "observer_id,lat,lon,party,type\n";
    for (const auto& p : posts_) {
      csv += p.id + "," + std::to_string(p.position->lat) + "," + std::to_string(p.position->lon) + "," +
             p.party + ",post\n";
    }
    testing::write_file(dir_.file("observers.csv"), csv);
    live_db_ = dir_.file("live.db");
    batch_db_ = dir_.file("batch.db");
    for (const auto& path : {live_db_, batch_db_}) make_mission(path);
  }
  void TearDown() override { stop(); }

  void make_mission(const std::string& path) {
    SqliteOptions so;
    so.create = true;
    so.clock = &clock_;
    auto s = open_sqlite_store(path, so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ingest::Options io;
    ASSERT_TRUE(ingest::import_observers(**s, {dir_.file("observers.csv")}, io)->clean());
    ASSERT_TRUE((*s)->put_document("zones", zones_).ok());
    ASSERT_TRUE((*s)->put_document("loc", loc_).ok());
    ASSERT_TRUE((*s)->put_document("agreement", testing::read_file(kData + "agreement.json")).ok());
    if (path == live_db_) {
      token_ = *server::new_token();
      User u{"ana", "analyst", {}, server::digest_ha1("ana", "truce", token_)};
      ASSERT_TRUE((*s)->add_user(u, server::token_hash(token_)).ok());
    }
  }

  void start(int threads = 8) {
    server::Options o;
    o.db_path = live_db_;
    o.port = 0;
    o.threads = threads;
    o.clock = &clock_;
    auto s = server::Server::create(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    thread_ = std::thread([this] { (void)server_->listen(); });
  }
  void stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  httplib::Headers auth() const { return {{"Authorization", "Bearer " + token_}}; }
  // Every current incident, page by page as a client follows next_cursor; nullopt on an error.
  std::optional<std::vector<json>> all_incidents(httplib::Client& c, int page = 1000) const {
    std::vector<json> out;
    std::string cursor;
    for (int pages = 0; pages < 10000; ++pages) {
      const std::string url =
          "/api/v1/incidents?limit=" + std::to_string(page) + (cursor.empty() ? "" : "&cursor=" + cursor);
      auto r = c.Get(url.c_str(), auth());
      if (!r || r->status != 200) return std::nullopt;
      const json body = json::parse(r->body);
      for (const auto& i : body["items"]) out.push_back(i);
      if (body["next_cursor"].is_null()) return out;
      cursor = body["next_cursor"].get<std::string>();
    }
    return std::nullopt;
  }
  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    c->set_read_timeout(30, 0);
    return c;
  }

  // `days` of simulated observations (the CSV truce simulate writes) and the same rows as JSON.
  std::vector<json> simulate(double days, double bursts_per_day, std::uint64_t seed) {
    sim::Options so;
    so.days = days;
    so.bursts_per_day = bursts_per_day;
    so.seed = seed;
    const std::string path = dir_.file("sim.csv");
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    EXPECT_TRUE(sim::simulate(*geography_, posts_, so, f).ok());
    std::fclose(f);
    std::istringstream in(testing::read_file(path));
    std::string line, header;
    std::getline(in, header);
    std::vector<std::string> cols;
    {
      std::stringstream h(header);
      for (std::string c; std::getline(h, c, ',');) cols.push_back(c);
    }
    std::vector<json> rows;
    while (std::getline(in, line)) {
      std::vector<std::string> v;
      std::stringstream ls(line);
      for (std::string c; std::getline(ls, c, ',');) v.push_back(c);
      json j = json::object();
      for (std::size_t i = 0; i < cols.size() && i < v.size(); ++i) {
        if (!v[i].empty()) j[cols[i]] = v[i];
      }
      rows.push_back(j);
    }
    return rows;
  }

  // Waits until the server has fused everything it stored (its fusion cursor reached the last
  // observation); false after `timeout`.
  bool wait_fused(std::chrono::seconds timeout) {
    SqliteOptions so;
    so.clock = &clock_;
    auto s = open_sqlite_store(live_db_, so);
    if (!s.ok()) return false;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      std::int64_t max_seq = 0;
      (void)(*s)->scan_observations({}, [&](const StoredObservation& o) {
        max_seq = std::max(max_seq, o.seq);
        return true;
      });
      auto cursor = (*s)->document("fusion.cursor");
      if (cursor.ok() && *cursor && std::strtoll((*cursor)->c_str(), nullptr, 10) == max_seq) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // id -> (observation ids, content) of every current incident.
  std::map<std::string, std::pair<std::vector<std::string>, std::string>> incidents(const std::string& path) {
    SqliteOptions so;
    so.clock = &clock_;
    auto s = open_sqlite_store(path, so);
    EXPECT_TRUE(s.ok());
    std::map<std::string, std::pair<std::vector<std::string>, std::string>> out;
    EXPECT_TRUE((*s)->scan_incidents({},
                                     [&](const StoredIncident& si) {
                                       auto ids = si.observation_ids;
                                       std::sort(ids.begin(), ids.end());
                                       out[si.id] = {ids, si.content};
                                       return true;
                                     })
                    .ok());
    return out;
  }

  testing::TempDir dir_;
  FixedClock clock_{*parse_instant("2023-10-01T00:00:00Z")};
  std::string zones_, loc_, live_db_, batch_db_, token_;
  std::shared_ptr<const geo::Geography> geography_;
  std::vector<Observer> posts_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

// A simulated day posted through the API in random order, in batches from four clients at once,
// gives exactly the incidents a batch fusion of the same observations gives.
TEST_F(LiveTest, LiveFusionOfADayInRandomOrderEqualsBatchFusion) {
  auto rows = simulate(1, 150, 7);
  ASSERT_GT(rows.size(), 100u);
  std::mt19937 rng(42);
  std::shuffle(rows.begin(), rows.end(), rng);
  start();
  std::atomic<std::size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto c = client();
      for (;;) {
        const std::size_t i = next.fetch_add(25);
        if (i >= rows.size()) break;
        json batch = json::array();
        for (std::size_t k = i; k < std::min(rows.size(), i + 25); ++k) batch.push_back(rows[k]);
        auto r = c->Post("/api/v1/observations", auth(), batch.dump(), "application/json");
        if (!r || r->status != 201) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(failures, 0);
  ASSERT_TRUE(wait_fused(std::chrono::seconds(60)));

  {
    SqliteOptions so;
    so.clock = &clock_;
    auto s = open_sqlite_store(batch_db_, so);
    ASSERT_TRUE(s.ok());
    ingest::Options io;
    ASSERT_TRUE(ingest::import_observations(**s, {dir_.file("sim.csv")}, io)->clean());
    auto fused = pipeline::fuse_stored(**s, *geography_, pipeline::FuseRange{}, fusion::Config{});
    ASSERT_TRUE(fused.ok()) << fused.status().ToString();
  }
  const auto live = incidents(live_db_), batch = incidents(batch_db_);
  ASSERT_GT(batch.size(), 10u);
  EXPECT_EQ(live.size(), batch.size());
  for (const auto& [id, inc] : batch) {
    auto it = live.find(id);
    ASSERT_NE(it, live.end()) << "the live service has no " << id;
    EXPECT_EQ(it->second.first, inc.first) << id;
    EXPECT_EQ(it->second.second, inc.second) << id;
  }
  // And the API shows them, in pages: every observation is in exactly one incident.
  auto shown = all_incidents(*client(), 37);
  ASSERT_TRUE(shown);
  std::set<std::string> seen, ids;
  for (const auto& inc : *shown) {
    EXPECT_TRUE(ids.insert(inc["id"].get<std::string>()).second) << "listed twice: " << inc["id"];
    for (const auto& o : inc["observations"]) EXPECT_TRUE(seen.insert(o.get<std::string>()).second) << o;
  }
  EXPECT_EQ(shown->size(), batch.size());
  EXPECT_EQ(seen.size(), rows.size());
}

// Many posts reporting at once, one observation per request: each is in an incident that
// GET /api/v1/incidents shows within 2 s of its 201 (p99).
TEST_F(LiveTest, EveryPostedObservationIsInAnIncidentWithinTwoSeconds) {
  auto rows = simulate(1, 150, 11);
  ASSERT_GT(rows.size(), 100u);
  rows.resize(std::min<std::size_t>(rows.size(), 400));
  start();
  std::mutex mu;
  std::map<std::string, Clock::time_point> acked;  // observation id -> when its 201 came
  std::map<std::string, double> latency_ms;
  std::atomic<bool> posting{true};
  std::thread watcher([&] {
    auto c = client();
    const auto give_up = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < give_up) {
      const bool last_round = !posting.load();
      auto items = all_incidents(*c, 5000);
      const auto t = Clock::now();
      if (items) {
        std::lock_guard lk(mu);
        for (const auto& inc : *items) {
          for (const auto& o : inc["observations"]) {
            const std::string id = o.get<std::string>();
            auto a = acked.find(id);
            if (a != acked.end() && !latency_ms.count(id)) {
              latency_ms[id] = std::chrono::duration<double, std::milli>(t - a->second).count();
            }
          }
        }
        if (last_round && latency_ms.size() == acked.size()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> posts;
  for (int t = 0; t < 8; ++t) {
    posts.emplace_back([&] {
      auto c = client();
      for (std::size_t i; (i = next.fetch_add(1)) < rows.size();) {
        auto r = c->Post("/api/v1/observations", auth(), rows[i].dump(), "application/json");
        const auto t1 = Clock::now();
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 201) << r->body;
        std::lock_guard lk(mu);
        acked[rows[i]["observation_id"].get<std::string>()] = t1;
      }
    });
  }
  for (auto& t : posts) t.join();
  posting = false;
  watcher.join();
  ASSERT_EQ(latency_ms.size(), rows.size()) << "observations never shown in an incident";
  std::vector<double> l;
  for (const auto& [id, ms] : latency_ms) l.push_back(ms);
  std::sort(l.begin(), l.end());
  const double p99 = l[static_cast<std::size_t>(0.99 * static_cast<double>(l.size() - 1))];
  std::printf("live visibility over %zu posts: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", l.size(),
              l[l.size() / 2], p99, l.back());
  EXPECT_LT(p99, 2000.0);
}

// Reads an event stream on a raw socket: frames as (id, event, data) until `want` arrived.
struct Frame {
  std::int64_t id = 0;
  std::string event;
  json data;
};
class Stream {
 public:
  Stream(int port, const std::string& token, const std::string& last_event_id = "") {
    fd_ = testing::connect_loopback(port);
    ok_ = fd_ >= 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req =
        "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
    req += "\r\n";
    ok_ = ok_ && ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }
  ~Stream() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  const std::string& head() const { return head_; }
  // Frames until one with an event named `until` came, or the timeout.
  std::vector<Frame> read_until(const std::function<bool(const std::vector<Frame>&)>& done) {
    std::vector<Frame> out;
    char b[4096];
    while (!done(out)) {
      const ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) break;
      buf_.append(b, static_cast<std::size_t>(n));
      if (head_.empty()) {
        const auto end = buf_.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        head_ = buf_.substr(0, end);
        buf_.erase(0, end + 4);
      }
      // Chunked transfer: take the chunks' payloads.
      for (;;) {
        const auto crlf = buf_.find("\r\n");
        if (crlf == std::string::npos) break;
        const std::size_t len = std::stoul(buf_.substr(0, crlf), nullptr, 16);
        if (buf_.size() < crlf + 2 + len + 2) break;
        body_ += buf_.substr(crlf + 2, len);
        buf_.erase(0, crlf + 2 + len + 2);
      }
      for (std::size_t end; (end = body_.find("\n\n")) != std::string::npos;) {
        const std::string block = body_.substr(0, end);
        body_.erase(0, end + 2);
        Frame f;
        std::istringstream in(block);
        for (std::string line; std::getline(in, line);) {
          if (line.rfind("id: ", 0) == 0) f.id = std::stoll(line.substr(4));
          if (line.rfind("event: ", 0) == 0) f.event = line.substr(7);
          if (line.rfind("data: ", 0) == 0) f.data = json::parse(line.substr(6));
        }
        if (!f.event.empty()) out.push_back(f);
      }
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string head_, buf_, body_;
};

std::function<bool(const std::vector<Frame>&)> has(const std::string& event, std::size_t n = 1) {
  return [event, n](const std::vector<Frame>& f) {
    return static_cast<std::size_t>(
               std::count_if(f.begin(), f.end(), [&](const Frame& x) { return x.event == event; })) >= n;
  };
}

// A new incident, a review and a client that reconnects with Last-Event-ID: every event arrives,
// in order, none twice.
TEST_F(LiveTest, EventsAnnounceIncidentsAndResumeWithLastEventId) {
  auto rows = simulate(1, 20, 5);
  ASSERT_GT(rows.size(), 20u);
  start();
  auto c = client();
  std::vector<Frame> got;
  {
    Stream s(server_->port(), token_);
    ASSERT_TRUE(s.ok());
    auto r = c->Post("/api/v1/observations", auth(), rows[0].dump(), "application/json");
    ASSERT_EQ(r->status, 201);
    got = s.read_until(has("incident.created"));
    EXPECT_NE(s.head().find("Content-Type: text/event-stream"), std::string::npos) << s.head();
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back().data["id"], "inc-" + rows[0]["observation_id"].get<std::string>());
    EXPECT_EQ(got.back().data["version"], 1);
    // A review is an event too.
    auto p = c->Patch(("/api/v1/incidents/" + got.back().data["id"].get<std::string>()).c_str(), auth(),
                      R"({"status":"verified","version":0})", "application/json");
    ASSERT_EQ(p->status, 200) << p->body;
    auto more = s.read_until(has("incident.reviewed"));
    ASSERT_FALSE(more.empty());
    EXPECT_EQ(more.back().data["version"], 1);
    got.insert(got.end(), more.begin(), more.end());
  }
  // Disconnected: more reports come in meanwhile.
  json batch = json::array();
  for (std::size_t i = 1; i < rows.size(); ++i) batch.push_back(rows[i]);
  ASSERT_EQ(c->Post("/api/v1/observations", auth(), batch.dump(), "application/json")->status, 201);
  ASSERT_TRUE(wait_fused(std::chrono::seconds(30)));
  const std::int64_t last = got.back().id;
  // Reconnecting resumes right after the last event seen, with nothing missed.
  Stream again(server_->port(), token_, std::to_string(last));
  const std::size_t expected_new = [&] {
    SqliteOptions so;
    auto s = open_sqlite_store(live_db_, so);
    IncidentCursor from;
    auto all = (*s)->incident_changes(from, 1000000);
    return all->size() - got.size();
  }();
  ASSERT_GT(expected_new, 0u);
  auto resumed = again.read_until([&](const std::vector<Frame>& f) { return f.size() >= expected_new; });
  ASSERT_EQ(resumed.size(), expected_new);
  for (std::size_t i = 0; i < resumed.size(); ++i)
    EXPECT_EQ(resumed[i].id, last + 1 + static_cast<std::int64_t>(i));
}

// The summary follows every change at once, including one another process made.
TEST_F(LiveTest, SummaryIsExactAfterAChangeByAnotherProcess) {
  start();
  auto c = client();
  auto before = json::parse(c->Get("/api/v1/incidents/summary", auth())->body);
  EXPECT_EQ(before["total"], 0);
  {
    SqliteOptions so;
    auto s = open_sqlite_store(live_db_, so);
    StoredIncident inc;
    inc.id = "inc-x";
    inc.start = *parse_instant("2023-09-01T21:38:00Z");
    inc.end = *parse_instant("2023-09-01T21:39:00Z");
    inc.kind = "mortar";
    inc.party = "A";
    inc.observation_ids = {"x1"};
    inc.content = R"({"id":"inc-x","kind":"mortar","status":"reported"})";
    ASSERT_TRUE((*s)->replace_incidents({"x1"}, {inc}).ok());
  }
  auto after = json::parse(c->Get("/api/v1/incidents/summary", auth())->body);
  EXPECT_EQ(after["total"], 1);
  EXPECT_EQ(after["by_status"]["reported"], 1);
  ASSERT_EQ(
      c->Patch("/api/v1/incidents/inc-x", auth(), R"({"status":"rejected","version":0})", "application/json")
          ->status,
      200);
  auto reviewed = json::parse(c->Get("/api/v1/incidents/summary", auth())->body);
  EXPECT_EQ(reviewed["by_status"]["rejected"], 1);
  EXPECT_FALSE(reviewed["by_status"].contains("reported"));
  {
    SqliteOptions so;
    auto s = open_sqlite_store(live_db_, so);
    ASSERT_TRUE((*s)->replace_incidents({"x1"}, {}).ok());  // retired
  }
  EXPECT_EQ(json::parse(c->Get("/api/v1/incidents/summary", auth())->body)["total"], 0);
}

}  // namespace
}  // namespace truce
