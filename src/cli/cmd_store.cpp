// init, verify, stats, rejects: the mission database itself.
#include <cstdio>

#include "cli/context.h"
#include "cli/output.h"

namespace truce::cli {

void add_store_commands(Context& ctx) {
  auto* init = ctx.app->add_subcommand("init", "create a new mission database");
  init->callback([&ctx] {
    const std::string path = ctx.db_path();
    SqliteOptions o;
    o.create = true;
    auto s = open_sqlite_store(path, o);
    if (!s.ok()) return ctx.fail(s.status());
    std::printf("created mission database %s\n", path.c_str());
  });

  auto* verify =
      ctx.app->add_subcommand("verify", "walk the audit chain: prove no observation was edited or deleted");
  verify->callback([&ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    auto rep = store->verify_chain();
    if (!rep.ok()) return ctx.fail(rep.status());
    if (rep->ok) {
      std::printf("audit chain holds: %lld observations verified\n", static_cast<long long>(rep->records));
    } else {
      std::fprintf(stderr, "truce: audit chain broken at record %lld%s: %s\n",
                   static_cast<long long>(rep->first_bad_seq),
                   rep->first_bad_id.empty() ? "" : (" (observation " + rep->first_bad_id + ")").c_str(),
                   rep->problem.c_str());
      ctx.exit_code = kExitTampered;
    }
  });

  auto* stats = ctx.app->add_subcommand("stats", "counts of what the mission database holds");
  static std::string stats_format = "table";
  stats->add_option("--format", stats_format, "table|json")->check(CLI::IsMember({"table", "json"}));
  stats->callback([&ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    auto st = store->stats();
    if (!st.ok()) return ctx.fail(st.status());
    const auto t = [](const std::optional<Instant>& i) { return i ? format_instant(*i) : std::string(); };
    if (stats_format == "json") {
      std::string kinds;
      for (const auto& [k, n] : st->by_kind)
        kinds += (kinds.empty() ? "" : ",") + json_escape(k) + ":" + std::to_string(n);
      std::printf(
          "{\"observations\":%lld,\"observers\":%lld,\"rejected\":%lld,\"conflicts\":%lld,\"first_time\":%s,"
          "\"last_time\":%s,\"by_kind\":{%s}}\n",
          static_cast<long long>(st->observations), static_cast<long long>(st->observers),
          static_cast<long long>(st->rejected), static_cast<long long>(st->conflicts),
          st->first_time ? json_escape(t(st->first_time)).c_str() : "null",
          st->last_time ? json_escape(t(st->last_time)).c_str() : "null", kinds.c_str());
      return;
    }
    std::printf("observations  %lld\nobservers     %lld\nrejected      %lld\nconflicts     %lld\n",
                static_cast<long long>(st->observations), static_cast<long long>(st->observers),
                static_cast<long long>(st->rejected), static_cast<long long>(st->conflicts));
    if (st->first_time)
      std::printf("time span     %s .. %s\n", t(st->first_time).c_str(), t(st->last_time).c_str());
    for (const auto& [k, n] : st->by_kind)
      std::printf("  %-12s %lld\n", k.c_str(), static_cast<long long>(n));
  });

  auto* rejects = ctx.app->add_subcommand(
      "rejects", "list quarantined records: rejected and conflicting, with where and why");
  static std::string rej_format = "table";
  rejects->add_option("--format", rej_format, "table|csv|json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  rejects->callback([&ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    TableWriter w(
        stdout, parse_format(rej_format),
        {"seq", "what", "disposition", "source", "line", "field", "value", "reason", "record_id", "raw"},
        {true, false, false, false, true});
    Status st = store->scan_rejects([&](const Reject& r) {
      w.row({std::to_string(r.seq), r.what, r.disposition, r.source, std::to_string(r.line), r.field, r.value,
             r.reason, r.record_id, rej_format == "table" ? r.raw.substr(0, 60) : r.raw});
      return true;
    });
    w.finish();
    if (!st.ok()) ctx.fail(st);
  });
}

}  // namespace truce::cli
