#include "server/live_fusion.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "truce/geo/geography.h"
#include "truce/pipeline/fuse.h"
#include "truce/store/store.h"

namespace truce::server {

namespace {
// One JSON line on stderr, like the access log.
void log_line(const std::string& what, const std::string& message) {
  const nlohmann::json j = {{"component", "live_fusion"}, {"event", what}, {"message", message}};
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(s.data(), 1, s.size(), stderr);
}
}  // namespace

LiveFusion::LiveFusion(Options opts, EventLog& events) : opts_(std::move(opts)), events_(events) {}

LiveFusion::~LiveFusion() { stop(); }

Status LiveFusion::start() {
  auto s = opts_.open_store();
  if (!s.ok()) return s.status();
  store_ = std::move(s).value();
  // Events start from now: a client that wants what happened before reads the incidents.
  auto c = store_->incident_cursor();
  if (!c.ok()) return c.status();
  cursor_versions_ = c->versions;
  cursor_reviews_ = c->reviews;
  thread_ = std::thread([this] { loop(); });
  return Status::Ok();
}

void LiveFusion::notify(std::int64_t accepted) {
  {
    std::lock_guard lk(mu_);
    pending_ = true;
    pending_count_ += accepted;
  }
  cv_.notify_one();
}

void LiveFusion::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  // A long run (a flood re-fused) is abandoned rather than waited for: it writes nothing and its
  // observations stay pending (the fusion cursor did not move), fused at the next start.
  cancel_ = true;
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lk(low_mu_);
    low_stop_ = true;
  }
  low_cv_.notify_all();
  if (low_.joinable()) low_.join();
}

void LiveFusion::low_priority_loop() {
  // Linux gives each thread its own nice value, and the threads this one starts (fusion's
  // workers) inherit it. Raising it needs no privilege; lowering it again would, hence a thread.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  if (::setpriority(PRIO_PROCESS, tid, opts_.flood_nice) != 0)
    log_line("nice", "could not lower the flood runs' priority");
  std::unique_lock lk(low_mu_);
  for (;;) {
    low_cv_.wait(lk, [&] { return low_stop_ || low_job_; });
    if (low_stop_) return;
    const std::function<void()>* job = low_job_;
    lk.unlock();
    (*job)();
    lk.lock();
    low_job_ = nullptr;
    low_done_ = true;
    low_cv_.notify_all();
  }
}

void LiveFusion::run_low(const std::function<void()>& fn) {
  std::unique_lock lk(low_mu_);
  if (!low_.joinable()) low_ = std::thread([this] { low_priority_loop(); });
  low_job_ = &fn;
  low_done_ = false;
  low_cv_.notify_all();
  for (;;) {
    low_cv_.wait(lk, [&] { return low_done_ || low_write_; });
    if (low_done_) return;
    // The job's writes, at this thread's priority, while the job waits for them.
    const std::function<Status()>* w = low_write_;
    lk.unlock();
    Status st = (*w)();
    lk.lock();
    low_write_status_ = std::move(st);
    low_write_ = nullptr;
    low_cv_.notify_all();
  }
}

Status LiveFusion::write_from_low(const std::function<Status()>& fn) {
  std::unique_lock lk(low_mu_);
  low_write_ = &fn;
  low_cv_.notify_all();
  low_cv_.wait(lk, [&] { return low_write_ == nullptr; });
  return low_write_status_;
}

LiveFusion::Figures LiveFusion::figures() const {
  return {runs_.load(),      failures_.load(),   observations_.load(),
          published_.load(), flood_runs_.load(), last_run_ms_.load()};
}

void LiveFusion::loop() {
  for (;;) {
    bool fuse = false;
    std::int64_t accepted = 0;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, opts_.poll, [&] { return stopping_ || pending_; });
      if (stopping_) break;
      fuse = pending_ && opts_.fuse;
      pending_ = false;
      accepted = pending_count_;
      pending_count_ = 0;
    }
    // A flood: many reports accepted since the last run, or a last run whose window already held
    // a flood's worth (reports arriving in one dense span are re-clustered with all of it), or one
    // slower than the live bound (fusion is behind: what is posted is taken in first).
    const bool flood = accepted >= opts_.flood_observations ||
                       static_cast<std::int64_t>(last_window_reports_) >= opts_.flood_window ||
                       last_run_ms_.load() >= static_cast<double>(opts_.flood_run.count());
    if (fuse && opts_.flood_nice > 0 && flood) {
      ++flood_runs_;
      memo_.write = [this](const std::function<Status()>& w) { return write_from_low(w); };
      run_low([this] { fuse_pending(*store_); });
      memo_.write = nullptr;
    } else if (fuse) {
      fuse_pending(*store_);
    }
    follow_changes(*store_);
  }
  follow_changes(*store_);  // what the last run wrote is announced before the server stops
}

void LiveFusion::retry() {
  // Tried again at the next poll; nothing accepted is lost (the fusion cursor did not move).
  std::lock_guard lk(mu_);
  pending_ = true;
}

void LiveFusion::log_failure(const std::string& message) {
  if (message == last_failure_) return;  // once per distinct failure, not at every retry
  last_failure_ = message;
  log_line("failed", message);
}

void LiveFusion::fuse_pending(Store& store) {
  const auto t0 = std::chrono::steady_clock::now();
  // The mission's geography, parsed again only when its documents change.
  auto z = store.document("zones");
  auto l = store.document("loc");
  if (!z.ok() || !l.ok()) {
    ++failures_;
    log_failure((!z.ok() ? z.status() : l.status()).ToString());
    retry();
    return;
  }
  if (!*z || !*l) {
    // Without zones and a line of contact there is nothing to attribute against: observations
    // wait, stored, until the mission imports them (the next accepted report fuses everything).
    if (!geography_missing_logged_) {
      log_line("waiting",
               "the mission has no zones or line of contact yet: observations are stored, not fused");
      geography_missing_logged_ = true;
    }
    return;
  }
  const std::size_t key = std::hash<std::string>{}(**z) ^ (std::hash<std::string>{}(**l) * 31);
  if (!geography_ || key != geography_key_) {
    auto g = geo::Geography::from_geojson(**z, **l, "zones (mission database)", "loc (mission database)");
    if (!g.ok()) {
      ++failures_;
      log_failure(g.status().ToString());
      return;
    }
    geography_ = std::move(g).value();
    geography_key_ = key;
    geography_missing_logged_ = false;
  }
  fusion::Config cfg;  // what `truce fuse` uses: live results equal a batch run's
  cfg.cancel = &cancel_;
  auto r = pipeline::fuse_stored(store, *geography_, pipeline::FuseRange{}, cfg, &memo_);
  ++runs_;
  last_run_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // A large run's memory goes back to the system (glibc keeps freed memory in the arenas of the
  // threads that used it): the server's size follows what it holds, not its largest run.
  if (last_run_ms_.load() > 100) ::malloc_trim(0);
  if (cancel_) return;  // stopping: nothing written, nothing to report
  if (!r.ok()) {
    ++failures_;
    log_failure(r.status().ToString());
    retry();
    return;
  }
  last_failure_.clear();
  observations_ += static_cast<std::int64_t>(r->observations);
  last_window_reports_ = r->window_reports;
  if (last_run_ms_.load() >= 2000) {
    // A run slower than the live bound: where its time went.
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%.0f ms: read %.0f, fuse %.0f, describe %.0f, write %.0f; %zu windows, %zu reports, %zu "
                  "incidents, %zu unchanged",
                  last_run_ms_.load(), r->read_ms, r->fuse_ms, r->describe_ms, r->write_ms, r->window_tries,
                  r->window_reports, r->incidents, r->unchanged);
    log_line("slow_run", buf);
  }
}

void LiveFusion::follow_changes(Store& store) {
  IncidentCursor c{cursor_versions_, cursor_reviews_};
  for (;;) {
    auto changes = store.incident_changes(c, 5000);
    if (!changes.ok()) {
      log_failure(changes.status().ToString());
      return;
    }
    if (changes->empty()) break;
    std::vector<Event> out;
    out.reserve(changes->size());
    for (auto& ch : *changes) out.push_back({0, "incident." + ch.change, std::move(ch.id), ch.version});
    published_ += static_cast<std::int64_t>(out.size());
    events_.publish(std::move(out));
  }
  cursor_versions_ = c.versions;
  cursor_reviews_ = c.reviews;
}

}  // namespace truce::server
