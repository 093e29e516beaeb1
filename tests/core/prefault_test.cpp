#include "truce/core/prefault.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <numeric>

namespace truce {
namespace {

// Resident pages of the mapping [p, p + bytes) (page-aligned p).
std::size_t resident_pages(void* p, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  EXPECT_EQ(::mincore(p, bytes, vec.data()), 0);
  std::size_t n = 0;
  for (auto v : vec) n += v & 1u;
  return n;
}

TEST(Prefault, MakesEveryPageOfAFreshMappingResident) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t bytes = 1000 * page + 123;  // a partial last page too
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(resident_pages(p, bytes), 0u);
  prefault(p, bytes, 2);
  EXPECT_EQ(resident_pages(p, bytes), 1001u);
  ::munmap(p, bytes);
}

TEST(Prefault, ARangeNotStartingOnAPageTouchesEveryPageItSpans) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t bytes = 600 * page;
  auto* p = static_cast<unsigned char*>(
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(static_cast<void*>(p), MAP_FAILED);
  // From 100 bytes before the end of page 0 to 100 bytes into page 300: pages 0..300.
  prefault(p + page - 100, 299 * page + 200, 2);
  EXPECT_EQ(resident_pages(p, 301 * page), 301u);
  EXPECT_EQ(resident_pages(p + 301 * page, bytes - 301 * page), 0u);
  ::munmap(p, bytes);
}

TEST(Prefault, SmallRangesAndNothingAreFine) {
  unsigned char b[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  prefault(b + 3, 1, 4);  // one byte: that byte only
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(b[2], 3);
  EXPECT_EQ(b[4], 5);
  prefault(nullptr, 0, 2);
  prefault(b, 0, 2);
  EXPECT_EQ(b[0], 1);
}

TEST(Prefault, ReserveKeepsTheElementsAndMakesRoom) {
  std::vector<std::uint64_t> v(1000);
  std::iota(v.begin(), v.end(), 7u);
  reserve_prefaulted(v, 1 << 20, 2);
  EXPECT_GE(v.capacity(), 1000u + (1u << 20));
  ASSERT_EQ(v.size(), 1000u);
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], 7u + i);
}

TEST(Prefault, MakeGivesValueInitialisedElements) {
  struct Item {
    double x = 1.5;
    int n = 3;
    std::vector<int> list;
  };
  const auto v = make_prefaulted<Item>(300000, 2);
  ASSERT_EQ(v.size(), 300000u);
  for (const auto& it : v) {
    ASSERT_EQ(it.x, 1.5);
    ASSERT_EQ(it.n, 3);
    ASSERT_TRUE(it.list.empty());
  }
  EXPECT_TRUE(make_prefaulted<int>(0, 2).empty());
}

}  // namespace
}  // namespace truce
