// The HTTP engine on Boost.Beast and Asio: see engine.h. Requests are parsed by Beast (the part
// an attacker talks to); responses are written as one header block and the body.
#include "server/engine.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "server/gzip.h"

namespace truce::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// The Date header (RFC 9110 section 6.6.1), made once a second per thread.
const std::string& http_date() {
  thread_local std::time_t made = 0;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != made) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    text = buf;
    made = now;
  }
  return text;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; a '%' not followed by two hex digits stays as it is. `plus`: '+' is a space.
std::string percent_decode(std::string_view s, bool plus) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(plus && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

void parse_query(std::string_view q, std::multimap<std::string, std::string>& params) {
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    params.emplace(percent_decode(item.substr(0, eq), true),
                   eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1), true));
  }
}

std::string reason(int status) {
  const auto r = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  return r.empty() ? std::string("Unknown") : std::string(r);
}

// A whole answer the engine makes itself (before or without a handler), JSON like every error.
std::string canned(int status, std::string_view code, std::string_view message) {
  const std::string body = std::string("{\"error\":{\"code\":\"") + std::string(code) + "\",\"message\":\"" +
                           std::string(message) + "\"}}";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\nDate: " + http_date() +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

struct HttpEngine::State : std::enable_shared_from_this<HttpEngine::State> {
  EngineOptions opts;
  Handler handle;
  Logger written;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<asio::thread_pool> workers;
  std::atomic<bool> stopping{false};
  std::atomic<bool> running{false};
  int port = -1;

  std::mutex mu;  // guards per_addr and sessions
  std::unordered_map<std::string, int> per_addr;
  std::unordered_set<struct Session*> sessions;
  std::atomic<std::int64_t> open{0}, accepted{0}, refused{0}, timeouts{0}, bad_requests{0};

  std::optional<asio::steady_timer> retry;  // accepting again after a failed accept

  void accept();
  void close_idle();
  void drain();
};

// One connection. Lives on its own strand; owned by the asynchronous operations in progress.
struct Session : std::enable_shared_from_this<Session> {
  using State = HttpEngine::State;
  std::shared_ptr<State> st;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  std::string addr;
  bool busy = false;  // a request is being read, handled or answered
  bool keep_alive = true;
  std::string out_head, out_body;  // the response being written
  std::shared_ptr<Request> req;
  std::shared_ptr<Response> res;
  std::optional<asio::steady_timer> timer;  // for streams

  Session(std::shared_ptr<State> s, tcp::socket sock, std::string a)
      : st(std::move(s)), stream(std::move(sock)), addr(std::move(a)) {}
  ~Session() {
    std::lock_guard lk(st->mu);
    st->sessions.erase(this);
    if (auto it = st->per_addr.find(addr); it != st->per_addr.end() && --it->second <= 0)
      st->per_addr.erase(it);
    --st->open;
  }

  void start() { wait_request(); }

  // Between requests: silence costs nothing but the idle deadline.
  void wait_request() {
    busy = false;
    if (st->stopping) return close();
    if (buffer.size() > 0) return read_header();  // a pipelined request is already here
    stream.expires_after(std::chrono::seconds(st->opts.idle_timeout_s));
    auto b = buffer.prepare(4096);
    stream.async_read_some(b, [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec) {
        if (ec == beast::error::timeout) ++self->st->timeouts;
        return self->close();
      }
      self->buffer.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    busy = true;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(st->opts.max_header_bytes));
    parser->body_limit(st->opts.max_body_bytes);
    stream.expires_after(std::chrono::seconds(st->opts.header_timeout_s));
    http::async_read_header(stream, buffer, *parser,
                            [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Answers a request that never reaches a handler, then closes.
  void refuse(int status, std::string_view code, std::string_view message) {
    ++st->bad_requests;
    out_head = canned(status, code, message);
    out_body.clear();
    keep_alive = false;
    stream.expires_after(std::chrono::seconds(st->opts.write_timeout_s));
    asio::async_write(stream, asio::buffer(out_head),
                      [self = shared_from_this()](error_code, std::size_t) { self->close(); });
  }

  bool read_failed(error_code ec) {
    if (!ec) return false;
    if (ec == http::error::header_limit) {
      refuse(431, "headers_too_large", "the request's headers are larger than this server accepts");
    } else if (ec == http::error::body_limit) {
      refuse(413, "too_large", "the request body is larger than this server accepts");
    } else if (ec == beast::error::timeout) {
      ++st->timeouts;
      close();
    } else if (ec != http::error::end_of_stream &&
               ec.category() == http::make_error_code(http::error::bad_target).category()) {
      refuse(400, "bad_request", "the request is not valid HTTP/1.1");
    } else {
      close();  // end of stream, EOF, a reset, an aborted read, or any other error: the connection is done
    }
    return true;
  }

  void on_header(error_code ec) {
    if (read_failed(ec)) return;
    auto& h = parser->get();
    if (!parser->is_done()) {
      if (beast::iequals(h[http::field::expect], "100-continue")) {
        out_head = "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(std::chrono::seconds(st->opts.write_timeout_s));
        asio::async_write(stream, asio::buffer(out_head),
                          [self = shared_from_this()](error_code e, std::size_t) {
                            if (e) return self->close();
                            self->read_body();
                          });
        return;
      }
      return read_body();
    }
    dispatch();
  }

  void read_body() {
    stream.expires_after(std::chrono::seconds(st->opts.body_timeout_s));
    http::async_read(stream, buffer, *parser, [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->read_failed(ec)) return;
      self->dispatch();
    });
  }

  void dispatch() {
    auto& m = parser->get();
    req = std::make_shared<Request>();
    req->method = std::string(m.method_string());
    req->target = std::string(m.target());
    const std::string_view t = req->target;
    const auto q = t.find('?');
    req->path = percent_decode(t.substr(0, q), false);
    if (q != std::string_view::npos) parse_query(t.substr(q + 1), req->params);
    for (const auto& f : m) req->headers.emplace(std::string(f.name_string()), std::string(f.value()));
    req->body = std::move(m.body());
    req->remote_addr = addr;
    keep_alive = m.keep_alive();
    parser.reset();
    stream.expires_never();
    if (t.empty() || t.front() != '/') {
      return refuse(400, "bad_request", "the request target must be a path (origin-form)");
    }
    // The handler may block (the database): on a worker, never on an I/O thread.
    asio::post(*st->workers, [self = shared_from_this()] {
      auto out = std::make_shared<Response>();
      try {
        self->st->handle(*self->req, *out);
      } catch (...) {
        *out = Response{};
        out->status = 500;
        out->set_content("{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}",
                         "application/json");
      }
      if (out->status < 0) out->status = 200;
      if (!out->stream) self->encode(*out);
      asio::post(self->stream.get_executor(), [self, out] { self->write(out); });
    });
  }

  // Runs on the worker: compresses and makes the header block.
  void encode(Response& r) {
    const bool head = req->method == "HEAD";
    if (r.body.size() >= 1024 && !r.headers.count("Content-Encoding") &&
        compressible(r.get_header_value("Content-Type")) &&
        accepts_gzip(req->get_header_value("Accept-Encoding"))) {
      if (auto z = gzip_compress(r.body)) {
        r.body = std::move(*z);
        r.set_header("Content-Encoding", "gzip");
      }
    }
    if (compressible(r.get_header_value("Content-Type")) && !r.headers.count("Vary")) {
      r.set_header("Vary", "Accept-Encoding");
    }
    std::string h =
        "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\nDate: " + http_date() + "\r\n";
    for (const auto& [k, v] : r.headers) {
      if (beast::iequals(k, "Content-Length") || beast::iequals(k, "Connection")) continue;
      h += k + ": " + v + "\r\n";
    }
    const bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
    if (!no_body) h += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (!keep_alive || st->stopping) h += "Connection: close\r\n";
    h += "\r\n";
    out_head = std::move(h);
    if (head || no_body) r.body.clear();
  }

  void write(std::shared_ptr<Response> r) {
    res = std::move(r);
    if (res->stream) return start_stream();
    out_body = std::move(res->body);
    const std::size_t n = out_head.size() + out_body.size();
    stream.expires_after(std::chrono::seconds(st->opts.write_timeout_s));
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out_head), asio::buffer(out_body)};
    asio::async_write(stream, bufs, [self = shared_from_this(), n](error_code ec, std::size_t) {
      if (self->st->written) self->st->written(*self->req, *self->res, ec ? 0 : n);
      self->req.reset();
      self->res.reset();
      self->out_body.clear();
      if (ec || !self->keep_alive || self->st->stopping) return self->close();
      self->wait_request();
    });
  }

  // --- a streamed response (text/event-stream): chunked, written as the stream produces it ---
  void start_stream() {
    std::string h = "HTTP/1.1 " + std::to_string(res->status) + " " + reason(res->status) +
                    "\r\nDate: " + http_date() + "\r\n";
    for (const auto& [k, v] : res->headers) {
      if (beast::iequals(k, "Content-Length") || beast::iequals(k, "Connection") ||
          beast::iequals(k, "Transfer-Encoding"))
        continue;
      h += k + ": " + v + "\r\n";
    }
    h += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    keep_alive = false;
    out_head = std::move(h);
    timer.emplace(stream.get_executor());
    if (st->written) st->written(*req, *res, 0);
    // A stream ends when the client goes: a read that completes (with data or an error) says so.
    auto b = buffer.prepare(1024);
    stream.socket().async_read_some(b, [self = shared_from_this()](error_code, std::size_t) {
      error_code ignored;
      self->timer->cancel();
      self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
    stream_write(std::move(out_head), false);
  }

  void stream_write(std::string data, bool last) {
    out_body = std::move(data);
    stream.expires_after(std::chrono::seconds(st->opts.write_timeout_s));
    asio::async_write(stream, asio::buffer(out_body),
                      [self = shared_from_this(), last](error_code ec, std::size_t) {
                        if (ec || last) return self->end_stream();
                        self->stream_tick();
                      });
  }

  void stream_tick() {
    timer->expires_after(res->stream->interval);
    timer->async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return self->end_stream();
      bool done = self->st->stopping;
      std::string data = done ? std::string() : self->res->stream->poll(done);
      std::string chunk;
      if (!data.empty()) {
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", data.size());
        chunk = size + data + "\r\n";
      }
      if (done) chunk += "0\r\n\r\n";
      if (chunk.empty()) return self->stream_tick();
      self->stream_write(std::move(chunk), done);
    });
  }

  void end_stream() {
    if (res && res->stream && res->stream->close) {
      auto c = std::move(res->stream->close);
      res->stream->close = nullptr;
      c();
    }
    close();
  }

  void close() {
    error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
  }
};

void HttpEngine::State::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [self = shared_from_this()](error_code ec, tcp::socket sock) {
    if (self->stopping) return;
    if (ec) {
      // Out of descriptors (or another transient failure): try again shortly, never stop serving.
      self->retry.emplace(self->ioc, std::chrono::milliseconds(20));
      self->retry->async_wait([self](error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    error_code e2;
    sock.set_option(tcp::no_delay(true), e2);  // small answers go out at once (no Nagle delay)
    const auto ep = sock.remote_endpoint(e2);
    std::string addr = e2 ? std::string("?") : ep.address().to_string();
    bool ok = false;
    {
      std::lock_guard lk(self->mu);
      int& n = self->per_addr[addr];
      if (n < self->opts.max_connections_per_addr && self->open < self->opts.max_connections) {
        ++n;
        ++self->open;
        ok = true;
      } else if (n == 0) {
        self->per_addr.erase(addr);
      }
    }
    ++self->accepted;
    if (!ok) {
      ++self->refused;
      // Told why, then closed; written without waiting (a refused client gets no deadline of its own).
      auto msg = std::make_shared<std::string>(
          canned(503, "too_many_connections", "too many connections from this address; retry later"));
      auto s = std::make_shared<tcp::socket>(std::move(sock));
      s->non_blocking(true, e2);
      asio::async_write(*s, asio::buffer(*msg), [s, msg](error_code, std::size_t) {
        error_code ignored;
        s->shutdown(tcp::socket::shutdown_both, ignored);
        s->close(ignored);
      });
    } else {
      auto session = std::make_shared<Session>(self, std::move(sock), std::move(addr));
      {
        std::lock_guard lk(self->mu);
        self->sessions.insert(session.get());
      }
      asio::dispatch(session->stream.get_executor(), [session] { session->start(); });
    }
    self->accept();
  });
}

void HttpEngine::State::close_idle() {
  std::vector<std::weak_ptr<Session>> all;
  {
    std::lock_guard lk(mu);
    for (Session* s : sessions) all.push_back(s->weak_from_this());
  }
  for (auto& w : all) {
    if (auto s = w.lock()) {
      asio::post(s->stream.get_executor(), [s] {
        if (!s->busy) s->close();
        if (s->timer) s->timer->cancel();  // a stream ends at its next tick
      });
    }
  }
}

// After the loop has stopped, the handlers still queued own the state (and the state owns the
// loop): everything still open is closed and the handlers it aborts run now, so that nothing is
// left holding the state when the engine goes.
void HttpEngine::State::drain() {
  std::vector<std::shared_ptr<Session>> left;
  {
    std::lock_guard lk(mu);
    for (Session* s : sessions) {
      if (auto p = s->weak_from_this().lock()) left.push_back(std::move(p));
    }
  }
  for (auto& s : left) {
    if (s->timer) s->timer->cancel();
    s->close();
  }
  left.clear();
  error_code ignored;
  acceptor.close(ignored);
  if (retry) retry->cancel();
  ioc.restart();
  while (ioc.poll() > 0) {
  }
}

HttpEngine::HttpEngine(EngineOptions opts, Handler handle, Logger written) : st_(std::make_shared<State>()) {
  st_->opts = opts;
  st_->handle = std::move(handle);
  st_->written = std::move(written);
}

HttpEngine::~HttpEngine() {
  stop();
  if (st_->workers) st_->workers->join();
}

Status HttpEngine::bind(const std::string& host, int port) {
  error_code ec;
  tcp::resolver resolver(st_->ioc);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty()) return Status::IOError("cannot resolve " + host + ": " + ec.message());
  const tcp::endpoint ep = results.begin()->endpoint();
  auto& a = st_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(4096, ec);
  if (ec)
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  st_->port = a.local_endpoint(ec).port();
  return Status::Ok();
}

int HttpEngine::port() const { return st_->port; }

Status HttpEngine::run() {
  if (st_->stopping) return Status::Ok();
  st_->workers.emplace(static_cast<std::size_t>(std::max(1, st_->opts.workers)));
  st_->running = true;
  auto guard = asio::make_work_guard(st_->ioc);
  st_->accept();
  std::vector<std::thread> extra;
  for (int i = 1; i < st_->opts.io_threads; ++i) extra.emplace_back([this] { st_->ioc.run(); });
  // stop() posts the shutdown: no new connections, idle ones closed, requests in progress finish
  // (at most 5 s), then the loop ends.
  auto watch = std::make_shared<asio::steady_timer>(st_->ioc);
  auto deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void(error_code)> check;
  bool shutting = false;
  check = [&](error_code) {
    if (st_->stopping && !shutting) {
      shutting = true;
      error_code ignored;
      st_->acceptor.close(ignored);
      st_->close_idle();
      *deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    if (shutting && (st_->open == 0 || std::chrono::steady_clock::now() > *deadline)) {
      guard.reset();
      st_->ioc.stop();
      return;
    }
    if (shutting) st_->close_idle();
    watch->expires_after(std::chrono::milliseconds(shutting ? 20 : 50));
    watch->async_wait(check);
  };
  watch->async_wait(check);
  st_->ioc.run();
  for (auto& t : extra) t.join();
  st_->workers->join();
  st_->drain();
  st_->running = false;
  return Status::Ok();
}

void HttpEngine::stop() { st_->stopping = true; }

EngineFigures HttpEngine::figures() const {
  EngineFigures f;
  f.open = st_->open;
  f.accepted = st_->accepted;
  f.refused = st_->refused;
  f.timeouts = st_->timeouts;
  f.bad_requests = st_->bad_requests;
  return f;
}

}  // namespace truce::server
