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
    if (!opts_.open_writer) {
      opts_.open_writer = [path = opts_.db_path, clock = opts_.clock]() {
        SqliteOptions so;
        so.clock = clock;
        so.background_checkpoint = true;
        return open_sqlite_store(path, so);
      };
    }
  }
  if (!opts_.open_writer) opts_.open_writer = opts_.open_store;
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
  auto writer = opts_.open_writer();
  if (!writer.ok()) return writer.status();
  committer_ = std::make_unique<GroupCommitter>(
      [w = std::shared_ptr<Store>(std::move(writer).value()), clock = opts_.clock,
       observers = std::make_shared<ingest::ObserverCache>()](std::vector<ingest::SubmissionGroup> g) {
        ingest::Options io;
        io.clock = clock;
        return ingest::submit_observation_groups(*w, std::move(g), io, observers.get());
      });
  define_routes();
  EngineOptions eo;
  eo.max_body_bytes = opts_.max_body_bytes;
  eo.header_timeout_s = opts_.read_timeout_s;
  eo.body_timeout_s = opts_.body_timeout_s;
  eo.idle_timeout_s = opts_.idle_timeout_s;
  eo.write_timeout_s = std::max(opts_.read_timeout_s, 30);
  eo.max_connections_per_addr = opts_.max_connections_per_addr;
  eo.io_threads = opts_.io_threads;
  eo.workers = opts_.threads;
  engine_ = std::make_unique<HttpEngine>(
      eo, [this](Request& req, Response& res) { handle(req, res); },
      [this](const Request& req, const Response& res, std::size_t n) { log(req, res, n); });
  return Status::Ok();
}

void ServerImpl::handle(Request& req, Response& res) {
  res.set_header("X-OpenRosa-Version", "1.0");
  const Route* route = nullptr;
  bool path_known = false;
  if (req.headers.size() > opts_.max_headers) {
    send_error(res, 431, "too_many_headers", "more than " + std::to_string(opts_.max_headers) + " headers");
  } else {
    for (const auto& r : routes_) {
      const bool match = r.literal ? req.path == r.path : std::regex_match(req.path, req.matches, r.pattern);
      if (!match) continue;
      path_known = true;
      if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) {
        route = &r;
        break;
      }
    }
    try {
      if (route) {
        run_route(*route, req, res);
      } else if (path_known) {
        send_error(res, 405, "method_not_allowed", "this endpoint does not take " + req.method);
      } else if (req.method == "GET" || req.method == "HEAD") {
        static_file(req, res);  // the dashboard; unknown paths under /api are JSON 404s
      } else {
        send_error(res, 404, "not_found", "no such endpoint");
      }
    } catch (const std::exception&) {
      res = Response{};
      res.set_header("X-OpenRosa-Version", "1.0");
      send_error(res, 500, "internal", "internal error");
    }
  }
  if (res.status < 0) res.status = 200;
  // Counted before the response goes out, so that a client's next request sees this one counted.
  const std::string name = req.method + " " + (route ? route->path : std::string("other"));
  std::lock_guard lk(log_mu_);
  ++requests_[{name, res.status}];
}

Status ServerImpl::bind() {
  return engine_->bind(opts_.host, opts_.port).ok()
             ? (port_ = engine_->port(), Status::Ok())
             : Status::IOError("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port));
}

Status ServerImpl::listen() {
  if (stop_requested_) return Status::Ok();
  return engine_->run();
}

void ServerImpl::stop() {
  stop_requested_ = true;
  engine_->stop();
}

Instant ServerImpl::now() const {
  static const SystemClock kSystem;
  return (opts_.clock ? opts_.clock : &kSystem)->now();
}

void ServerImpl::log(const Request& req, const Response& res, std::size_t bytes_out) {
  json line = {{"t", format_instant(now())}, {"method", req.method},        {"path", req.path},
               {"status", res.status},       {"bytes_in", req.body.size()}, {"bytes_out", bytes_out},
               {"remote", req.remote_addr}};
  // Paths and addresses are the client's bytes: invalid UTF-8 is written as U+FFFD, never thrown.
  const std::string s = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lk(log_mu_);
  std::fwrite(s.data(), 1, s.size(), stderr);
}

void ServerImpl::healthz(Response& res) {
  // The database answers: one indexed read (stats() counts every observation, which made
  // /healthz slower than the incident list).
  std::lock_guard lk(store_mu_);
  auto st = store_->incident_cursor();
  if (!st.ok()) return send_error(res, 503, "unavailable", st.status().message());
  res.set_content("{\"status\":\"ok\"}", "application/json");
}

void ServerImpl::metrics(Response& res) {
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
    out +=
        "# HELP truce_live_fusion_runs_total Live fusion runs (failed: failures_total).\n"
        "# TYPE truce_live_fusion_runs_total counter\n"
        "truce_live_fusion_runs_total " +
        std::to_string(f.runs) +
        "\n"
        "truce_live_fusion_failures_total " +
        std::to_string(f.failures) +
        "\n"
        "# HELP truce_live_fusion_flood_runs_total Runs of a flood's size, at the lowest priority.\n"
        "# TYPE truce_live_fusion_flood_runs_total counter\n"
        "truce_live_fusion_flood_runs_total " +
        std::to_string(f.flood_runs) +
        "\n"
        "# HELP truce_live_fusion_last_run_ms How long the last live fusion run took.\n"
        "# TYPE truce_live_fusion_last_run_ms gauge\n"
        "truce_live_fusion_last_run_ms " +
        std::to_string(f.last_run_ms) +
        "\n"
        "# HELP truce_events_total Incident events published on /api/v1/events.\n"
        "# TYPE truce_events_total counter\n"
        "truce_events_total " +
        std::to_string(f.events) + "\n";
  }
  if (committer_) {
    const auto g = committer_->figures();
    out +=
        "# HELP truce_group_commits_total Durable transactions of the write routes (each holds one or more "
        "requests).\n"
        "# TYPE truce_group_commits_total counter\n"
        "truce_group_commits_total " +
        std::to_string(g.commits) +
        "\n"
        "# HELP truce_group_commit_requests_total Requests stored by those transactions.\n"
        "# TYPE truce_group_commit_requests_total counter\n"
        "truce_group_commit_requests_total " +
        std::to_string(g.requests) + "\n";
  }
  if (engine_) {
    const auto e = engine_->figures();
    out +=
        "# HELP truce_http_connections Open HTTP connections.\n# TYPE truce_http_connections gauge\n"
        "truce_http_connections " +
        std::to_string(e.open) +
        "\n"
        "# HELP truce_http_connections_total HTTP connections accepted, refused (per-address or total cap), "
        "closed by a deadline, closed after a request that was not HTTP.\n"
        "# TYPE truce_http_connections_total counter\n"
        "truce_http_connections_total{outcome=\"accepted\"} " +
        std::to_string(e.accepted) +
        "\n"
        "truce_http_connections_total{outcome=\"refused\"} " +
        std::to_string(e.refused) +
        "\n"
        "truce_http_connections_total{outcome=\"timed_out\"} " +
        std::to_string(e.timeouts) +
        "\n"
        "truce_http_connections_total{outcome=\"bad_request\"} " +
        std::to_string(e.bad_requests) + "\n";
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
