// Any bytes on a socket to a running `truce serve` with a real mission database (zones, line of
// contact, observers, an analyst and an observer user, live fusion on): an answer or a hang-up,
// never a crash, and the server still answers GET /healthz with 200 afterwards.
//
// "@TOKEN@" in an input is replaced by the analyst's bearer token and "@OBSTOKEN@" by the
// observer's, so that inputs reach the authenticated handlers (see fuzz/corpus/request/).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "truce/core/time.h"
#include "truce/ingest/ingest.h"
#include "truce/server/server.h"
#include "truce/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<truce::FixedClock> clock;
  std::unique_ptr<truce::server::Server> server;
  std::thread thread;
  std::string analyst_token, observer_token;
  int port = 0;
};
Fixture* g = nullptr;
// stderr as it was at start: run.sh has libFuzzer close stderr (-close_fd_mask=2) to drop the
// server's access log, and this harness's own complaints must still be seen.
int g_err_fd = 2;

[[noreturn]] void die(const std::string& what) {
  const std::string line = "request_fuzz: " + what + "\n";
  (void)!::write(g_err_fd, line.data(), line.size());
  if (g && !g->dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g->dir, ec);
  }
  std::abort();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A database on tmpfs when there is one: every accepted observation is a durable commit.
std::filesystem::path make_temp_dir() {
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
  if (::access("/dev/shm", W_OK) == 0) base = "/dev/shm";
  std::string tmpl = base + "/truce-request-fuzz-XXXXXX";
  if (!::mkdtemp(tmpl.data())) die("mkdtemp failed in " + base);
  return tmpl;
}

void setup_database(const std::string& db) {
  truce::SqliteOptions so;
  so.create = true;
  so.clock = g->clock.get();
  auto s = truce::open_sqlite_store(db, so);
  if (!s.ok()) die("open_sqlite_store: " + s.status().ToString());
  const std::string observers = (g->dir / "observers.csv").string();
  std::ofstream(observers) << "observer_id,lat,lon,party,type\n"
                              "M001,39.85,46.80,MON,post\n"
                              "M002,39.95,46.70,MON,post\n"
                              "A0001,39.80,46.78,ARM,post\n"
                              "P001,,,MON,patrol\n";
  truce::ingest::Options io;
  auto imported = truce::ingest::import_observers(**s, {observers}, io);
  if (!imported.ok() || !imported->clean()) die("import_observers failed");
  struct U {
    const char* name;
    const char* role;
    std::string* token;
  };
  for (const U& u : {U{"ana", "analyst", &g->analyst_token}, U{"obs", "observer", &g->observer_token}}) {
    auto tok = truce::server::new_token();
    if (!tok.ok()) die("new_token: " + tok.status().ToString());
    *u.token = *tok;
    truce::User user{u.name, u.role,
                     std::string(u.role) == "observer" ? std::vector<std::string>{"M001", "M002"}
                                                       : std::vector<std::string>{},
                     truce::server::digest_ha1(u.name, "truce", *tok)};
    if (!(*s)->add_user(user, truce::server::token_hash(*tok)).ok()) die("add_user failed");
  }
  const std::string src = TRUCE_SOURCE_DIR;
  for (const auto& [name, path] :
       {std::pair<std::string, std::string>{"zones", src + "/fuzz/corpus/geography/zones.geojson"},
        {"loc", src + "/fuzz/corpus/geography/loc.geojson"},
        {"agreement", src + "/data/karabakh/agreement.json"}}) {
    if (!(*s)->put_document(name, read_text(path)).ok()) die("put_document " + name + " failed");
  }
}

int connect_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(g->port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether `got` holds at least one whole response (1xx interim answers skipped): then the server
// has handled the first request of the input. true for an event stream once its first chunk is in.
bool response_complete(const std::string& got) {
  std::size_t at = 0;
  for (;;) {
    const auto head_end = got.find("\r\n\r\n", at);
    if (head_end == std::string::npos) return false;
    std::string head = got.substr(at, head_end - at);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t body = head_end + 4;
    if (head.rfind("http/1.1 1", 0) == 0) {
      at = body;
      continue;
    }
    if (head.find("text/event-stream") != std::string::npos) return got.size() > body;
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
      return got.find("\r\n0\r\n\r\n", body > 2 ? body - 2 : 0) != std::string::npos;
    }
    if (const auto cl = head.find("content-length:"); cl != std::string::npos) {
      return got.size() >= body + std::strtoull(head.c_str() + cl + 15, nullptr, 10);
    }
    return head.rfind("http/1.1 204", 0) == 0 || head.rfind("http/1.1 304", 0) == 0;
  }
}

// Sends all of `req` (stopping early when the server hangs up) and reads the answer until the
// server closes or `limit` passes. The write side is shut down once the first answer is complete,
// or when none has begun within a few milliseconds (an incomplete request: the EOF ends the
// server's wait at once instead of after its read timeout). Not before: cpp-httplib writes
// nothing to a client it sees half-closed. The server's close is the sign that it is done.
// `patient`: never shut down (for a request that asks the server to close).
std::string round_trip(std::string_view req, std::chrono::milliseconds limit, bool patient = false) {
  const int fd = connect_loopback();
  if (fd < 0) return {};
  const auto start = Clock::now();
  const auto deadline = start + limit;
  auto quiet_until = Clock::time_point::max();  // set once everything is sent
  std::string got;
  char buf[16384];
  std::size_t sent = 0;
  bool write_open = true, sending = true;
  auto finish_writing = [&] {
    if (write_open) ::shutdown(fd, SHUT_WR);
    write_open = sending = false;
  };
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    if (write_open && !sending && !patient && (now >= quiet_until || response_complete(got)))
      finish_writing();
    const auto until = write_open && !sending ? std::min(deadline, quiet_until) : deadline;
    pollfd p{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
    const int n = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 1, 2000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (sending && (p.revents & POLLOUT)) {
      const ssize_t w = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) sent += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) finish_writing();
      if (sent >= req.size() && sending) {
        sending = false;
        if (!patient) quiet_until = Clock::now() + std::chrono::milliseconds(15);
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r == 0) break;
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        break;
      }
      got.append(buf, static_cast<std::size_t>(r));
      if (write_open && !sending && !patient) quiet_until = Clock::now() + std::chrono::milliseconds(15);
      // /api/v1/events never ends: once its first chunk is in, nothing more is worth waiting for.
      const auto head_end = got.find("\r\n\r\n");
      if (head_end != std::string::npos && got.compare(0, 9, "HTTP/1.1 ") == 0 &&
          got.substr(0, head_end).find("text/event-stream") != std::string::npos &&
          (response_complete(got) || Clock::now() - start > std::chrono::milliseconds(200))) {
        break;
      }
    }
  }
  ::close(fd);
  return got;
}

// The server must still answer. A few tries, patiently: event streams a fuzz input opened hold a
// worker each until the server's next write notices the client is gone (about two seconds).
void check_alive() {
  static const std::string kHealth = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::string last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = round_trip(kHealth, std::chrono::seconds(10), true);
    if (last.rfind("HTTP/1.1 200", 0) == 0) return;
  }
  die("the server no longer answers GET /healthz with 200; last answer: \"" + last.substr(0, 200) + "\"");
}

void shutdown_fixture() {
  if (!g) return;
  if (g->server) g->server->stop();
  if (g->thread.joinable()) g->thread.join();
  g->server.reset();
  std::error_code ec;
  std::filesystem::remove_all(g->dir, ec);
}

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const int fd = ::fcntl(2, F_DUPFD_CLOEXEC, 3); fd >= 0) g_err_fd = fd;
  g = new Fixture;
  g->dir = make_temp_dir();
  g->clock = std::make_unique<truce::FixedClock>(*truce::parse_instant("2023-10-01T00:00:00Z"));
  const std::string db = (g->dir / "mission.db").string();
  setup_database(db);
  truce::server::Options o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.db_path = db;
  o.threads = 4;
  o.read_timeout_s = 1;
  o.max_body_bytes = 64 * 1024;
  o.clock = g->clock.get();
  auto s = truce::server::Server::create(o);
  if (!s.ok()) die("Server::create: " + s.status().ToString());
  g->server = std::move(s).value();
  g->port = g->server->port();
  g->thread = std::thread([] { (void)g->server->listen(); });
  std::atexit(shutdown_fixture);
  check_alive();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string req(reinterpret_cast<const char*>(data), size);
  replace_all(req, "@OBSTOKEN@", g->observer_token);
  replace_all(req, "@TOKEN@", g->analyst_token);
  (void)round_trip(req, std::chrono::seconds(2));
  check_alive();
  return 0;
}
