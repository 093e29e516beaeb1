// The HTTP engine: listening, timeouts, limits, the access log, health and metrics.
#include "server/server_impl.h"

namespace truce::server {

Status ServerImpl::start_live() {
  LiveFusion::Options lo;
  lo.open_store = opts_.open_store;
  lo.fuse = opts_.live_fusion;
  live_ = std::make_unique<LiveFusion>(lo, events_);
  return live_->start();
}

Status ServerImpl::init() {
  if (!opts_.open_store) {
    opts_.open_store = [path = opts_.db_path, clock = opts_.clock]() {
      SqliteOptions so;
      so.clock = clock;
      return open_sqlite_store(path, so);
    };
  }
  readers_.open = opts_.open_store;
  auto s = opts_.open_store();
  if (!s.ok()) return s.status();
  store_ = std::move(s).value();
  auto secret = new_token();
  if (!secret.ok()) return secret.status();
  nonce_secret_ = *secret;
  // The key of the public view's incident ids: made once per database, so that ids stay the same
  // across restarts while nobody can compute them from observation ids.
  auto key = store_->document("public.id_key");
  if (!key.ok()) return key.status();
  if (*key) {
    public_id_key_ = **key;
  } else {
    auto fresh = new_token();
    if (!fresh.ok()) return fresh.status();
    if (auto put = store_->put_document("public.id_key", *fresh); !put.ok()) return put.status();
    public_id_key_ = *fresh;
  }
  define_routes();
  svr_.set_payload_max_length(opts_.max_body_bytes);
  svr_.set_read_timeout(opts_.read_timeout_s, 0);
  svr_.set_write_timeout(opts_.read_timeout_s, 0);
  svr_.set_keep_alive_timeout(5);
  svr_.set_keep_alive_max_count(10000);  // the library's default closes after 5 requests
  // Small answers go out at once instead of waiting for the client's delayed ACK (Nagle).
  svr_.set_tcp_nodelay(true);
  const int threads = opts_.threads;
  svr_.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-OpenRosa-Version", "1.0");
    if (req.headers.size() > opts_.max_headers) {
      send_error(res, 431, "too_many_headers", "more than " + std::to_string(opts_.max_headers) + " headers");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      send_error(res, 413, "too_large", "the request body is larger than this server accepts");
    } else if (res.status == 404) {
      send_error(res, 404, "not_found", "no such endpoint");
    } else if (res.status == 405) {
      send_error(res, 405, "method_not_allowed", "this endpoint does not take that method");
    } else {
      send_error(res, res.status, "bad_request", "the request could not be handled");
    }
  });
  svr_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, 500, "internal", "internal error");
  });
  // Requests are counted before the response goes out (the logger runs after it is written, so a
  // client's next request could see its previous one not yet counted).
  svr_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string route = req.method + " " + route_of(req.method, req.path);
    std::lock_guard lk(log_mu_);
    ++requests_[{route, res.status}];
  });
  svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) { log(req, res); });
  return Status::Ok();
}

Status ServerImpl::bind() {
  port_ = opts_.port == 0 ? svr_.bind_to_any_port(opts_.host)
                          : (svr_.bind_to_port(opts_.host, opts_.port) ? opts_.port : -1);
  if (port_ < 0) return Status::IOError("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port));
  return Status::Ok();
}

Status ServerImpl::listen() {
  listen_called_ = true;
  if (stop_requested_) return Status::Ok();
  const bool ok = svr_.listen_after_bind();
  listen_returned_ = true;
  if (!ok && !stop_requested_) return Status::IOError("the server stopped with an error");
  return Status::Ok();
}

void ServerImpl::stop() {
  stop_requested_ = true;
  // A stop that comes while listen() is starting would be lost (the library ignores a stop
  // before its loop runs): wait for the loop, at most a few seconds.
  for (int i = 0; i < 5000 && listen_called_ && !listen_returned_ && !svr_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  svr_.stop();
}

Instant ServerImpl::now() const {
  static const SystemClock kSystem;
  return (opts_.clock ? opts_.clock : &kSystem)->now();
}

void ServerImpl::log(const httplib::Request& req, const httplib::Response& res) {
  json line = {{"t", format_instant(now())}, {"method", req.method},        {"path", req.path},
               {"status", res.status},       {"bytes_in", req.body.size()}, {"bytes_out", res.body.size()},
               {"remote", req.remote_addr}};
  // Paths and addresses are the client's bytes: invalid UTF-8 is written as U+FFFD, never thrown.
  const std::string s = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lk(log_mu_);
  std::fwrite(s.data(), 1, s.size(), stderr);
}

std::string ServerImpl::route_of(const std::string& method, const std::string& path) const {
  for (const auto& r : routes_) {
    if ((r.method == method || (method == "HEAD" && r.method == "GET")) && std::regex_match(path, r.pattern))
      return r.path;
  }
  return "other";
}

void ServerImpl::healthz(httplib::Response& res) {
  // The database answers: one indexed read (stats() counts every observation, which made
  // /healthz slower than the incident list).
  std::lock_guard lk(store_mu_);
  auto st = store_->incident_cursor();
  if (!st.ok()) return send_error(res, 503, "unavailable", st.status().message());
  res.set_content("{\"status\":\"ok\"}", "application/json");
}

void ServerImpl::metrics(httplib::Response& res) {
  std::string out =
      "# HELP truce_http_requests_total HTTP requests by route and status.\n"
      "# TYPE truce_http_requests_total counter\n";
  {
    std::lock_guard lk(log_mu_);
    for (const auto& [k, n] : requests_) {
      out += "truce_http_requests_total{route=\"" + k.first + "\",code=\"" + std::to_string(k.second) +
             "\"} " + std::to_string(n) + "\n";
    }
  }
  std::lock_guard lk(store_mu_);
  auto st = store_->stats();
  if (st.ok()) {
    out += "# HELP truce_observations Observations stored.\n# TYPE truce_observations gauge\n";
    out += "truce_observations " + std::to_string(st->observations) + "\n";
    out +=
        "# HELP truce_quarantined Records quarantined (rejected or conflicting).\n# TYPE truce_quarantined "
        "gauge\n";
    out += "truce_quarantined " + std::to_string(st->rejected + st->conflicts) + "\n";
  }
  if (live_) {
    const auto f = live_->figures();
    out += "# HELP truce_live_fusion_runs_total Live fusion runs (failed: failures_total).\n"
           "# TYPE truce_live_fusion_runs_total counter\n"
           "truce_live_fusion_runs_total " + std::to_string(f.runs) + "\n"
           "truce_live_fusion_failures_total " + std::to_string(f.failures) + "\n"
           "# HELP truce_live_fusion_last_run_ms How long the last live fusion run took.\n"
           "# TYPE truce_live_fusion_last_run_ms gauge\n"
           "truce_live_fusion_last_run_ms " + std::to_string(f.last_run_ms) + "\n"
           "# HELP truce_events_total Incident events published on /api/v1/events.\n"
           "# TYPE truce_events_total counter\n"
           "truce_events_total " + std::to_string(f.events) + "\n";
  }
  res.set_content(out, "text/plain; version=0.0.4");
}

Result<std::unique_ptr<Server>> Server::create(const Options& opts) {
  auto s = std::make_unique<ServerImpl>(opts);
  TRUCE_RETURN_IF_ERROR(s->init());
  TRUCE_RETURN_IF_ERROR(s->bind());
  TRUCE_RETURN_IF_ERROR(s->start_live());
  s->warm_index();
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace truce::server
