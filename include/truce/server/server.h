// `truce serve`: the HTTP JSON API under /api/v1, OpenRosa 1.0 for field apps, health and metrics,
// and the web dashboard's static files at /.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "truce/core/status.h"
#include "truce/core/time.h"
#include "truce/store/audit.h"

namespace truce {
class Store;
}

namespace truce::server {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0 = any free port (see Server::port())
  std::string db_path;  // the mission database (SQLite file), when open_store is not given
  // Opens a connection to the mission database; the server opens several (requests, the live
  // fuser, the incident index, readers of large pages). Default: the SQLite file db_path.
  std::function<Result<std::unique_ptr<Store>>()> open_store;
  // The connection of the one writer of observations (the group commit); open_store when not
  // given. Default: the SQLite file with its WAL checkpoints on a thread of their own, so that
  // the writer never stops to copy pages.
  std::function<Result<std::unique_ptr<Store>>()> open_writer;
  std::size_t max_body_bytes = 8u << 20;  // larger requests get 413
  std::size_t max_batch = 10000;          // observations in one POST
  std::size_t max_headers = 64;           // more get 431
  int max_json_depth = 16;
  int threads = 32;         // handler threads (idle and slow connections hold none)
  int io_threads = 2;       // threads that read and write every connection
  int read_timeout_s = 10;  // a request's headers must arrive within this (slow clients are cut off)
  int body_timeout_s = 60;  // and its body within this after them
  int idle_timeout_s = 75;  // a keep-alive connection silent for longer is closed
  int max_connections_per_addr = 256;  // more from one client address are refused (503)
  int max_event_streams = 1000;        // open GET /api/v1/events streams at most
  bool public_view = false;            // anonymous read-only, redacted
  double public_grid_deg = 0.05;       // public locations are rounded to this grid
  bool allow_basic_auth = false;       // only behind a TLS terminator
  bool live_fusion = true;             // fuse what the server accepts at once (false: only `truce fuse` does)
  std::string realm = "truce";
  std::string web_dir;                // the built dashboard (index.html, assets/) served at /; "" = none
  std::size_t summary_cells = 20000;  // at most this many grid cells in /api/v1/incidents/summary
  const Clock* clock = nullptr;       // SystemClock when null
};

// The running server. Thread-safe: stop() may be called from any thread (e.g. a signal watcher);
// listen() returns after in-flight requests have finished.
class Server {
 public:
  static Result<std::unique_ptr<Server>> create(const Options& opts);
  virtual ~Server() = default;
  virtual int port() const = 0;  // the bound port
  virtual Status listen() = 0;   // blocks until stop()
  virtual void stop() = 0;
};

// API tokens: 32 random bytes as 64 hex characters, shown once; only their SHA-256 is stored.
Result<std::string> new_token();
Digest token_hash(std::string_view token);
// MD5(name:realm:token), what HTTP Digest needs to check a client without the token in clear.
std::string digest_ha1(std::string_view name, std::string_view realm, std::string_view token);

// The roles, weakest first.
inline constexpr std::string_view kRoles[] = {"public", "observer", "analyst", "admin"};

}  // namespace truce::server
