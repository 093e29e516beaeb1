// One fork-join shape for the batch steps that split their work into a fixed number of parts.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

namespace truce {

// Runs fn(k) for k in [0, n), each on a thread of its own (k = 0 on the caller's), and waits for all.
template <typename Fn>
void run_parallel(std::size_t n, Fn fn) {
  std::vector<std::thread> pool;
  for (std::size_t k = 1; k < n; ++k) pool.emplace_back(fn, k);
  if (n > 0) fn(0);
  for (auto& t : pool) t.join();
}

}  // namespace truce
