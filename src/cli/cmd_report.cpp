// report daily: the mission's daily report as HTML, Markdown, JSON or PDF (headless Chromium).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/context.h"
#include "truce/io/record_reader.h"
#include "truce/pipeline/report.h"
#include "truce/report/report.h"

namespace truce::cli {

namespace {

struct ReportArgs {
  std::string date, format = "html", output = "-", chromium = "/usr/bin/chromium";
  bool is_public = false;
  double grid = 0.05;
  int timeout_s = 120;
};

Status write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      return Status::IOError("cannot write the report to stdout");
    return Status::Ok();
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    if (!f) return Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::IOError("cannot write " + path + ": " + why);
  }
  return Status::Ok();
}

// Prints `html` to a PDF at `pdf` with headless Chromium: the page is written to a scratch folder,
// Chromium runs with a fresh profile there, and the folder is removed afterwards.
Status print_pdf(const ReportArgs& a, const std::string& html, const std::string& pdf) {
  if (::access(a.chromium.c_str(), X_OK) != 0)
    return Status::NotFound(
        "cannot run Chromium at " + a.chromium + " (" + std::strerror(errno) +
        "): install Debian's chromium package (apt-get install chromium) or give --chromium PATH");
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "truce-report-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    return Status::IOError(std::string("cannot create a scratch folder: ") + std::strerror(errno));
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  const std::string page = dir + "/report.html", out = dir + "/report.pdf", log = dir + "/chromium.log";
  TRUCE_RETURN_IF_ERROR(write_output(page, html));
  std::vector<std::string> args = {a.chromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-background-networking",
                                   "--no-first-run",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-dev-shm-usage",
                                   "--no-pdf-header-footer",
                                   "--user-data-dir=" + dir + "/profile",
                                   "--print-to-pdf=" + out,
                                   "file://" + page};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Status::IOError(std::string("cannot start Chromium: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout_s);
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      return Status::IOError(std::string("waiting for Chromium: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);  // the process group of the Chromium started here
      ::waitpid(pid, &status, 0);
      return Status::IOError("Chromium did not finish the PDF within " + std::to_string(a.timeout_s) +
                             " s (--pdf-timeout)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto tail = [&] {
    auto r = io::read_all(log, std::int64_t{1} << 20);
    std::string t = r.ok() ? std::move(r).value() : std::string();
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t.size() > 600) t = "..." + t.substr(t.size() - 600);
    return t.empty() ? std::string() : ": " + t;
  };
  std::error_code ec;
  const auto size = fs::file_size(out, ec);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || ec || size < 5)
    return Status::IOError(
        "Chromium (" + a.chromium + ") did not print the PDF" +
        (WIFEXITED(status) ? " (exit status " + std::to_string(WEXITSTATUS(status)) + ")" : "") + tail());
  auto bytes = io::read_all(out, std::int64_t{1} << 30);
  if (!bytes.ok()) return bytes.status();
  if (bytes->rfind("%PDF-", 0) != 0)
    return Status::IOError("Chromium wrote something that is not a PDF" + tail());
  return write_output(pdf, *bytes);
}

void run(Context& ctx, const ReportArgs& a) {
  auto day = report::parse_day(a.date);
  if (!day.ok()) return ctx.fail(Status::Invalid("--date: " + day.status().message()), kExitUsage);
  if (a.format == "pdf" && a.output == "-")
    return ctx.fail(Status::Invalid("-o: a PDF cannot go to stdout; give -o FILE.pdf"), kExitUsage);
  auto store = ctx.open_store();
  if (!store) return;
  // A second connection reads the analysts' reviews on another thread.
  auto second = open_sqlite_store(ctx.db_path(), SqliteOptions{});
  if (!second.ok()) return ctx.fail(second.status());
  auto inputs = pipeline::gather_report_inputs(*store, *day, second->get());
  if (!inputs.ok()) return ctx.fail(inputs.status());
  store.reset();
  second->reset();
  report::Options o;
  o.public_view = a.is_public;
  o.public_grid_deg = a.grid;
  auto model = report::build_daily_report(*inputs, o);
  if (!model.ok()) return ctx.fail(model.status());
  Status st;
  if (a.format == "json")
    st = write_output(a.output, report::to_json(*model));
  else if (a.format == "md")
    st = write_output(a.output, report::to_markdown(*model));
  else if (a.format == "html")
    st = write_output(a.output, report::to_html(*model));
  else
    st = print_pdf(a, report::to_html(*model), a.output);
  if (!st.ok()) return ctx.fail(st);
  if (a.output != "-")
    std::fprintf(stderr, "truce: daily report %s (%s%s): %lld incidents, %lld observations -> %s\n",
                 model->date.c_str(), a.format.c_str(), a.is_public ? ", public" : "",
                 static_cast<long long>(model->incidents), static_cast<long long>(model->observations),
                 a.output.c_str());
}

}  // namespace

void add_report_commands(Context& ctx) {
  auto* report = ctx.app->add_subcommand("report", "the mission's reports");
  report->require_subcommand(1);
  auto a = std::make_shared<ReportArgs>();
  auto* daily = report->add_subcommand(
      "daily",
      "the daily report of one UTC day: totals, changes, notable incidents, map and charts, mandate");
  daily->add_option("--date", a->date, "the UTC day, YYYY-MM-DD")->required();
  daily->add_option("--format", a->format, "html|md|json|pdf (default html)")
      ->check(CLI::IsMember({"html", "md", "json", "pdf"}));
  daily->add_option("-o,--output", a->output, "output file (- = stdout, not for pdf)");
  daily->add_flag("--public", a->is_public,
                  "the public edition: no observer ids or positions, locations rounded, no analyst notes");
  daily
      ->add_option("--public-grid", a->grid,
                   "public locations are rounded to this grid (degrees, default 0.05)")
      ->check(CLI::Range(0.001, 10.0));
  daily->add_option("--chromium", a->chromium, "Chromium for --format pdf (default /usr/bin/chromium)");
  daily->add_option("--pdf-timeout", a->timeout_s, "seconds Chromium may take to print (default 120)")
      ->check(CLI::Range(1, 3600));
  daily->callback([&ctx, a] { run(ctx, *a); });
}

}  // namespace truce::cli
