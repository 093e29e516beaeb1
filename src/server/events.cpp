#include "server/events.h"

#include <nlohmann/json.hpp>

namespace truce::server {

void EventLog::publish(std::vector<Event> events) {
  if (events.empty()) return;
  {
    std::lock_guard lk(mu_);
    for (auto& e : events) {
      e.id = next_id_++;
      events_.push_back(std::move(e));
    }
    while (events_.size() > capacity_) events_.pop_front();
  }
  cv_.notify_all();
}

std::vector<Event> EventLog::wait_after(std::int64_t after, std::chrono::milliseconds timeout,
                                        std::size_t max, bool* gap) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return closed_ || next_id_ - 1 > after; });
  std::vector<Event> out;
  if (gap) *gap = !events_.empty() && events_.front().id > after + 1;
  if (events_.empty() || next_id_ - 1 <= after) return out;
  // Ids are contiguous: the first event after `after` is at a computable position.
  const std::int64_t first = events_.front().id;
  std::size_t i = after + 1 <= first ? 0 : static_cast<std::size_t>(after + 1 - first);
  for (; i < events_.size() && out.size() < max; ++i) out.push_back(events_[i]);
  return out;
}

std::int64_t EventLog::last_id() const {
  std::lock_guard lk(mu_);
  return next_id_ - 1;
}

void EventLog::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventLog::closed() const {
  std::lock_guard lk(mu_);
  return closed_;
}

std::string sse_frame(const Event& e) {
  const nlohmann::json data = {{"id", e.incident}, {"version", e.version}, {"type", e.type}};
  return "id: " + std::to_string(e.id) + "\nevent: " + e.type +
         "\ndata: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace truce::server
