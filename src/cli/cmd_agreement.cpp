// The agreement from the command line: import agreement|crossings|baseline, mandate, humanitarian,
// classify (docs/agreement.md).
#include <cstdio>
#include <optional>
#include <unordered_map>

#include "cli/context.h"
#include "cli/output.h"
#include "truce/agreement/agreement.h"
#include "truce/agreement/humanitarian.h"
#include "truce/agreement/term.h"
#include "truce/io/record_reader.h"
#include "truce/pipeline/classify.h"
#include "truce/pipeline/mission.h"

namespace truce::cli {

namespace {

namespace ag = truce::agreement;

// The mission's agreement: --agreement FILE, else the stored document.
Result<ag::Agreement> load_agreement(Context& ctx, const std::string& file, bool& store_failed) {
  store_failed = false;
  if (!file.empty()) {
    auto text = io::read_all(file, static_cast<std::int64_t>(ag::kMaxAgreementBytes));
    if (!text.ok()) return text.status();
    return ag::parse_agreement(*text, file);
  }
  auto store = ctx.open_store();
  if (!store) {
    store_failed = true;
    return Status::IOError("cannot open the mission database");
  }
  auto doc = store->document("agreement");
  if (!doc.ok()) return doc.status();
  if (!*doc)
    return Status::NotFound(
        "the mission has no agreement: run `truce import agreement FILE` or give --agreement FILE");
  return ag::parse_agreement(**doc, "agreement (mission database)");
}

int exit_for(const Status& st) {
  return st.code() == Code::kInvalidArgument ? kExitInputProblems : kExitFailure;
}

void print_read_errors(const ag::ReadErrors& e) {
  for (const auto& st : e.errors) std::fprintf(stderr, "truce: %s\n", st.ToString().c_str());
  if (e.more) std::fprintf(stderr, "truce: ... and %lld more problems\n", static_cast<long long>(e.more));
}

std::string fmt_counts(const ag::MergeCounts& m) {
  return std::to_string(m.added) + " added, " + std::to_string(m.replaced) + " replaced, " +
         std::to_string(m.unchanged) + " unchanged";
}

// --- classify ----------------------------------------------------------------------------------

struct ClassifyArgs {
  std::string incidents, zones, loc, rules, agreement, format = "table";
};

Result<std::shared_ptr<const geo::Geography>> geography(Context& ctx, const ClassifyArgs& a,
                                                        bool& store_failed) {
  return ctx.geography(a.zones, a.loc, store_failed);
}

void classify(Context& ctx, const ClassifyArgs& a) {
  bool store_failed = false;
  std::vector<ag::Rule> rules;
  if (!a.rules.empty()) {
    auto text = io::read_all(a.rules, static_cast<std::int64_t>(ag::kMaxAgreementBytes));
    if (!text.ok()) return ctx.fail(text.status());
    auto r = ag::parse_rules_document(*text, a.rules);
    if (!r.ok()) return ctx.fail(r.status(), exit_for(r.status()));
    rules = std::move(r).value();
  } else {
    auto agr = load_agreement(ctx, a.agreement, store_failed);
    if (!agr.ok()) {
      if (store_failed) return;
      return ctx.fail(agr.status(), exit_for(agr.status()));
    }
    rules = agr->rules;
  }
  auto geo = geography(ctx, a, store_failed);
  if (!geo.ok()) {
    if (store_failed) return;
    return ctx.fail(geo.status(), exit_for(geo.status()));
  }
  std::optional<TableWriter> w;
  pipeline::ClassifyFileOptions opts;
  opts.begin = [&] {
    w.emplace(stdout, parse_format(a.format),
              std::vector<std::string>{"incident_id", "time", "kind", "rules", "unchecked", "explanation"},
              std::vector<bool>{false, false, false, false, false, false});
  };
  opts.row = [&](const ag::IncidentView& v, const ag::Classification& c) {
    std::string ids, unchecked, expl;
    for (const auto& x : c.violations) {
      ids += (ids.empty() ? "" : ";") + x.rule_id;
      expl += (expl.empty() ? "" : " | ") + x.explanation;
    }
    for (const auto& u : c.unchecked) unchecked += (unchecked.empty() ? "" : ";") + u;
    w->row({v.id, format_instant(v.time), std::string(to_string(v.kind)), ids, unchecked, expl});
  };
  opts.problem = [](const Status& st) {
    std::fprintf(stderr, "truce: %s (skipped)\n", st.ToString().c_str());
  };
  auto sum = pipeline::classify_file(a.incidents, rules, **geo, opts);
  if (!sum.ok()) return ctx.fail(sum.status());
  if (!sum->refused.ok()) return ctx.fail(sum->refused, kExitInputProblems);
  w->finish();
  const std::int64_t bad = sum->bad_rows;
  std::fprintf(stderr, "classified %lld incidents against %zu rules: %lld break at least one rule%s\n",
               static_cast<long long>(sum->incidents), rules.size(), static_cast<long long>(sum->violating),
               bad ? (", " + std::to_string(bad) + " rows skipped").c_str() : "");
  if (bad) ctx.exit_code = kExitInputProblems;
}

}  // namespace

bool import_agreement_file(Context& ctx, const std::string& file) {
  auto text = io::read_all(file, static_cast<std::int64_t>(ag::kMaxAgreementBytes));
  if (!text.ok()) return ctx.fail(text.status(), exit_for(text.status())), false;
  // Refused before the database is opened: a bad file leaves no trace.
  if (auto a = ag::parse_agreement(*text, file); !a.ok())
    return ctx.fail(a.status(), kExitInputProblems), false;
  auto store = ctx.open_store();
  if (!store) return false;
  auto imp = pipeline::import_agreement(*store, *text, file);
  if (!imp.ok()) return ctx.fail(imp.status()), false;
  if (!imp->refused.ok()) return ctx.fail(imp->refused, kExitInputProblems), false;
  const ag::Agreement& a = imp->agreement;
  std::printf(
      "imported agreement '%s': %zu parties, %zu provisions, %s, %zu event%s, %zu rules: agreement version "
      "%lld (earlier versions kept)\n",
      a.id.c_str(), a.parties.size(), a.provisions.size(), a.term ? "a term" : "no term", a.events.size(),
      a.events.size() == 1 ? "" : "s", a.rules.size(), static_cast<long long>(imp->version));
  if (imp->reclassified && imp->reclassified->incidents > 0) {
    const auto& r = *imp->reclassified;
    std::printf("reclassified %zu incidents: %zu break at least one rule; %lld changed, %lld unchanged\n",
                r.incidents, r.violating, static_cast<long long>(r.sync.updated),
                static_cast<long long>(r.sync.unchanged));
  }
  return true;
}

namespace {

// Reads a CSV of rows (refused whole if any row is bad); nullopt when refused (already reported).
template <typename Row>
std::optional<std::vector<Row>> read_rows(Context& ctx, const std::string& file,
                                          Result<std::vector<Row>> (*read)(const std::string&,
                                                                           ag::ReadErrors&, std::size_t)) {
  ag::ReadErrors errors;
  auto rows = read(file, errors, 20);
  if (!rows.ok()) return ctx.fail(rows.status(), exit_for(rows.status())), std::nullopt;
  if (!errors.errors.empty()) {
    print_read_errors(errors);
    ctx.fail(Status::Invalid("nothing imported: fix the rows above and import the file again", {file, 0, ""}),
             kExitInputProblems);
    return std::nullopt;
  }
  return std::move(rows).value();
}

}  // namespace

bool import_crossings_file(Context& ctx, const std::string& file) {
  auto rows = read_rows<ag::Crossing>(ctx, file, ag::read_crossings_csv);
  if (!rows) return false;
  auto store = ctx.open_store();
  if (!store) return false;
  auto imp = pipeline::import_crossings(*store, *rows);
  if (!imp.ok()) return ctx.fail(imp.status()), false;
  std::printf("imported %zu crossing rows from %s: %s; %zu rows stored (crossings version %lld)\n",
              rows->size(), file.c_str(), fmt_counts(imp->counts).c_str(), imp->stored,
              static_cast<long long>(imp->version));
  return true;
}

bool import_baseline_file(Context& ctx, const std::string& file) {
  auto rows = read_rows<ag::Baseline>(ctx, file, ag::read_baselines_csv);
  if (!rows) return false;
  auto store = ctx.open_store();
  if (!store) return false;
  auto imp = pipeline::import_baselines(*store, *rows);
  if (!imp.ok()) return ctx.fail(imp.status()), false;
  std::printf("imported %zu baseline rows from %s: %s (population_baselines version %lld)\n", rows->size(),
              file.c_str(), fmt_counts(imp->counts).c_str(), static_cast<long long>(imp->version));
  return true;
}

Result<ag::MovementSummary> mission_movement(Store& store, std::int64_t day) {
  auto m = pipeline::movement_records(store);
  if (!m.ok()) return m.status();
  return ag::summarize(m->crossings, m->baselines, day);
}

void add_agreement_commands(Context& ctx) {
  // import agreement FILE
  auto agreement_file = std::make_shared<std::string>();
  auto* imp = ctx.import_cmd->add_subcommand(
      "agreement", "import the mission's agreement (JSON, docs/agreement.md); earlier versions are kept");
  imp->add_option("file", *agreement_file, "agreement JSON file (- = stdin)")->required();
  imp->callback([&ctx, agreement_file] { import_agreement_file(ctx, *agreement_file); });

  // mandate
  struct MandateArgs {
    std::string at, format = "text", agreement;
  };
  auto m = std::make_shared<MandateArgs>();
  auto* mandate = ctx.app->add_subcommand(
      "mandate", "the term of the mandate at an instant: term, end, notice deadline, what happens next");
  mandate->add_option("--at", m->at, "instant (ISO 8601 with zone; default: now)");
  mandate->add_option("--format", m->format, "text|json")->check(CLI::IsMember({"text", "json"}));
  mandate->add_option("--agreement", m->agreement, "agreement file instead of the mission's");
  mandate->callback([&ctx, m] {
    Instant at = SystemClock{}.now();
    if (!m->at.empty()) {
      auto t = parse_instant(m->at);
      if (!t.ok()) return ctx.fail(Status::Invalid("--at: " + t.status().message()), kExitUsage);
      at = *t;
    }
    bool store_failed = false;
    auto a = load_agreement(ctx, m->agreement, store_failed);
    if (!a.ok()) {
      if (store_failed) return;
      return ctx.fail(a.status(), exit_for(a.status()));
    }
    auto s = ag::mandate_status(*a, at);
    if (!s.ok()) return ctx.fail(s.status(), exit_for(s.status()));
    const std::string out = m->format == "json" ? ag::status_json(*a, *s) + "\n" : ag::status_text(*a, *s);
    std::fputs(out.c_str(), stdout);
  });

  // import crossings FILE / import baseline FILE
  auto crossings_file = std::make_shared<std::string>();
  auto* ic = ctx.import_cmd->add_subcommand(
      "crossings",
      "import people/vehicles through checkpoints (CSV: date,checkpoint,direction,people,vehicles,source)");
  ic->add_option("file", *crossings_file, "CSV file (- = stdin)")->required();
  ic->callback([&ctx, crossings_file] { import_crossings_file(ctx, *crossings_file); });
  auto baseline_file = std::make_shared<std::string>();
  auto* ib = ctx.import_cmd->add_subcommand("baseline",
                                            "import population baselines (CSV: area,population,date,source)");
  ib->add_option("file", *baseline_file, "CSV file (- = stdin)")->required();
  ib->callback([&ctx, baseline_file] { import_baseline_file(ctx, *baseline_file); });

  // humanitarian
  struct HumArgs {
    std::string at, format = "text";
  };
  auto h = std::make_shared<HumArgs>();
  auto* hum = ctx.app->add_subcommand(
      "humanitarian",
      "daily and cumulative movement through checkpoints and the share of the baseline population");
  hum->add_option("--at", h->at, "up to this date, inclusive (YYYY-MM-DD; default: today, UTC)");
  hum->add_option("--format", h->format, "text|json")->check(CLI::IsMember({"text", "json"}));
  hum->callback([&ctx, h] {
    std::int64_t at = SystemClock{}.now().ms / 86'400'000;
    if (!h->at.empty()) {
      auto d = ag::parse_date(h->at);
      if (!d.ok()) return ctx.fail(Status::Invalid("--at: " + d.status().message()), kExitUsage);
      at = *d;
    }
    auto store = ctx.open_store();
    if (!store) return;
    auto summary = mission_movement(*store, at);
    if (!summary.ok()) return ctx.fail(summary.status());
    const std::string out =
        h->format == "json" ? ag::summary_json(*summary) + "\n" : ag::summary_text(*summary);
    std::fputs(out.c_str(), stdout);
  });

  // classify
  auto ca = std::make_shared<ClassifyArgs>();
  auto* cl = ctx.app->add_subcommand(
      "classify", "check incidents against the agreement's rules: the rules each breaks and why");
  cl->add_option("--incidents", ca->incidents,
                 "incidents CSV: incident_id, time (or start), kind, lat, lon [, target_lat, target_lon]")
      ->required();
  cl->add_option("--zones", ca->zones, "zones GeoJSON (with --loc; default: the mission's)");
  cl->add_option("--loc", ca->loc, "line of contact GeoJSON (with --zones)");
  cl->add_option("--rules", ca->rules, "rules file {\"rules\": [...]} instead of the agreement's rules");
  cl->add_option("--agreement", ca->agreement, "agreement file instead of the mission's");
  cl->add_option("--format", ca->format, "table|csv|json")->check(CLI::IsMember({"table", "csv", "json"}));
  cl->callback([&ctx, ca] { classify(ctx, *ca); });
}

}  // namespace truce::cli
