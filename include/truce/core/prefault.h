// Fresh memory in parallel. The first touch of each 4 KiB page of a fresh allocation is a page
// fault, taken on the touching thread: ~2.5 us a page on the benchmark machines (VMs with memory
// cgroups), so one thread filling a fresh 70 MB vector spends ~45 ms in them, serially, while the
// other cores wait. Batch steps that allocate tens of megabytes and then fill them on one thread
// take the faults up front on all their workers instead (faults on separate threads proceed in
// parallel: 1.85x on 2 cores).
#pragma once

#include <cstddef>
#include <vector>

namespace truce {

// Writes a zero byte to each page of [p, p + bytes), on `threads` threads. For raw storage only
// (a vector's unconstructed capacity, a fresh buffer): it changes the bytes.
void prefault(void* p, std::size_t bytes, int threads);

// Reserves room for n more elements in v and faults that room in on `threads` threads.
template <typename T>
void reserve_prefaulted(std::vector<T>& v, std::size_t n, int threads) {
  v.reserve(v.size() + n);
  prefault(v.data() + v.size(), (v.capacity() - v.size()) * sizeof(T), threads);
}

// A vector of n value-initialised elements whose storage was faulted in on `threads` threads.
template <typename T>
std::vector<T> make_prefaulted(std::size_t n, int threads) {
  std::vector<T> v;
  reserve_prefaulted(v, n, threads);
  v.resize(n);
  return v;
}

}  // namespace truce
