// User revocation, rotation and expiry as a running server sees them: real HTTP on loopback, a real
// SQLite file, and the change made through a second Store connection to that file (as `truce user`
// does beside a running `truce serve`). The server looks the user up on every request, so the
// next request after the change is refused.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_util.h"
#include "truce/server/server.h"
#include "truce/store/store.h"

namespace truce {
namespace {

using nlohmann::json;

// The server's clock, moved forward by the test. Thread-safe: the server reads it on its threads.
class SteppingClock final : public Clock {
 public:
  explicit SteppingClock(Instant t) : ms_(t.ms) {}
  Instant now() const override { return Instant{ms_.load()}; }
  void set(Instant t) { ms_ = t.ms; }

 private:
  std::atomic<std::int64_t> ms_;
};

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.file("m.db");
    SqliteOptions so;
    so.create = true;
    auto s = open_sqlite_store(db_, so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    admin_ = std::move(s).value();
    ana_ = add("ana", "analyst", {});
    obs_ = add("obs", "observer", {"M001"});
    server::Options o;
    o.db_path = db_;
    o.port = 0;
    o.threads = 2;
    o.read_timeout_s = 2;
    o.clock = &clock_;
    auto srv = server::Server::create(o);
    ASSERT_TRUE(srv.ok()) << srv.status().ToString();
    server_ = std::move(srv).value();
    thread_ = std::thread([this] { (void)server_->listen(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // Adds a user through the test's own connection and returns its token.
  std::string add(const std::string& name, const std::string& role, std::vector<std::string> observers,
                  std::optional<Instant> expires = std::nullopt) {
    const std::string tok = *server::new_token();
    User u{name, role, std::move(observers), server::digest_ha1(name, "truce", tok)};
    EXPECT_TRUE(admin_->add_user(u, server::token_hash(tok), expires).ok());
    return tok;
  }
  std::string rotate(const std::string& name) {
    const std::string tok = *server::new_token();
    EXPECT_TRUE(
        admin_
            ->rotate_user(name, server::token_hash(tok), server::digest_ha1(name, "truce", tok), std::nullopt)
            .ok());
    return tok;
  }
  // The status of a protected route (analysts and admins may read the stats) with this token.
  int stats_status(const std::string& token) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(5, 0);
    auto r = c.Get("/api/v1/stats", {{"Authorization", "Bearer " + token}});
    return r ? r->status : -1;
  }
  json me(const std::string& token) {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Get("/api/v1/me", {{"Authorization", "Bearer " + token}});
    return r && r->status == 200 ? json::parse(r->body) : json();
  }
  // OpenRosa's pre-flight with HTTP Digest (the server checks digest_ha1 from user_by_name).
  int digest_status(const std::string& name, const std::string& token) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_digest_auth(name, token);
    auto r = c.Head("/submission");
    return r ? r->status : -1;
  }

  testing::TempDir dir_;
  std::string db_;
  SteppingClock clock_{*parse_instant("2027-01-15T08:00:00Z")};
  std::unique_ptr<Store> admin_;  // a second connection to the server's database
  std::string ana_, obs_;         // tokens
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

TEST_F(UsersTest, RevokedTokenIsRefusedAtTheNextRequest) {
  ASSERT_EQ(stats_status(ana_), 200);
  EXPECT_EQ(me(ana_)["name"], "ana");
  EXPECT_EQ(me(ana_)["credentials"], "valid");
  ASSERT_TRUE(admin_->revoke_user("ana").ok());
  EXPECT_EQ(stats_status(ana_), 401);
  EXPECT_EQ(me(ana_)["credentials"], "invalid");
  EXPECT_EQ(me(ana_)["name"], nullptr);
  EXPECT_EQ(me(obs_)["credentials"], "valid");  // only ana is revoked
}

TEST_F(UsersTest, RevokedUsersDigestIsRefused) {
  ASSERT_EQ(digest_status("obs", obs_), 204);
  ASSERT_TRUE(admin_->revoke_user("obs").ok());
  EXPECT_EQ(digest_status("obs", obs_), 401);
}

TEST_F(UsersTest, RotatedTokenReplacesTheOldOneAtTheNextRequest) {
  ASSERT_EQ(stats_status(ana_), 200);
  const std::string fresh = rotate("ana");
  EXPECT_EQ(stats_status(ana_), 401);
  EXPECT_EQ(stats_status(fresh), 200);
  EXPECT_EQ(me(fresh)["name"], "ana");
}

TEST_F(UsersTest, RotatedTokenReplacesTheOldOneForDigestToo) {
  ASSERT_EQ(digest_status("obs", obs_), 204);
  const std::string fresh = rotate("obs");
  EXPECT_EQ(digest_status("obs", obs_), 401);
  EXPECT_EQ(digest_status("obs", fresh), 204);
}

TEST_F(UsersTest, ExpiredTokenIsRefusedOnceTheServersClockReachesTheExpiry) {
  const Instant expiry = *parse_instant("2027-02-01T00:00:00Z");
  const std::string tok = add("temp", "analyst", {}, expiry);
  EXPECT_EQ(stats_status(tok), 200);
  clock_.set(Instant{expiry.ms - 1});
  EXPECT_EQ(stats_status(tok), 200);
  clock_.set(expiry);
  EXPECT_EQ(stats_status(tok), 401);
  EXPECT_EQ(stats_status(ana_), 200);  // users without an expiry go on
}

}  // namespace
}  // namespace truce
