// Shared state of the `truce` command: the global options and the places subcommands hang from.
// Each cmd_*.cpp adds its commands in one add_*_commands function; main() calls them in order.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "truce/agreement/humanitarian.h"
#include "truce/pipeline/fuse.h"
#include "truce/store/store.h"

namespace truce::cli {

// Documented exit codes (README "Exit codes").
enum Exit : int {
  kExitOk = 0,
  kExitInputProblems = 1,  // some records were rejected or conflicting; the rest was stored
  kExitUsage = 2,          // bad command line
  kExitFailure = 3,        // database, I/O or other failure: nothing (more) was done
  kExitTampered = 4,       // truce verify found the audit chain broken
};

struct Context {
  std::string db_option;  // --db
  CLI::App* app = nullptr;
  CLI::App* import_cmd = nullptr;  // `truce import ...` (subcommands add themselves)
  int exit_code = kExitOk;

  // --db, else $TRUCE_DB, else ./truce.db
  std::string db_path() const;
  // Opens the mission database or prints why it cannot and sets exit_code.
  std::unique_ptr<Store> open_store(bool bulk_writes = false);
  // The geography a command works on: --zones/--loc files when given (no database needed), else
  // the mission's. store_failed tells that the database could not be opened (already reported).
  Result<std::shared_ptr<const geo::Geography>> geography(const std::string& zones, const std::string& loc,
                                                          bool& store_failed);
  // Prints "truce: <message>" to stderr and sets the exit code.
  void fail(const Status& st, int code = kExitFailure);
};

void add_store_commands(Context& ctx);   // init, verify, stats, rejects
void add_ingest_commands(Context& ctx);  // import observers|observations
void add_query_commands(Context& ctx);   // observations
void add_demo_commands(Context& ctx);    // demo
void add_serve_commands(Context& ctx);   // serve, user
void add_fusion_commands(Context& ctx);
// "truce: fused N observations into M incidents: ..." on stderr (fuse, and imports that fuse).
void print_fuse_summary(const pipeline::FuseSummary& s);
void add_geo_commands(Context& ctx);  // import zones|loc|places, attribute, describe
// `truce import zones|loc|places|agreement|crossings|baseline FILE` for other commands (demo): each
// validates the file, stores it, prints one line; on failure it reports, sets exit_code and
// returns false. Importing an agreement reclassifies the stored incidents against its rules.
bool import_zones_file(Context& ctx, const std::string& file);
bool import_loc_file(Context& ctx, const std::string& file);
bool import_places_file(Context& ctx, const std::string& file, const std::string& format = "auto",
                        const std::string& credit = "");
bool import_agreement_file(Context& ctx, const std::string& file);
bool import_crossings_file(Context& ctx, const std::string& file);
bool import_baseline_file(Context& ctx, const std::string& file);
// The mission's movement through checkpoints up to `day` (days since 1970-01-01, inclusive).
Result<agreement::MovementSummary> mission_movement(Store& store, std::int64_t day);
void add_agreement_commands(
    Context& ctx);  // import agreement|crossings|baseline, mandate, humanitarian, classify
void add_simulate_commands(Context& ctx);  // simulate
void add_report_commands(Context& ctx);    // report daily

}  // namespace truce::cli
