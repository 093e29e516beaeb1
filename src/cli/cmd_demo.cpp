// demo: the demo mission end to end on the embedded default (a fresh SQLite file).
#include <unistd.h>

#include <cstdio>
#include <map>

#include "cli/context.h"
#include "truce/agreement/term.h"
#include "truce/ingest/ingest.h"
#include "truce/io/record_reader.h"
#include "truce/pipeline/fuse.h"

namespace truce::cli {

void add_demo_commands(Context& ctx) {
  struct Args {
    std::string data = TRUCE_DEMO_DATA;
    std::string agreement = TRUCE_DEMO_AGREEMENT;
    bool fresh = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = ctx.app->add_subcommand("demo", "build the demo mission database from a scenario folder and summarise it");
  cmd->add_option("--data", a->data, "scenario folder with observers.csv and observations.csv (simulated data)");
  cmd->add_option("--agreement", a->agreement, "the agreement file (default: the 10 Nov 2020 statement)");
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
    // The geography of the (simulated) front, then fusion of every observation into incidents.
    auto geography = pipeline::load_geography_files(a->data + "/zones.geojson", a->data + "/loc.geojson");
    if (!geography.ok()) return ctx.fail(geography.status());
    for (const char* name : {"zones", "loc"}) {
      auto text = io::read_all(a->data + "/" + name + ".geojson", std::int64_t{64} << 20);
      if (!text.ok()) return ctx.fail(text.status());
      if (auto put = (*store)->put_document(name, *text); !put.ok()) return ctx.fail(put.status());
    }
    auto fused = pipeline::fuse_stored(**store, **geography, {}, fusion::Config{});
    if (!fused.ok()) return ctx.fail(fused.status());
    std::int64_t located = 0, corroborated = 0;
    std::map<std::string, std::int64_t> by_party;
    Status scan = (*store)->scan_incidents({}, [&](const StoredIncident& si) {
      located += si.lat.has_value();
      corroborated += si.observation_ids.size() >= 2;
      ++by_party[si.party.empty() ? "(no party)" : si.party];
      return true;
    });
    if (!scan.ok()) return ctx.fail(scan);
    std::printf("incidents:    %zu fused from %zu observations; %lld located, %lld seen by 2+ observers; by origin:",
                fused->incidents, fused->observations, static_cast<long long>(located),
                static_cast<long long>(corroborated));
    for (const auto& [party, n] : by_party) std::printf(" %s %lld", party.c_str(), static_cast<long long>(n));
    std::printf("\n");
    // The agreement is real: the 10 Nov 2020 trilateral statement and its term.
    auto agreement_text = io::read_all(a->agreement, std::int64_t{8} << 20);
    if (!agreement_text.ok()) return ctx.fail(agreement_text.status());
    auto agreement = agreement::parse_agreement(*agreement_text, a->agreement);
    if (!agreement.ok()) return ctx.fail(agreement.status());
    if (auto put = (*store)->put_document("agreement", *agreement_text); !put.ok()) return ctx.fail(put.status());
    auto mandate = agreement::mandate_status(*agreement, SystemClock{}.now());
    if (!mandate.ok()) return ctx.fail(mandate.status());
    std::printf("mandate:      %s\n", agreement::status_line(*agreement, *mandate).c_str());
    auto v = (*store)->verify_chain();
    if (!v.ok()) return ctx.fail(v.status());
    std::printf("audit chain:  %s (%lld records)\n", v->ok ? "holds" : "BROKEN", static_cast<long long>(v->records));
    std::printf("next: truce --db %s incidents --format csv | head, truce --db %s serve\n", path.c_str(), path.c_str());
  });
}

}  // namespace truce::cli
