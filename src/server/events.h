// The live change feed behind GET /api/v1/events: incident created / updated / retired / reviewed,
// numbered 1, 2, 3... while the server runs. Private to the server module.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace truce::server {

struct Event {
  std::int64_t id = 0;   // assigned by EventLog::publish, strictly increasing
  std::string type;      // "incident.created" | "incident.updated" | "incident.retired" | "incident.reviewed"
  std::string incident;  // the incident's id
  std::int64_t version = 0;  // incident version (review version for "incident.reviewed")
};

// Thread-safe. Keeps the last `capacity` events so that a client reconnecting with Last-Event-ID
// resumes without loss; one that fell further behind is told so (`gap`) and should reload.
class EventLog {
 public:
  explicit EventLog(std::size_t capacity = 200000) : capacity_(capacity) {}
  void publish(std::vector<Event> events);
  // Waits until there are events after `after` (or `timeout` passes, or close()), then returns
  // at most `max` of them in order. `gap` is set when events after `after` were already dropped.
  std::vector<Event> wait_after(std::int64_t after, std::chrono::milliseconds timeout, std::size_t max,
                                bool* gap);
  std::int64_t last_id() const;
  void close();  // wakes every waiter; later waits return at once
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
  std::int64_t next_id_ = 1;
  std::size_t capacity_;
  bool closed_ = false;
};

// The text/event-stream form of one event: "id: N\nevent: TYPE\ndata: {json}\n\n".
std::string sse_frame(const Event& e);

}  // namespace truce::server
