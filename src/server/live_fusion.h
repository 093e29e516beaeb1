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
    // The fuser's nice value (0: the server's own). Measured on 2 cores (bench/serve): 19 let
    // batches in fastest but starved fusion under steady single posts (p99 to an incident 2.7 s at
    // 2,000/s, against 0.9 s at 0); 5 keeps the batches' rate of 19 and a p99 of 1.1 s.
    int nice = 5;
  };
  LiveFusion(Options opts, EventLog& events);
  ~LiveFusion();
  LiveFusion(const LiveFusion&) = delete;
  LiveFusion& operator=(const LiveFusion&) = delete;

  // Opens the fuser's connection and starts its thread; what was stored but not yet fused (say,
  // before a restart) is fused first.
  Status start();
  // Observations were accepted: fuse them. Never blocks; bursts coalesce into one run.
  void notify();
  void stop();

  struct Figures {
    std::int64_t runs = 0, failures = 0, observations = 0, events = 0;
    double last_run_ms = 0;
  };
  Figures figures() const;

 private:
  void loop();
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
  bool pending_ = true;  // under mu_
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // set by stop(): a run in progress gives up, writing nothing
  std::shared_ptr<const geo::Geography> geography_;
  std::size_t geography_key_ = 0;
  bool geography_missing_logged_ = false;
  std::string last_failure_;
  std::int64_t cursor_versions_ = 0, cursor_reviews_ = 0;
  std::atomic<std::int64_t> runs_{0}, failures_{0}, observations_{0}, published_{0};
  std::atomic<double> last_run_ms_{0};
};

}  // namespace truce::server
