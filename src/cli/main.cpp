// The `truce` command: parses arguments and calls the modules. No logic lives here.
#include <cstdio>
#include <cstdlib>

#include "cli/context.h"

namespace truce::cli {

std::string Context::db_path() const {
  if (!db_option.empty()) return db_option;
  if (const char* env = std::getenv("TRUCE_DB"); env && *env) return env;
  return "truce.db";
}

std::unique_ptr<Store> Context::open_store(bool bulk_writes) {
  SqliteOptions o;
  o.background_checkpoint = bulk_writes;
  auto s = open_sqlite_store(db_path(), o);
  if (!s.ok()) {
    fail(s.status());
    return nullptr;
  }
  return std::move(s).value();
}

Result<std::shared_ptr<const geo::Geography>> Context::geography(const std::string& zones,
                                                                 const std::string& loc, bool& store_failed) {
  store_failed = false;
  if (!zones.empty() || !loc.empty()) {
    if (zones.empty() || loc.empty()) {
      return Status::Invalid(
          "--zones and --loc go together: give both, or neither to use the mission database");
    }
    return pipeline::load_geography_files(zones, loc);
  }
  auto store = open_store();
  if (!store) {
    store_failed = true;
    return Status::IOError("cannot open the mission database");
  }
  return pipeline::mission_geography(*store);
}

void Context::fail(const Status& st, int code) {
  std::fprintf(stderr, "truce: %s\n", st.ToString().c_str());
  exit_code = code;
}

}  // namespace truce::cli

namespace {
int run(int argc, char** argv) {
  using namespace truce::cli;
  CLI::App app{"truce: ceasefire monitoring. Observations in; fused, attributed, classified incidents out.",
               "truce"};
  app.set_version_flag("--version", "truce 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  Context ctx;
  ctx.app = &app;
  app.add_option("--db", ctx.db_option, "mission database (default: $TRUCE_DB, else ./truce.db)");
  ctx.import_cmd = app.add_subcommand("import", "import observations, observers and other mission data");
  ctx.import_cmd->require_subcommand(1);
  add_store_commands(ctx);
  add_ingest_commands(ctx);
  add_query_commands(ctx);
  add_demo_commands(ctx);
  add_serve_commands(ctx);
  add_fusion_commands(ctx);
  add_geo_commands(ctx);
  add_agreement_commands(ctx);
  add_simulate_commands(ctx);
  add_report_commands(ctx);
  app.footer(
      "Exit codes: 0 ok; 1 some records rejected or conflicting (the rest stored); 2 bad command line; "
      "3 failure (database, I/O); 4 audit chain broken.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  } catch (const std::exception& e) {
    // The modules report expected failures as values; this is the last line of defence.
    std::fprintf(stderr, "truce: internal error: %s\n", e.what());
    return kExitFailure;
  }
  return ctx.exit_code;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Setting up the commands cannot fail in a built truce; if it does, say so and fail.
    std::fprintf(stderr, "truce: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "truce: internal error\n");
  }
  return truce::cli::kExitFailure;
}
