#include "truce/core/prefault.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "truce/core/parallel.h"

namespace truce {

void prefault(void* p, std::size_t bytes, int threads) {
  if (!p || bytes == 0) return;
  const long ps = ::sysconf(_SC_PAGESIZE);
  const std::size_t page = ps > 0 ? static_cast<std::size_t>(ps) : 4096;
  auto* const base = static_cast<volatile unsigned char*>(p);
  // One byte in each page the range touches: the range's first byte, then each page start in it.
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  const std::size_t skew = addr % page;
  const std::size_t pages = (skew + bytes + page - 1) / page;
  const auto at = [&](std::size_t k) { return k == 0 ? 0 : k * page - skew; };
  // Below a few pages the threads cost more than the faults.
  const auto workers = static_cast<std::size_t>(pages < 256 ? 1 : std::clamp(threads, 1, 64));
  auto touch = [&](std::size_t w) {
    const std::size_t from = pages * w / workers, to = pages * (w + 1) / workers;
    for (std::size_t k = from; k < to; ++k) base[at(k)] = 0;
  };
  run_parallel(workers, touch);
}

}  // namespace truce
