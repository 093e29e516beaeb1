// serve: the HTTP API and OpenRosa endpoints; user: API users and their tokens.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/context.h"
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
  auto* cmd = ctx.app->add_subcommand("serve", "serve the HTTP API (/api/v1), OpenRosa (/formList, /submission), /healthz, /metrics");
  cmd->add_option("--listen", a->listen, "HOST:PORT to listen on (port 0: any free port, printed)");
  cmd->add_flag("--public", a->o.public_view, "enable the anonymous, redacted, read-only public view");
  cmd->add_option("--public-grid", a->o.public_grid_deg, "public locations are rounded to this grid (degrees)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--allow-basic", a->o.allow_basic_auth, "accept HTTP Basic auth (only behind a TLS terminator)");
  cmd->add_option("--max-body", a->o.max_body_bytes, "largest request body accepted, bytes")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->o.threads, "worker threads")->check(CLI::Range(1, 256));
  cmd->add_option("--web", a->o.web_dir, "the built dashboard served at / (\"\": none)")->capture_default_str();
  cmd->callback([&ctx, a] {
    const auto colon = a->listen.rfind(':');
    if (colon == std::string::npos) return ctx.fail(Status::Invalid("--listen: expected HOST:PORT"), kExitUsage);
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
    std::printf("truce serving %s on http://%s:%d (API /api/v1, OpenRosa /formList%s)\n", ctx.db_path().c_str(),
                a->o.host.c_str(), (*srv)->port(), a->o.web_dir.empty() ? "" : ", dashboard /");
    if (!a->o.web_dir.empty() && !std::filesystem::exists(a->o.web_dir + "/index.html")) {
      std::fprintf(stderr, "truce: no dashboard in %s (run `make build`, or npm ci && npm run build in web/)\n",
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
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    std::fprintf(stderr, "truce: server stopped\n");
    if (!st.ok()) ctx.fail(st);
  });
}

void add_user(Context& ctx) {
  auto* user = ctx.app->add_subcommand("user", "manage API users");
  user->require_subcommand(1);
  struct Args {
    std::string name, role;
    std::vector<std::string> observers;
    std::string realm = "truce";
  };
  auto a = std::make_shared<Args>();
  auto* add = user->add_subcommand("add", "add a user and print its token (shown once, stored hashed)");
  add->add_option("name", a->name, "user name")->required();
  add->add_option("--role", a->role, "observer|analyst|admin")->required()->check(CLI::IsMember({"observer", "analyst", "admin"}));
  add->add_option("--observer", a->observers, "for role observer: an observer id it may submit for (repeatable)");
  add->add_option("--realm", a->realm, "HTTP Digest realm (as `truce serve` uses)");
  add->callback([&ctx, a] {
    if (a->role == "observer" && a->observers.empty()) {
      return ctx.fail(Status::Invalid("role observer needs at least one --observer ID it may submit for"), kExitUsage);
    }
    auto store = ctx.open_store();
    if (!store) return;
    auto token = server::new_token();
    if (!token.ok()) return ctx.fail(token.status());
    User u{a->name, a->role, a->observers, server::digest_ha1(a->name, a->realm, *token)};
    Status st = store->add_user(u, server::token_hash(*token));
    if (!st.ok()) return ctx.fail(st, st.code() == Code::kConflict ? kExitInputProblems : kExitFailure);
    std::printf("%s\n", token->c_str());
    std::fprintf(stderr, "user %s (%s) added; the token above is shown only once\n", a->name.c_str(), a->role.c_str());
  });
}

}  // namespace

void add_serve_commands(Context& ctx) {
  add_serve(ctx);
  add_user(ctx);
}

}  // namespace truce::cli
