// `truce serve` as a process: killed under load it loses nothing it acknowledged; SIGTERM is clean.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace truce {
namespace {

using testing::run;
const std::string kTruce = TRUCE_BINARY;

struct Process {
  pid_t pid = -1;
  int port = 0;
};

// Starts `truce serve` on a free port and reads the port from its first line of output.
Process serve(const std::string& db) {
  int out[2];
  if (::pipe(out) != 0) return {};
  Process p;
  p.pid = ::fork();
  if (p.pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::execl(kTruce.c_str(), "truce", "--db", db.c_str(), "serve", "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(out[0]);
  const auto at = line.rfind(':');
  const auto sp = line.find(' ', at);
  if (at != std::string::npos) p.port = std::atoi(line.substr(at + 1, sp - at - 1).c_str());
  return p;
}

class ServeProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run(kTruce + " --db " + db_ + " init").status, 0);
    auto t = run(kTruce + " --db " + db_ + " user add ana --role analyst 2>/dev/null");
    ASSERT_EQ(t.status, 0);
    token_ = t.out.substr(0, t.out.find('\n'));
  }
  testing::TempDir dir_;
  std::string db_ = dir_.file("m.db");
  std::string token_;
};

TEST_F(ServeProcess, SigkillUnderLoadLosesNothingAcknowledged) {
  Process p = serve(db_);
  ASSERT_GT(p.port, 0);
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> done{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", p.port);
      cli.set_connection_timeout(1, 0);
      cli.set_read_timeout(2, 0);
      const httplib::Headers h = {{"Authorization", "Bearer " + token_}};
      for (int i = 0; i < 5000 && !done; ++i) {
        const std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
        const std::string body =
            R"({"observation_id":")" + id +
            R"(","time":"2023-09-01T21:38:41Z","observer_id":"X","observer_lat":39.9,"observer_lon":46.7,"kind":"drone"})";
        auto r = cli.Post("/api/v1/observations", h, body, "application/json");
        if (!r) {
          if (done) break;
          continue;
        }
        if (r->status / 100 == 2) {
          std::lock_guard lk(mu);
          acknowledged.insert(id);
        }
      }
    });
  }
  std::mt19937 rng(std::random_device{}());
  std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
  ::kill(p.pid, SIGKILL);
  done = true;
  for (auto& t : clients) t.join();
  int st = 0;
  ::waitpid(p.pid, &st, 0);
  ASSERT_GT(acknowledged.size(), 10u) << "too few requests before the kill to mean anything";
  auto v = run(kTruce + " --db " + db_ + " verify");
  EXPECT_EQ(v.status, 0) << v.out;
  auto csv = run(kTruce + " --db " + db_ + " observations --format csv");
  std::set<std::string> stored;
  std::istringstream in(csv.out);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) stored.insert(line.substr(0, line.find(',')));
  std::size_t missing = 0;
  for (const auto& id : acknowledged) missing += stored.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged";
  // A restarted server serves what was stored.
  Process again = serve(db_);
  ASSERT_GT(again.port, 0);
  httplib::Client cli("127.0.0.1", again.port);
  auto h = cli.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  ::kill(again.pid, SIGTERM);
  ::waitpid(again.pid, &st, 0);
}

TEST_F(ServeProcess, SigtermFinishesAndExitsCleanly) {
  Process p = serve(db_);
  ASSERT_GT(p.port, 0);
  httplib::Client cli("127.0.0.1", p.port);
  auto r = cli.Post(
      "/api/v1/observations", {{"Authorization", "Bearer " + token_}},
      R"({"observation_id":"t1","time":"2023-09-01T21:38:41Z","observer_id":"X","observer_lat":39.9,"observer_lon":46.7,"kind":"drone"})",
      "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  ::kill(p.pid, SIGTERM);
  int st = 0;
  ::waitpid(p.pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(run(kTruce + " --db " + db_ + " verify").status, 0);
}

// `truce user revoke` and `truce user rotate` beside a running `truce serve`: the next request
// with the old token is refused, the rotated token (the last line of stdout) is accepted.
TEST_F(ServeProcess, UserRevokeAndRotateTakeEffectOnARunningServer) {
  auto b = run(kTruce + " --db " + db_ + " user add bob --role analyst 2>/dev/null");
  ASSERT_EQ(b.status, 0);
  const std::string bob = b.out.substr(0, b.out.find('\n'));
  Process p = serve(db_);
  ASSERT_GT(p.port, 0);
  auto status = [&](const std::string& token) {
    httplib::Client cli("127.0.0.1", p.port);
    cli.set_read_timeout(5, 0);
    auto r = cli.Get("/api/v1/stats", {{"Authorization", "Bearer " + token}});
    return r ? r->status : -1;
  };
  EXPECT_EQ(status(token_), 200);
  EXPECT_EQ(status(bob), 200);
  auto rot = run(kTruce + " --db " + db_ + " user rotate ana 2>/dev/null");
  ASSERT_EQ(rot.status, 0);
  std::string fresh = rot.out;
  while (!fresh.empty() && fresh.back() == '\n') fresh.pop_back();
  fresh = fresh.substr(fresh.rfind('\n') == std::string::npos ? 0 : fresh.rfind('\n') + 1);
  EXPECT_EQ(status(token_), 401);
  EXPECT_EQ(status(fresh), 200);
  ASSERT_EQ(run(kTruce + " --db " + db_ + " user revoke bob 2>/dev/null").status, 0);
  EXPECT_EQ(status(bob), 401);
  EXPECT_EQ(status(fresh), 200);
  ::kill(p.pid, SIGTERM);
  int st = 0;
  ::waitpid(p.pid, &st, 0);
}

}  // namespace
}  // namespace truce
