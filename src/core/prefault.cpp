#include "truce/core/prefault.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

namespace truce {

void prefault(void* p, std::size_t bytes, int threads) {
  if (!p || bytes == 0) return;
  const long ps = ::sysconf(_SC_PAGESIZE);
  const std::size_t page = ps > 0 ? static_cast<std::size_t>(ps) : 4096;
  auto* const base = static_cast<volatile unsigned char*>(p);
  // Below a few pages the threads cost more than the faults.
  const std::size_t pages = (bytes + page - 1) / page;
  const auto workers = static_cast<std::size_t>(pages < 256 ? 1 : std::clamp(threads, 1, 64));
  auto touch = [&](std::size_t w) {
    const std::size_t from = pages * w / workers, to = pages * (w + 1) / workers;
    for (std::size_t i = from; i < to; ++i) base[std::min(i * page, bytes - 1)] = 0;
  };
  std::vector<std::thread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(touch, w);
  touch(0);
  for (auto& t : pool) t.join();
}

}  // namespace truce
