// The live service's fusion: every observation the server accepts (API, OpenRosa) joins or opens
// an incident at once, on one writer thread with its own database connection, so HTTP workers
// never wait for fusion. It also follows the store's incident change feed (whoever wrote the
// change: this fuser, an analyst's review, a CLI import) and publishes it on the EventLog.
// Private to the server module.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/events.h"
#include "truce/core/status.h"
#include "truce/core/time.h"
#include "truce/pipeline/fuse.h"

namespace truce {
class Store;
namespace geo {
class Geography;
}
}  // namespace truce

namespace truce::server {

class LiveFusion {
 public:
  struct Options {
    std::function<Result<std::unique_ptr<Store>>()> open_store;  // the fuser's own connection
    std::chrono::milliseconds poll{250};  // how often the change feed is read without a notify()
    bool fuse = true;                     // false: only follow the change feed
    // A run with at least `flood_observations` accepted since the last one began (a flood, a bulk
    // upload), or after a run whose window held `flood_window` reports (reports arriving in one
    // dense span, all fused again with every new one) or that took `flood_run` or longer (longer
    // than the live bound: fusion is behind), runs at nice `flood_nice`, below the HTTP
    // threads, so reports are taken in first; smaller runs at the server's own priority, so that
    // steady posting is fused at once. Measured on 2 cores (bench/serve): nice 19 for every run
    // starved fusion under 2,000 single posts a second (p99 to an incident 2.7 s, against 0.9 s at
    // 0), nice 0 for every run took a third of the CPU from batches of 1,000 (~135 instead of ~200
    // requests/s). Deciding by the accepted count alone left bench/serve's posts (all at one
    // simulated second: one window that only grows) at nice 0, 148-174 batches/s; with the window
    // counted 230-250. Test 6's windows reach ~38,000 reports in its densest hours: a window
    // threshold of 20,000 sent those runs to nice 19 and its p99 rose from ~2.1 s to ~3.1-3.3 s.
    std::int64_t flood_observations = 20000;
    std::int64_t flood_window = 50000;
    std::chrono::milliseconds flood_run{2000};
    int flood_nice = 19;
  };
  LiveFusion(Options opts, EventLog& events);
  ~LiveFusion();
  LiveFusion(const LiveFusion&) = delete;
  LiveFusion& operator=(const LiveFusion&) = delete;

  // Opens the fuser's connection and starts its thread; what was stored but not yet fused (say,
  // before a restart) is fused first.
  Status start();
  // `accepted` observations were accepted: fuse them. Never blocks; bursts coalesce into one run.
  void notify(std::int64_t accepted = 1);
  void stop();

  struct Figures {
    std::int64_t runs = 0, failures = 0, observations = 0, events = 0, flood_runs = 0;
    double last_run_ms = 0;
  };
  Figures figures() const;

 private:
  void loop();
  void low_priority_loop();
  // Runs fn on the low-priority thread and waits for it.
  void run_low(const std::function<void()>& fn);
  // Called on the low-priority thread: runs fn on the thread waiting in run_low, returns its status.
  Status write_from_low(const std::function<Status()>& fn);
  void fuse_pending(Store& store);
  void follow_changes(Store& store);
  void retry();
  void log_failure(const std::string& message);

  Options opts_;
  EventLog& events_;
  std::unique_ptr<Store> store_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = true;             // under mu_
  std::int64_t pending_count_ = 0;  // observations accepted since the last run began, under mu_
  std::thread low_;                 // the flood runs' thread (nice flood_nice)
  std::mutex low_mu_;
  std::condition_variable low_cv_;
  const std::function<void()>* low_job_ = nullptr;  // under low_mu_
  bool low_done_ = false, low_stop_ = false;
  // A flood run's writes, handed back to the fuser thread (the server's priority): a low-priority
  // thread holding the database's write lock would stall the acknowledgements. Under low_mu_.
  const std::function<Status()>* low_write_ = nullptr;
  Status low_write_status_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // set by stop(): a run in progress gives up, writing nothing
  std::shared_ptr<const geo::Geography> geography_;
  std::size_t geography_key_ = 0;
  bool geography_missing_logged_ = false;
  pipeline::FuseMemo memo_;  // the fuser thread's: what the last run read and left (pipeline::FuseMemo)
  std::string last_failure_;
  std::int64_t cursor_versions_ = 0, cursor_reviews_ = 0;
  std::atomic<std::int64_t> runs_{0}, failures_{0}, observations_{0}, published_{0}, flood_runs_{0};
  std::atomic<double> last_run_ms_{0};
  std::size_t last_window_reports_ = 0;  // the last run's window (fuser thread only)
};

}  // namespace truce::server
