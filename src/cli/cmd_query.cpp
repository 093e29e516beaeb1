// observations: query what is stored.
#include <cstdio>

#include "cli/context.h"
#include "cli/output.h"

namespace truce::cli {

namespace {
std::string num(const std::optional<double>& v) {
  if (!v) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", *v);
  return b;
}
std::string num(double v) { return num(std::optional<double>(v)); }
}  // namespace

void add_query_commands(Context& ctx) {
  struct Args {
    std::string from, to, observer, kind, format = "table";
    std::int64_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = ctx.app->add_subcommand("observations", "list stored observations");
  cmd->add_option("--from", a->from, "from this instant (inclusive, ISO 8601 with zone)");
  cmd->add_option("--to", a->to, "up to this instant (exclusive)");
  cmd->add_option("--observer", a->observer, "only this observer");
  cmd->add_option("--kind", a->kind, "only this kind");
  cmd->add_option("--limit", a->limit, "at most this many rows");
  cmd->add_option("--format", a->format, "table|csv|json")->check(CLI::IsMember({"table", "csv", "json"}));
  cmd->callback([&ctx, a] {
    ObservationFilter f;
    for (auto [text, slot, name] :
         {std::tuple{&a->from, &f.from, "--from"}, std::tuple{&a->to, &f.to, "--to"}}) {
      if (text->empty()) continue;
      auto t = parse_instant(*text);
      if (!t.ok())
        return ctx.fail(Status::Invalid(std::string(name) + ": " + t.status().message()), kExitUsage);
      *slot = *t;
    }
    if (!a->observer.empty()) f.observer_id = a->observer;
    if (!a->kind.empty()) {
      auto k = kind_from_string(a->kind);
      if (!k) return ctx.fail(Status::Invalid("--kind: expected one of " + kind_list()), kExitUsage);
      f.kind = *k;
    }
    f.limit = a->limit;
    auto store = ctx.open_store();
    if (!store) return;
    TableWriter w(
        stdout, parse_format(a->format),
        {"observation_id", "time", "observer_id", "observer_lat", "observer_lon", "kind", "bearing_deg",
         "bearing_sigma_deg", "distance_m", "distance_sigma_m", "count", "direction", "notes", "channel"},
        {false, false, false, true, true, false, true, true, true, true, true});
    std::vector<std::string> row;
    Status st = store->scan_observations(f, [&](const StoredObservation& so) {
      const Observation& o = so.obs;
      row = {o.id,
             format_instant(o.time),
             o.observer_id,
             o.observer_pos ? num(o.observer_pos->lat) : "",
             o.observer_pos ? num(o.observer_pos->lon) : "",
             std::string(to_string(o.kind)),
             num(o.bearing_deg),
             num(o.bearing_sigma_deg),
             num(o.distance_m),
             num(o.distance_sigma_m),
             std::to_string(o.count),
             std::string(to_string(o.direction)),
             o.notes,
             o.channel};
      w.row(row);
      return true;
    });
    w.finish();
    if (!st.ok()) ctx.fail(st);
  });
}

}  // namespace truce::cli
