// serve_load: the loopback load client of bench/serve (plain POSIX sockets, no library).
//
//   serve_load hold --port P [--idle 1000] [--slow 200] [--slow-interval-s 3] [--warmup-s 5]
//                   [--duration-s 20] [--probe-every-ms 50] [--timeout-ms 5000] [--path /healthz]
//                   [--sources 8]
//     Holds IDLE keep-alive connections (each sends one GET, reads the answer, then stays open and
//     silent; reopened when the server closes it) and SLOW clients (a request line, then one header
//     line every --slow-interval-s, never finishing; reopened when closed), and meanwhile measures
//     GET --path from a separate client: one new connection per probe, a probe started every
//     --probe-every-ms whatever the others are doing (open loop). Idle and slow clients come from
//     --sources loopback addresses (127.0.0.2...), probes from 127.0.0.1. Prints key=value lines.
//
//   serve_load rate --port P --token T --file obs.jsonl [--rate 2000] [--duration-s 60] [--conns 8]
//                   [--batch 1] [--poll-ms 200] [--grace-s 30] [--max-s DURATION+30]
//     Posts the observations of obs.jsonl (one JSON object a line, in time order, each with
//     "observation_id" and "time") at --rate observations/s for --duration-s, --batch per request
//     over --conns keep-alive connections, and polls GET /api/v1/incidents?from=..&to=.. for the
//     time window of what was accepted but not yet seen, looking for the observation ids in the
//     answer. Prints the time from each 201 to the first poll answer that holds the observation.
//
// A failure of the server (refused, reset, timeout, non-2xx) is counted and reported, never fatal.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

std::map<std::string, std::string> g_args;
std::string arg(const std::string& k, const std::string& def) {
  auto it = g_args.find(k);
  return it == g_args.end() ? def : it->second;
}
double argf(const std::string& k, double def) { return std::atof(arg(k, std::to_string(def)).c_str()); }

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) -
                                 (p > 0 ? 1 : 0));
  return v[i];
}

// Length of a complete HTTP response at the start of buf (0: not complete yet; -1: unparsable).
// Handles Content-Length and chunked bodies; a response with neither ends at EOF (caller's job).
long response_length(const std::string& buf, int* status) {
  const auto hend = buf.find("\r\n\r\n");
  if (hend == std::string::npos) return 0;
  if (buf.compare(0, 5, "HTTP/") != 0) return -1;
  *status = std::atoi(buf.c_str() + buf.find(' ') + 1);
  std::string head = buf.substr(0, hend);
  for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const auto cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) {
    const long n = std::atol(head.c_str() + cl + 17);
    const long total = static_cast<long>(hend) + 4 + n;
    return static_cast<long>(buf.size()) >= total ? total : 0;
  }
  if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    std::size_t p = hend + 4;
    for (;;) {
      const auto e = buf.find("\r\n", p);
      if (e == std::string::npos) return 0;
      const long n = std::strtol(buf.c_str() + p, nullptr, 16);
      if (n == 0) {
        const auto fin = buf.find("\r\n", e + 2);
        return fin == std::string::npos ? 0 : static_cast<long>(fin) + 2;
      }
      p = e + 2 + static_cast<std::size_t>(n) + 2;
      if (p > buf.size()) return 0;
    }
  }
  return static_cast<long>(hend) + 4;  // no body announced (e.g. 204)
}

// The body of a complete response (chunked decoded).
std::string response_body(const std::string& resp) {
  const auto hend = resp.find("\r\n\r\n");
  std::string head = resp.substr(0, hend);
  for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (head.find("\r\ntransfer-encoding: chunked") == std::string::npos) return resp.substr(hend + 4);
  std::string out;
  std::size_t p = hend + 4;
  for (;;) {
    const auto e = resp.find("\r\n", p);
    if (e == std::string::npos) break;
    const long n = std::strtol(resp.c_str() + p, nullptr, 16);
    if (n <= 0) break;
    out.append(resp, e + 2, static_cast<std::size_t>(n));
    p = e + 2 + static_cast<std::size_t>(n) + 2;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// hold: idle + slow connections, probes from a separate client; one epoll loop.

enum class Kind { kIdle, kSlow, kProbe };
enum class St { kConnecting, kAwaiting, kOpen, kDone };

struct Conn {
  explicit Conn(Kind k) : kind(k) {}
  Kind kind;
  St st = St::kConnecting;
  int fd = -1;
  std::string in;
  double started = 0, next_at = 0, retry_at = 0;
  int lines = 0;
  bool answered = false;  // idle: its first answer came
};

struct HoldStats {
  long idle_connected = 0, idle_answered = 0, idle_closed = 0, idle_connect_failed = 0;
  long slow_connected = 0, slow_closed = 0, slow_connect_failed = 0, slow_lines = 0;
  std::map<int, long>
      slow_close_status;  // what the server answered a slow client before closing (0: nothing)
  long probes = 0, probe_ok = 0, probe_refused = 0, probe_reset = 0, probe_timeout = 0, probe_bad_status = 0;
  std::vector<double> lat_ms;
};

int hold() {
  const int port = std::atoi(arg("port", "0").c_str());
  const int n_idle = std::atoi(arg("idle", "1000").c_str());
  const int n_slow = std::atoi(arg("slow", "200").c_str());
  const double slow_iv = argf("slow-interval-s", 3);
  const double warmup = argf("warmup-s", 5);
  const double duration = argf("duration-s", 20);
  const double probe_every = argf("probe-every-ms", 50) / 1000.0;
  const double timeout = argf("timeout-ms", 5000) / 1000.0;
  const std::string path = arg("path", "/healthz");
  // Idle and slow clients come from --sources loopback addresses (127.0.0.2, 127.0.0.3, ...), as a
  // mission's clients come from many; the server caps connections per address. Probes use 127.0.0.1.
  const int n_sources = std::max(1, std::atoi(arg("sources", "8").c_str()));
  const sockaddr_in addr = loopback(port);
  int next_source = 0;
  const std::string req_keep = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string req_close = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

  int ep = epoll_create1(0);
  std::vector<Conn*> conns;
  HoldStats s;

  auto open = [&](Conn* c, double t) -> bool {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->kind != Kind::kProbe) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(0x7f000002u + static_cast<unsigned>(next_source++ % n_sources));
      bind(c->fd, reinterpret_cast<const sockaddr*>(&src), sizeof src);
    }
    c->in.clear();
    c->st = St::kConnecting;
    c->started = t;
    c->lines = 0;
    int r = connect(c->fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (r < 0 && errno != EINPROGRESS) {
      close(c->fd);
      c->fd = -1;
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return true;
  };
  auto drop = [&](Conn* c) {
    if (c->fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
      close(c->fd);
    }
    c->fd = -1;
  };
  auto want_in_only = [&](Conn* c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  };
  auto send_all = [&](Conn* c, const std::string& d) {
    return send(c->fd, d.data(), d.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(d.size());
  };

  const double t0 = now_s();
  for (int i = 0; i < n_idle + n_slow; ++i) {
    auto* c = new Conn(i < n_idle ? Kind::kIdle : Kind::kSlow);
    if (!open(c, t0)) {
      ++(c->kind == Kind::kIdle ? s.idle_connect_failed : s.slow_connect_failed);
      c->retry_at = t0 + 0.2;
    }
    conns.push_back(c);
  }
  const double t_measure = t0 + warmup, t_end = t_measure + duration;
  double next_probe = t_measure;
  long idle_answered_at_warmup = -1, slow_open_at_warmup = -1, idle_open_at_warmup = -1;
  std::vector<epoll_event> evs(4096);
  int outstanding = 0;

  auto fail_probe = [&](Conn* c, long& counter) {
    ++counter;
    drop(c);
    c->st = St::kDone;
    --outstanding;
  };
  auto closed = [&](Conn* c, double t) {  // the server closed an idle or slow connection
    if (c->kind == Kind::kIdle) {
      ++s.idle_closed;
    } else {
      int status = 0;
      if (!c->in.empty()) response_length(c->in, &status);
      ++s.slow_close_status[status];
      ++s.slow_closed;
    }
    drop(c);
    c->retry_at = t + 0.05;  // reopen soon: the fleet keeps its connections
  };

  for (;;) {
    const double t = now_s();
    if (idle_answered_at_warmup < 0 && t >= t_measure) {
      idle_answered_at_warmup = s.idle_answered;
      long io = 0, so = 0;
      for (auto* c : conns) {
        if (c->fd >= 0 && c->st != St::kConnecting) ++(c->kind == Kind::kIdle ? io : so);
      }
      idle_open_at_warmup = io;
      slow_open_at_warmup = so;
    }
    if (t >= t_end && outstanding == 0) break;
    if (t >= t_end + timeout + 1) break;
    // probes
    while (t < t_end && t >= next_probe) {
      auto* c = new Conn(Kind::kProbe);
      ++s.probes;
      ++outstanding;
      conns.push_back(c);
      if (!open(c, next_probe)) fail_probe(c, s.probe_refused);
      next_probe += probe_every;
    }
    // timers
    for (auto* c : conns) {
      if (c->kind == Kind::kProbe) {
        if (c->st != St::kDone && t - c->started > timeout) fail_probe(c, s.probe_timeout);
        continue;
      }
      if (c->fd < 0 && c->retry_at > 0 && t >= c->retry_at) {
        c->retry_at = 0;
        if (!open(c, t)) {
          ++(c->kind == Kind::kIdle ? s.idle_connect_failed : s.slow_connect_failed);
          c->retry_at = t + 0.2;
        }
        continue;
      }
      if (c->kind == Kind::kSlow && c->st == St::kOpen && t >= c->next_at) {
        const std::string line = "X-Slow-" + std::to_string(c->lines++) + ": 1\r\n";
        if (!send_all(c, line)) {
          closed(c, t);
          continue;
        }
        ++s.slow_lines;
        c->next_at = t + slow_iv;
      }
      if (c->fd >= 0 && c->st == St::kConnecting && t - c->started > timeout) {  // connect never completed
        ++(c->kind == Kind::kIdle ? s.idle_connect_failed : s.slow_connect_failed);
        drop(c);
        c->retry_at = t + 0.2;
      }
    }
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 5);
    const double te = now_s();
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(evs[static_cast<std::size_t>(i)].data.ptr);
      if (c->fd < 0) continue;
      const uint32_t e = evs[static_cast<std::size_t>(i)].events;
      if (c->st == St::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (e & EPOLLERR)) {
          if (c->kind == Kind::kProbe) {
            fail_probe(c, err == ECONNREFUSED ? s.probe_refused : s.probe_reset);
          } else {
            ++(c->kind == Kind::kIdle ? s.idle_connect_failed : s.slow_connect_failed);
            drop(c);
            c->retry_at = te + 0.2;
          }
          continue;
        }
        if (!(e & EPOLLOUT)) continue;
        want_in_only(c);
        if (c->kind == Kind::kProbe) {
          if (!send_all(c, req_close)) {
            fail_probe(c, s.probe_reset);
            continue;
          }
          c->st = St::kAwaiting;
        } else if (c->kind == Kind::kIdle) {
          ++s.idle_connected;
          if (!send_all(c, req_keep)) {
            closed(c, te);
            continue;
          }
          c->st = St::kAwaiting;
        } else {
          ++s.slow_connected;
          if (!send_all(c, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n")) {
            closed(c, te);
            continue;
          }
          c->st = St::kOpen;
          c->next_at = te + slow_iv;
        }
        continue;
      }
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        char buf[16384];
        bool eof = false;
        for (;;) {
          const ssize_t r = recv(c->fd, buf, sizeof buf, 0);
          if (r > 0) {
            c->in.append(buf, static_cast<std::size_t>(r));
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) eof = true;
          break;
        }
        if (c->kind == Kind::kProbe) {
          int status = 0;
          const long len = response_length(c->in, &status);
          if (len > 0) {
            if (status >= 200 && status < 300) {
              ++s.probe_ok;
              s.lat_ms.push_back((te - c->started) * 1000.0);
            } else {
              ++s.probe_bad_status;
            }
            drop(c);
            c->st = St::kDone;
            --outstanding;
          } else if (eof) {
            fail_probe(c, s.probe_reset);
          }
          continue;
        }
        if (c->kind == Kind::kIdle && !c->answered) {
          int status = 0;
          if (response_length(c->in, &status) > 0) {
            c->answered = true;
            ++s.idle_answered;
          }
        }
        if (eof) closed(c, te);
      }
    }
    // free finished probes now and then
    if (conns.size() > static_cast<std::size_t>(n_idle + n_slow) + 4096) {
      std::vector<Conn*> keep;
      for (auto* c : conns) {
        if (c->kind == Kind::kProbe && c->st == St::kDone)
          delete c;
        else
          keep.push_back(c);
      }
      conns.swap(keep);
    }
  }
  long idle_open = 0, slow_open = 0;
  for (auto* c : conns) {
    if (c->kind != Kind::kProbe && c->fd >= 0 && c->st != St::kConnecting)
      ++(c->kind == Kind::kIdle ? idle_open : slow_open);
  }
  // Unfinished probes at the very end count as timeouts.
  for (auto* c : conns) {
    if (c->kind == Kind::kProbe && c->st != St::kDone) ++s.probe_timeout;
  }
  const long failed = s.probes - s.probe_ok;
  // p99 over all probes: a failed probe counts as slower than any answer.
  std::vector<double> all = s.lat_ms;
  for (long i = 0; i < failed; ++i) all.push_back(INFINITY);
  std::printf("idle_target=%d slow_target=%d\n", n_idle, n_slow);
  std::printf("idle_open_at_measure=%ld slow_open_at_measure=%ld idle_answered_at_measure=%ld\n",
              idle_open_at_warmup, slow_open_at_warmup, idle_answered_at_warmup);
  std::printf("idle_open_at_end=%ld slow_open_at_end=%ld\n", idle_open, slow_open);
  std::printf("idle_connects=%ld idle_answered=%ld idle_closed_by_server=%ld idle_connect_failed=%ld\n",
              s.idle_connected, s.idle_answered, s.idle_closed, s.idle_connect_failed);
  std::printf("slow_connects=%ld slow_header_lines=%ld slow_closed_by_server=%ld slow_connect_failed=%ld\n",
              s.slow_connected, s.slow_lines, s.slow_closed, s.slow_connect_failed);
  for (const auto& [st, nn] : s.slow_close_status) std::printf("slow_closed_with_status_%d=%ld\n", st, nn);
  std::printf("probes=%ld ok=%ld failed=%ld refused=%ld reset=%ld timeout=%ld bad_status=%ld\n", s.probes,
              s.probe_ok, failed, s.probe_refused, s.probe_reset, s.probe_timeout, s.probe_bad_status);
  std::printf("p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", pct(s.lat_ms, 50), pct(s.lat_ms, 90),
              pct(s.lat_ms, 99), pct(s.lat_ms, 100));
  const double p99all = pct(all, 99);
  if (std::isinf(p99all))
    std::printf("p99_all_ms=inf\n");
  else
    std::printf("p99_all_ms=%.2f\n", p99all);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rate: paced posting and visibility polling, blocking sockets on threads.

struct Http {
  int fd = -1;
  int port = 0;
  ~Http() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  bool connect_() {
    reset();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const sockaddr_in a = loopback(port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      reset();
      return false;
    }
    return true;
  }
  // One request on the kept connection (reconnecting once if the server closed it). Returns the
  // status (0: transport failure) and the body.
  int request(const std::string& req, std::string* body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd < 0 && !connect_()) return 0;
      if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        reset();
        continue;
      }
      std::string in;
      char buf[65536];
      int status = 0;
      long len = 0;
      bool got_any = false;
      for (;;) {
        const ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        got_any = true;
        in.append(buf, static_cast<std::size_t>(r));
        len = response_length(in, &status);
        if (len != 0) break;
      }
      if (len <= 0) {
        reset();
        if (!got_any) continue;  // a kept connection the server had closed: once more
        return 0;
      }
      std::string lower = in.substr(0, in.find("\r\n\r\n"));
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.find("connection: close") != std::string::npos) reset();
      if (body) *body = response_body(in.substr(0, static_cast<std::size_t>(len)));
      return status;
    }
    return 0;
  }
};

// "2023-09-14T01:02:03[.123]Z" plus seconds, as "YYYY-MM-DDTHH:MM:SSZ".
std::string iso_plus(const std::string& iso, long seconds) {
  tm t{};
  if (!strptime(iso.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return iso;
  time_t e = timegm(&t) + seconds;
  tm o{};
  gmtime_r(&e, &o);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &o);
  return b;
}

struct Obs {
  std::string id, json;
  std::string time;  // ISO 8601, sortable as text
  double acked = -1, seen = -1;
};

int rate() {
  const int port = std::atoi(arg("port", "0").c_str());
  const std::string token = arg("token", "");
  const double rate_per_s = argf("rate", 2000);
  const double duration = argf("duration-s", 60);
  const int conns = std::atoi(arg("conns", "8").c_str());
  const int batch = std::max(1, std::atoi(arg("batch", "1").c_str()));
  const double poll_s = argf("poll-ms", 200) / 1000.0;
  const double grace = argf("grace-s", 30);
  const double max_s = argf("max-s", duration + 30);  // senders stop then, however far behind
  std::ifstream f(arg("file", ""));
  if (!f) {
    std::fprintf(stderr, "serve_load rate: cannot read --file\n");
    return 2;
  }
  const std::size_t want = static_cast<std::size_t>(rate_per_s * duration);
  std::vector<Obs> obs;
  std::string line;
  auto field = [](const std::string& j, const char* name) {
    const std::string key = std::string("\"") + name + "\":";
    auto p = j.find(key);
    if (p == std::string::npos) return std::string();
    p = j.find('"', p + key.size());
    const auto e = j.find('"', p + 1);
    return j.substr(p + 1, e - p - 1);
  };
  while (obs.size() < want && std::getline(f, line)) {
    if (line.empty()) continue;
    obs.push_back({field(line, "observation_id"), line, field(line, "time")});
  }
  if (obs.size() < want)
    std::fprintf(stderr, "serve_load rate: only %zu observations in --file\n", obs.size());
  const std::size_t total = obs.size();
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < total; ++i) index[obs[i].id] = i;
  const std::string prefix =
      "\"" + obs[0].id.substr(0, obs[0].id.find('-') + 1);  // ids share a prefix ("live-")

  std::mutex mu;  // guards acked/seen
  std::atomic<std::size_t> next{0};
  std::atomic<long> http_fail{0}, non201{0}, posted_requests{0};
  std::map<int, long> statuses;
  const double t0 = now_s() + 0.2;
  std::vector<std::thread> senders;
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  for (int k = 0; k < conns; ++k) {
    senders.emplace_back([&, k] {
      (void)k;
      Http h;
      h.port = port;
      for (;;) {
        if (now_s() - t0 > max_s) break;
        const std::size_t i = next.fetch_add(static_cast<std::size_t>(batch));
        if (i >= total) break;
        const std::size_t e = std::min(total, i + static_cast<std::size_t>(batch));
        // open-loop schedule: observation i is due at t0 + i / rate
        const double due = t0 + static_cast<double>(i) / rate_per_s;
        const double wait = due - now_s();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
        std::string body;
        if (batch == 1) {
          body = obs[i].json;
        } else {
          body = "[";
          for (std::size_t j = i; j < e; ++j) body += (j > i ? "," : "") + obs[j].json;
          body += "]";
        }
        const std::string req =
            "POST /api/v1/observations HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
            "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
            body;
        const int st = h.request(req, nullptr);
        const double t = now_s();
        ++posted_requests;
        std::lock_guard lk(mu);
        ++statuses[st];
        if (st == 0)
          ++http_fail;
        else if (st != 201)
          ++non201;
        if (st == 201 || st == 200) {
          for (std::size_t j = i; j < e; ++j) obs[j].acked = t;
        }
      }
    });
  }
  // poller
  std::vector<double> poll_ms;
  long polls = 0, poll_fail = 0;
  std::size_t max_items_bytes = 0;
  std::atomic<bool> senders_done{false};
  std::thread poller([&] {
    Http h;
    h.port = port;
    std::size_t low = 0;  // every observation before low was seen (or never acked)
    double done_at = -1;
    for (;;) {
      const double ts = now_s();
      if (senders_done && done_at < 0) done_at = ts;
      std::string from, to;
      bool pending_left = false;
      {
        std::lock_guard lk(mu);
        while (low < total && obs[low].seen >= 0) ++low;
        for (std::size_t i = low; i < total; ++i) {
          if (obs[i].acked < 0 || obs[i].seen >= 0) continue;
          pending_left = true;
          if (from.empty() || obs[i].time < from) from = obs[i].time;
          if (to.empty() || obs[i].time > to) to = obs[i].time;
        }
      }
      if (!pending_left) {
        if (senders_done) {
          bool all_acked_seen = true;
          std::lock_guard lk(mu);
          for (std::size_t i = low; i < total; ++i) all_acked_seen &= obs[i].acked < 0 || obs[i].seen >= 0;
          if (all_acked_seen) break;
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(poll_s));
        continue;
      }
      if (done_at >= 0 && ts - done_at > grace) break;
      // from: incidents ending at or after; an incident's times are the fused event's, which may be
      // well before an observation's time (a report made minutes after the fire), so five minutes
      // before the first pending observation. to is exclusive ("starting before"): a minute after
      // the last pending one.
      // Pages of at most 5,000 (the API's largest), followed by next_cursor to the end.
      const std::string to_plus = iso_plus(to, 60);
      std::string cursor;
      for (int page = 0; page < 1000; ++page) {
        const std::string req = "GET /api/v1/incidents?from=" + iso_plus(from, -300) + "&to=" + to_plus +
                                "&limit=5000" + (cursor.empty() ? "" : "&cursor=" + cursor) +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n";
        std::string body;
        const int st = h.request(req, &body);
        const double tr = now_s();
        max_items_bytes = std::max(max_items_bytes, body.size());
        if (st != 200) {
          ++poll_fail;
          break;
        }
        {
          std::lock_guard lk(mu);
          std::size_t p = 0;
          while ((p = body.find(prefix, p)) != std::string::npos) {
            const auto e = body.find('"', p + 1);
            if (e == std::string::npos) break;
            auto it = index.find(body.substr(p + 1, e - p - 1));
            if (it != index.end() && obs[it->second].acked >= 0 && obs[it->second].seen < 0)
              obs[it->second].seen = tr;
            p = e + 1;
          }
        }
        static constexpr std::string_view kNext = "\"next_cursor\":\"";
        const auto nc = body.rfind(kNext);
        if (nc == std::string::npos) break;  // null: the last page
        const auto ce = body.find('"', nc + kNext.size());
        if (ce == std::string::npos) break;
        cursor = body.substr(nc + kNext.size(), ce - nc - kNext.size());
      }
      ++polls;
      poll_ms.push_back((now_s() - ts) * 1000.0);
      const double spent = now_s() - ts;
      if (spent < poll_s) std::this_thread::sleep_for(std::chrono::duration<double>(poll_s - spent));
    }
  });
  for (auto& t : senders) t.join();
  const double t_sent = now_s();
  senders_done = true;
  poller.join();
  std::vector<double> lat;
  long acked = 0, seen = 0;
  for (const auto& o : obs) {
    if (o.acked < 0) continue;
    ++acked;
    if (o.seen >= 0) {
      ++seen;
      lat.push_back((o.seen - o.acked) * 1000.0);
    }
  }
  std::vector<double> all = lat;
  for (long i = 0; i < acked - seen; ++i) all.push_back(INFINITY);
  const double send_s = t_sent - t0;
  std::printf("observations=%zu target_rate=%.0f batch=%d conns=%d\n", total, rate_per_s, batch, conns);
  std::printf("send_s=%.2f achieved_rate=%.0f requests=%ld\n", send_s, static_cast<double>(acked) / send_s,
              posted_requests.load());
  for (const auto& [st, n] : statuses) std::printf("status_%d=%ld\n", st, n);
  std::printf("acked=%ld seen=%ld unseen=%ld\n", acked, seen, acked - seen);
  std::printf("polls=%ld poll_fail=%ld poll_p50_ms=%.1f poll_max_ms=%.1f poll_max_bytes=%zu\n", polls,
              poll_fail, pct(poll_ms, 50), pct(poll_ms, 100), max_items_bytes);
  std::printf("vis_p50_ms=%.1f vis_p90_ms=%.1f vis_p99_ms=%.1f vis_max_ms=%.1f\n", pct(lat, 50), pct(lat, 90),
              pct(lat, 99), pct(lat, 100));
  const double p99all = pct(all, 99);
  if (std::isinf(p99all))
    std::printf("vis_p99_all_ms=inf\n");
  else
    std::printf("vis_p99_all_ms=%.1f\n", p99all);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  if (argc < 2) {
    std::fprintf(stderr, "usage: serve_load hold|rate --port P [--key value]...\n");
    return 2;
  }
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) == 0) k = k.substr(2);
    g_args[k] = argv[i + 1];
  }
  const std::string mode = argv[1];
  if (mode == "hold") return hold();
  if (mode == "rate") return rate();
  std::fprintf(stderr, "serve_load: unknown mode %s\n", mode.c_str());
  return 2;
}
