// The HTTP engine: event-driven (Boost.Beast on Asio). A few I/O threads hold every connection,
// idle or slow, at the cost of a socket and a buffer; a request whose headers and body have
// arrived in full goes to a worker thread for its handler, and the answer is written back by the
// I/O threads. Deadlines for a request's headers, its body, a keep-alive connection's silence and
// a response's write; a cap on connections per client address; every body limit applies to chunked
// bodies too and before any handler (so before authentication). Private to the server module.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "server/http_message.h"
#include "truce/core/status.h"

namespace truce::server {

struct EngineOptions {
  std::size_t max_body_bytes = 8u << 20;  // larger bodies (declared or chunked) get 413
  std::size_t max_header_bytes = 16384;   // a larger header block gets 431
  int header_timeout_s = 10;              // from a request's first byte to the end of its headers
  int body_timeout_s = 60;                // from the end of the headers to the end of the body
  int idle_timeout_s = 75;                // a keep-alive connection with no request in progress
  int write_timeout_s = 30;               // one response (or one write of a stream)
  int max_connections_per_addr = 256;
  int max_connections = 20000;
  int io_threads = 2;
  int workers = 32;  // handler threads (the handlers may block on the database)
};

// What the engine counts, for /metrics.
struct EngineFigures {
  std::int64_t open = 0;          // connections open now
  std::int64_t accepted = 0;      // connections accepted in all
  std::int64_t refused = 0;       // refused at accept: the per-address or total cap
  std::int64_t timeouts = 0;      // closed by a deadline
  std::int64_t bad_requests = 0;  // closed after a request that could not be parsed
};

class HttpEngine {
 public:
  // `handle` runs on a worker thread and fills in the response; `written` runs after a response
  // went out (or was abandoned), on an I/O thread, for the access log.
  using Handler = std::function<void(Request&, Response&)>;
  using Logger = std::function<void(const Request&, const Response&, std::size_t bytes_out)>;
  HttpEngine(EngineOptions opts, Handler handle, Logger written);
  ~HttpEngine();
  HttpEngine(const HttpEngine&) = delete;
  HttpEngine& operator=(const HttpEngine&) = delete;

  Status bind(const std::string& host, int port);  // port 0: any free port
  int port() const;
  // Serves until stop(); then lets requests in progress finish (at most a few seconds) and returns.
  Status run();
  void stop();  // any thread, any time (before run() too)
  EngineFigures figures() const;

  struct State;  // engine.cpp

 private:
  std::shared_ptr<State> st_;
};

}  // namespace truce::server
