// demo: the demo mission end to end on the embedded default (a fresh SQLite file).
#include <unistd.h>

#include <cstdio>

#include "cli/context.h"
#include "truce/ingest/ingest.h"

namespace truce::cli {

void add_demo_commands(Context& ctx) {
  struct Args {
    std::string data = TRUCE_DEMO_DATA;
    bool fresh = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = ctx.app->add_subcommand("demo", "build the demo mission database from a scenario folder and summarise it");
  cmd->add_option("--data", a->data, "scenario folder with observers.csv and observations.csv (simulated data)");
  cmd->add_flag("--fresh", a->fresh, "replace the database if it exists");
  cmd->callback([&ctx, a] {
    const std::string path = ctx.db_path();
    if (a->fresh) {
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
    }
    SqliteOptions so;
    so.create = true;
    auto store = open_sqlite_store(path, so);
    if (!store.ok()) return ctx.fail(store.status());
    std::printf("demo mission database: %s\n", path.c_str());
    std::printf("data: %s (SIMULATED scenario: observers and observations are generated, not real reports)\n",
                a->data.c_str());
    ingest::Options o;
    o.submitted_by = "demo";
    auto obs = ingest::import_observers(**store, {a->data + "/observers.csv"}, o);
    if (!obs.ok()) return ctx.fail(obs.status());
    if (!obs->file_errors.empty()) return ctx.fail(obs->file_errors.front());
    std::printf("observers:    %lld accepted\n", static_cast<long long>(obs->accepted));
    auto r = ingest::import_observations(**store, {a->data + "/observations.csv"}, o);
    if (!r.ok()) return ctx.fail(r.status());
    if (!r->file_errors.empty()) return ctx.fail(r->file_errors.front());
    std::printf("observations: read %lld, %lld accepted, %lld duplicates, %lld conflicts, %lld rejected\n",
                static_cast<long long>(r->read), static_cast<long long>(r->accepted),
                static_cast<long long>(r->duplicates), static_cast<long long>(r->conflicts),
                static_cast<long long>(r->rejected));
    auto st = (*store)->stats();
    if (!st.ok()) return ctx.fail(st.status());
    if (st->first_time) {
      std::printf("time span:    %s .. %s\n", format_instant(*st->first_time).c_str(),
                  format_instant(*st->last_time).c_str());
    }
    std::printf("by kind:     ");
    for (const auto& [k, n] : st->by_kind) std::printf(" %s %lld", k.c_str(), static_cast<long long>(n));
    std::printf("\n");
    auto v = (*store)->verify_chain();
    if (!v.ok()) return ctx.fail(v.status());
    std::printf("audit chain:  %s (%lld records)\n", v->ok ? "holds" : "BROKEN", static_cast<long long>(v->records));
    std::printf("next: truce --db %s observations --limit 10 | truce --db %s stats\n", path.c_str(), path.c_str());
  });
}

}  // namespace truce::cli
