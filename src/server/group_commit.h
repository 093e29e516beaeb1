// Group commit for the write routes: every request's observations wait for one durable
// transaction that holds all the requests queued meanwhile, so that many small POSTs cost one
// commit (one fsync) between them instead of one each. Private to the server module.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "truce/ingest/ingest.h"

namespace truce::server {

class GroupCommitter {
 public:
  using Results = std::vector<std::vector<ingest::SubmissionResult>>;
  // Stores the groups in one transaction (ingest::submit_observation_groups on a connection of
  // the committer's own); called on the committer's thread only.
  using Commit = std::function<Result<Results>(std::vector<ingest::SubmissionGroup>)>;

  explicit GroupCommitter(Commit commit, std::size_t max_items = 20000);
  ~GroupCommitter();  // commits what is queued, then stops
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Returns once the group is durable (or was refused), with its own results.
  Result<std::vector<ingest::SubmissionResult>> submit(ingest::SubmissionGroup group);

  struct Figures {
    std::int64_t commits = 0, requests = 0;
  };
  Figures figures() const;

 private:
  struct Pending {
    ingest::SubmissionGroup group;
    std::promise<Result<std::vector<ingest::SubmissionResult>>> done;
  };
  void run();

  Commit commit_;
  std::size_t max_items_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::int64_t commits_ = 0, requests_ = 0;
  std::thread thread_;
};

}  // namespace truce::server
