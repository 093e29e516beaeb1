// import observers|observations: files or stdin into the mission database.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "cli/context.h"
#include "truce/ingest/ingest.h"

namespace truce::cli {

namespace {

// A progress bar on stderr when it is a terminal; nothing when piped.
class TerminalProgress final : public ingest::Progress {
 public:
  TerminalProgress() : tty_(::isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}
  ~TerminalProgress() override { finish(); }
  // Clears the bar so the summary starts on a clean line.
  void finish() {
    if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }
  void update(std::uint64_t done, std::int64_t total) override {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    const bool complete = total > 0 && done >= static_cast<std::uint64_t>(total);
    if (drawn_ && !complete && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double mb = static_cast<double>(done) / 1e6;
    if (total > 0) {
      const double f = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
      const int filled = static_cast<int>(f * 30);
      std::fprintf(stderr, "\r[%.*s%*s] %3d%%  %.1f MB  %.1f MB/s", filled, "##############################",
                   30 - filled, "", static_cast<int>(f * 100), mb, secs > 0 ? mb / secs : 0.0);
    } else {
      std::fprintf(stderr, "\r%.1f MB read  %.1f MB/s", mb, secs > 0 ? mb / secs : 0.0);
    }
    std::fflush(stderr);
  }

 private:
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

struct ImportArgs {
  std::vector<std::string> files;
  std::string format = "text";
  std::string input_format = "auto";
  std::string submitted_by;
  std::int64_t batch_rows = 100000;
  bool no_fuse = false;
};

void report(Context& ctx, const ingest::Summary& s, const std::string& format) {
  for (const auto& e : s.file_errors) std::fprintf(stderr, "truce: %s\n", e.ToString().c_str());
  for (const auto& m : s.messages) std::fprintf(stderr, "%s\n", m.c_str());
  if (s.more_messages > 0) {
    std::fprintf(stderr, "... and %lld more problems; `truce rejects` lists them all\n",
                 static_cast<long long>(s.more_messages));
  }
  for (const auto& w : s.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (format == "json") {
    std::printf(
        "{\"read\":%lld,\"accepted\":%lld,\"duplicates\":%lld,\"conflicts\":%lld,\"rejected\":%lld}\n",
        static_cast<long long>(s.read), static_cast<long long>(s.accepted),
        static_cast<long long>(s.duplicates), static_cast<long long>(s.conflicts),
        static_cast<long long>(s.rejected));
  } else {
    std::printf("read %lld: %lld accepted, %lld duplicates, %lld conflicts, %lld rejected\n",
                static_cast<long long>(s.read), static_cast<long long>(s.accepted),
                static_cast<long long>(s.duplicates), static_cast<long long>(s.conflicts),
                static_cast<long long>(s.rejected));
  }
  // A file that could not be read at all (missing, a directory, binary, no header, no line end)
  // is a failure; rejected records in files that were read are input problems.
  if (!s.file_errors.empty()) {
    ctx.exit_code = kExitFailure;
  } else if (!s.clean()) {
    ctx.exit_code = kExitInputProblems;
  }
}

void add_import(Context& ctx, const char* name, const char* help, bool observations) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = ctx.import_cmd->add_subcommand(name, help);
  cmd->add_option("files", args->files, "CSV or NDJSON files; - reads standard input")->required();
  cmd->add_option("--format", args->format, "summary as text or json (json: the last line is the counts)")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--input-format", args->input_format,
                  "auto (by extension: .ndjson/.jsonl/.json are NDJSON, else CSV; stdin is CSV), csv, ndjson")
      ->check(CLI::IsMember({"auto", "csv", "ndjson"}));
  cmd->add_option("--submitted-by", args->submitted_by, "who submitted these records (kept with each one)");
  cmd->add_option("--batch-rows", args->batch_rows, "rows per durable transaction")
      ->check(CLI::PositiveNumber);
  if (observations) {
    cmd->add_flag(
        "--no-fuse", args->no_fuse,
        "do not fuse the new observations into incidents now (when the mission has zones and a LoC, "
        "an import fuses what it added)");
  }
  cmd->callback([&ctx, args, observations] {
    auto store = ctx.open_store(/*bulk_writes=*/true);
    if (!store) return;
    ingest::Options o;
    o.format = args->input_format == "csv"      ? ingest::Format::kCsv
               : args->input_format == "ndjson" ? ingest::Format::kNdjson
                                                : ingest::Format::kAuto;
    o.submitted_by = args->submitted_by;
    o.batch_rows = args->batch_rows;
    TerminalProgress progress;
    auto r = observations ? ingest::import_observations(*store, args->files, o, &progress)
                          : ingest::import_observers(*store, args->files, o, &progress);
    progress.finish();
    if (!r.ok()) return ctx.fail(r.status());
    if (observations && !args->no_fuse && r->accepted > 0) {
      // New observations join or open incidents at once (incremental fusion = batch fusion).
      auto geography = pipeline::mission_geography(*store);
      if (geography.ok()) {
        auto fused = pipeline::fuse_stored(*store, **geography, {}, fusion::Config{});
        if (!fused.ok()) return ctx.fail(fused.status());
        print_fuse_summary(*fused);
      } else if (geography.status().code() != Code::kNotFound) {
        return ctx.fail(geography.status());
      }
    }
    report(ctx, *r, args->format);
  });
}

}  // namespace

void add_ingest_commands(Context& ctx) {
  add_import(ctx, "observers",
             "register observers (posts, patrols, sensors) from CSV/NDJSON: observer_id,lat,lon,party,type",
             false);
  add_import(ctx, "observations", "import observations from CSV/NDJSON; each id is accepted once", true);
}

}  // namespace truce::cli
