// serve: the HTTP API and OpenRosa endpoints; user: API users and their tokens.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/context.h"
#include "cli/output.h"
#include "truce/server/server.h"

#ifndef TRUCE_WEB_DIR
#define TRUCE_WEB_DIR ""
#endif

namespace truce::cli {

namespace {

void add_serve(Context& ctx) {
  struct Args {
    std::string listen = "127.0.0.1:8080";
    server::Options o;
  };
  auto a = std::make_shared<Args>();
  a->o.web_dir = TRUCE_WEB_DIR;
  auto* cmd = ctx.app->add_subcommand(
      "serve", "serve the HTTP API (/api/v1), OpenRosa (/formList, /submission), /healthz, /metrics");
  cmd->add_option("--listen", a->listen, "HOST:PORT to listen on (port 0: any free port, printed)");
  cmd->add_flag("--public", a->o.public_view, "enable the anonymous, redacted, read-only public view");
  cmd->add_option("--public-grid", a->o.public_grid_deg,
                  "public locations are rounded to this grid (degrees)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--allow-basic", a->o.allow_basic_auth,
                "accept HTTP Basic auth (only behind a TLS terminator)");
  cmd->add_option("--max-body", a->o.max_body_bytes, "largest request body accepted, bytes")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->o.threads, "handler threads (idle and slow connections hold none)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--io-threads", a->o.io_threads, "threads that read and write every connection")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--max-conns-per-client", a->o.max_connections_per_addr,
                  "connections one client address may hold open (more get 503)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--header-timeout", a->o.read_timeout_s, "seconds a request's headers may take to arrive")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--idle-timeout", a->o.idle_timeout_s, "seconds a silent keep-alive connection stays open")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--web", a->o.web_dir, "the built dashboard served at / (\"\": none)")
      ->capture_default_str();
  cmd->callback([&ctx, a] {
    const auto colon = a->listen.rfind(':');
    if (colon == std::string::npos)
      return ctx.fail(Status::Invalid("--listen: expected HOST:PORT"), kExitUsage);
    a->o.host = a->listen.substr(0, colon);
    a->o.port = std::atoi(a->listen.c_str() + colon + 1);
    a->o.db_path = ctx.db_path();
    // SIGTERM/SIGINT are taken by a watcher thread that stops the server: in-flight requests
    // finish (their writes commit) before the process exits.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    auto srv = server::Server::create(a->o);
    if (!srv.ok()) return ctx.fail(srv.status());
    std::printf("truce serving %s on http://%s:%d (API /api/v1, OpenRosa /formList%s)\n",
                ctx.db_path().c_str(), a->o.host.c_str(), (*srv)->port(),
                a->o.web_dir.empty() ? "" : ", dashboard /");
    if (!a->o.web_dir.empty() && !std::filesystem::exists(a->o.web_dir + "/index.html")) {
      std::fprintf(stderr,
                   "truce: no dashboard in %s (run `make build`, or npm ci && npm run build in web/)\n",
                   a->o.web_dir.c_str());
    }
    std::fflush(stdout);
    server::Server* s = srv->get();
    std::thread watcher([set, s] {
      int sig = 0;
      sigwait(&set, &sig);
      s->stop();
    });
    Status st = s->listen();
    // If listen() ended on its own, wake the watcher so it can be joined.
    // The watcher blocks SIGTERM and takes it with sigwait: this wakes it, it kills nothing.
    pthread_kill(watcher.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
    watcher.join();
    std::fprintf(stderr, "truce: server stopped\n");
    if (!st.ok()) ctx.fail(st);
  });
}

// --expires: an ISO 8601 instant, a duration from now ("90d", "12h") or "never" (nullopt).
Result<std::optional<Instant>> parse_expiry(const std::string& text, Instant now) {
  if (text == "never") return std::optional<Instant>();
  std::optional<Instant> at;
  if (text.size() >= 2 && (text.back() == 'd' || text.back() == 'h') &&
      text.find_first_not_of("0123456789") == text.size() - 1 && text.size() <= 7) {
    const std::int64_t n = std::stoll(text.substr(0, text.size() - 1));
    at = Instant{now.ms + n * (text.back() == 'd' ? 86400000LL : 3600000LL)};
  } else {
    auto t = parse_instant(text);
    if (!t.ok()) {
      return Status::Invalid("--expires " + text +
                             ": expected an instant such as 2027-01-01T00:00:00Z, a duration " +
                             "such as 90d or 12h, or never (" + t.status().message() + ")");
    }
    at = *t;
  }
  if (*at <= now) {
    return Status::Invalid("--expires " + text + ": " + format_instant(*at) +
                           " has passed already; give a later instant or a duration such as 90d");
  }
  return at;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// kNotFound and kConflict are the caller's mistake (a wrong name, a revoked user): exit 1.
int exit_for(const Status& st) {
  return st.code() == Code::kConflict || st.code() == Code::kNotFound ? kExitInputProblems : kExitFailure;
}

void add_user(Context& ctx) {
  auto* user = ctx.app->add_subcommand("user", "manage API users");
  user->require_subcommand(1);
  struct Args {
    std::string name, role;
    std::vector<std::string> observers;
    std::string realm = "truce";
    std::string expires;  // "" = not given
    std::string format = "table";
  };
  auto a = std::make_shared<Args>();
  const std::string expires_help =
      "refuse the token from this instant (2027-01-01T00:00:00Z), after a duration (90d, 12h)";
  auto* add = user->add_subcommand("add", "add a user and print its token (shown once, stored hashed)");
  add->add_option("name", a->name, "user name")->required();
  add->add_option("--role", a->role, "observer|analyst|admin")
      ->required()
      ->check(CLI::IsMember({"observer", "analyst", "admin"}));
  add->add_option("--observer", a->observers,
                  "for role observer: an observer id it may submit for (repeatable)");
  add->add_option("--realm", a->realm, "HTTP Digest realm (as `truce serve` uses)");
  add->add_option("--expires", a->expires, expires_help + ", or never (the default)");
  add->callback([&ctx, a] {
    if (a->role == "observer" && a->observers.empty()) {
      return ctx.fail(Status::Invalid("role observer needs at least one --observer ID it may submit for"),
                      kExitUsage);
    }
    auto expires = parse_expiry(a->expires.empty() ? "never" : a->expires, SystemClock().now());
    if (!expires.ok()) return ctx.fail(expires.status(), kExitUsage);
    auto store = ctx.open_store();
    if (!store) return;
    // An observer user may submit only for registered observers: a typing error in an id would
    // make a user who can submit nothing (or, registered later, for a post nobody chose).
    if (!a->observers.empty()) {
      auto known = store->observers();
      if (!known.ok()) return ctx.fail(known.status());
      for (const auto& id : a->observers) {
        const bool found =
            std::any_of(known->begin(), known->end(), [&](const Observer& o) { return o.id == id; });
        if (!found) {
          return ctx.fail(Status::NotFound("--observer " + id +
                                           ": no such observer is registered (`truce import observers FILE` "
                                           "registers posts, patrols and sensors)"),
                          kExitInputProblems);
        }
      }
    }
    auto token = server::new_token();
    if (!token.ok()) return ctx.fail(token.status());
    User u{a->name, a->role, a->observers, server::digest_ha1(a->name, a->realm, *token)};
    Status st = store->add_user(u, server::token_hash(*token), *expires);
    if (!st.ok()) return ctx.fail(st, st.code() == Code::kConflict ? kExitInputProblems : kExitFailure);
    std::printf("%s\n", token->c_str());
    std::fprintf(stderr, "user %s (%s) added%s; the token above is shown only once\n", a->name.c_str(),
                 a->role.c_str(), *expires ? (", expires " + format_instant(**expires)).c_str() : "");
  });

  auto* list = user->add_subcommand(
      "list", "list the users: name, role, observers, created, expires, state (no secrets)");
  list->add_option("--format", a->format, "table|csv|json")->check(CLI::IsMember({"table", "csv", "json"}));
  list->callback([&ctx, a] {
    auto store = ctx.open_store();
    if (!store) return;
    auto users = store->list_users();
    if (!users.ok()) return ctx.fail(users.status());
    TableWriter w(stdout, parse_format(a->format),
                  {"name", "role", "observers", "created", "expires", "state"}, {});
    for (const auto& u : *users) {
      w.row({u.user.name, u.user.role, join(u.user.observers), format_instant(u.created),
             u.expires ? format_instant(*u.expires) : "never", u.state});
    }
    w.finish();
  });

  auto* revoke = user->add_subcommand(
      "revoke", "revoke a user: its token stops working at once, even for a running server");
  revoke->add_option("name", a->name, "user name")->required();
  revoke->callback([&ctx, a] {
    auto store = ctx.open_store();
    if (!store) return;
    Status st = store->revoke_user(a->name);
    if (!st.ok()) return ctx.fail(st, exit_for(st));
    std::fprintf(stderr, "user %s revoked; its token no longer works\n", a->name.c_str());
  });

  auto* rotate = user->add_subcommand(
      "rotate", "give a user a new token (printed once); the old one stops working at once");
  rotate->add_option("name", a->name, "user name")->required();
  rotate->add_option("--realm", a->realm, "HTTP Digest realm (as `truce serve` uses)");
  rotate->add_option("--expires", a->expires, expires_help + ", or never (default: keep the user's expiry)");
  rotate->callback([&ctx, a] {
    std::optional<Instant> expires;
    if (!a->expires.empty()) {
      auto e = parse_expiry(a->expires, SystemClock().now());
      if (!e.ok()) return ctx.fail(e.status(), kExitUsage);
      expires = *e;
    }
    auto store = ctx.open_store();
    if (!store) return;
    if (a->expires.empty()) {
      auto users = store->list_users();
      if (!users.ok()) return ctx.fail(users.status());
      auto it = std::find_if(users->begin(), users->end(),
                             [&](const UserAccount& u) { return u.user.name == a->name; });
      if (it != users->end() && it->state == "expired") {
        return ctx.fail(Status::Invalid("user " + a->name + " expired at " + format_instant(*it->expires) +
                                        ": give --expires (an instant, a duration such as 90d, or never)"),
                        kExitUsage);
      }
      if (it != users->end()) expires = it->expires;
    }
    auto token = server::new_token();
    if (!token.ok()) return ctx.fail(token.status());
    Status st = store->rotate_user(a->name, server::token_hash(*token),
                                   server::digest_ha1(a->name, a->realm, *token), expires);
    if (!st.ok()) return ctx.fail(st, exit_for(st));
    std::printf("%s\n", token->c_str());
    std::fprintf(
        stderr,
        "user %s has a new token%s; the old one no longer works; the token above is shown only once\n",
        a->name.c_str(), expires ? (", expires " + format_instant(*expires)).c_str() : "");
  });
}

}  // namespace

void add_serve_commands(Context& ctx) {
  add_serve(ctx);
  add_user(ctx);
}

}  // namespace truce::cli
