#include "server/group_commit.h"

namespace truce::server {

GroupCommitter::GroupCommitter(Commit commit, std::size_t max_items)
    : commit_(std::move(commit)), max_items_(max_items), thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<std::vector<ingest::SubmissionResult>> GroupCommitter::submit(ingest::SubmissionGroup group) {
  std::future<Result<std::vector<ingest::SubmissionResult>>> f;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return Status::IOError("the server is stopping");
    queue_.push_back(Pending{std::move(group), {}});
    f = queue_.back().done.get_future();
  }
  cv_.notify_one();
  return f.get();
}

GroupCommitter::Figures GroupCommitter::figures() const {
  std::lock_guard lk(mu_);
  return {commits_, requests_};
}

void GroupCommitter::run() {
  for (;;) {
    std::vector<Pending> take;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      // Whatever queued while the last commit ran goes in this one, up to max_items observations
      // (at least one request, however large).
      std::size_t items = 0;
      while (!queue_.empty() && (take.empty() || items + queue_.front().group.items.size() <= max_items_)) {
        items += queue_.front().group.items.size();
        take.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<ingest::SubmissionGroup> groups;
    groups.reserve(take.size());
    for (auto& p : take) groups.push_back(std::move(p.group));
    Result<Results> r = Status::Internal("not committed");
    try {
      r = commit_(std::move(groups));
    } catch (const std::exception& e) {
      r = Status::Internal(std::string("group commit: ") + e.what());
    }
    {
      std::lock_guard lk(mu_);
      ++commits_;
      requests_ += static_cast<std::int64_t>(take.size());
    }
    for (std::size_t i = 0; i < take.size(); ++i) {
      if (r.ok() && i < r->size()) {
        take[i].done.set_value(std::move((*r)[i]));
      } else {
        take[i].done.set_value(r.ok() ? Status::Internal("group commit: no result") : r.status());
      }
    }
  }
}

}  // namespace truce::server
