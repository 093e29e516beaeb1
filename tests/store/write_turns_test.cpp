// sqlite::WriteTurns: the order in which one process's writers of a database file write.
// Regression: the live fuser's writes waited up to 2 s behind the group commit's back-to-back
// commits in SQLite's sleeping busy handler.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "store/sqlite_db.h"

namespace truce::sqlite {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(WriteTurns, ABackgroundWriterIsNotStarvedByForegroundWritersThatNeverPause) {
  WriteTurns turns;
  std::atomic<bool> stop{false};
  std::vector<std::thread> fg;
  for (int i = 0; i < 2; ++i) {
    // Two foreground writers: whenever one holds the turn the other is waiting for it.
    fg.emplace_back([&] {
      while (!stop) {
        turns.lock(false);
        std::this_thread::sleep_for(milliseconds(1));
        turns.unlock();
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(50));
  const auto t0 = Clock::now();
  turns.lock(true);
  const auto waited = Clock::now() - t0;
  turns.unlock();
  stop = true;
  for (auto& t : fg) t.join();
  EXPECT_GE(waited, WriteTurns::kBackgroundGrace - milliseconds(5));
  EXPECT_LT(waited, WriteTurns::kBackgroundGrace + milliseconds(400));
}

TEST(WriteTurns, AForegroundWriterGoesBeforeABackgroundOneWithinItsGrace) {
  WriteTurns turns;
  turns.lock(false);
  std::vector<char> order;
  std::mutex mu;
  std::thread bg([&] {
    turns.lock(true);
    {
      std::lock_guard lk(mu);
      order.push_back('b');
    }
    turns.unlock();
  });
  std::this_thread::sleep_for(milliseconds(10));  // the background writer waits first
  std::thread fg([&] {
    turns.lock(false);
    {
      std::lock_guard lk(mu);
      order.push_back('f');
    }
    turns.unlock();
  });
  std::this_thread::sleep_for(milliseconds(10));
  turns.unlock();
  fg.join();
  bg.join();
  EXPECT_EQ(order, (std::vector<char>{'f', 'b'}));
}

TEST(WriteTurns, OneFileHasOneSetOfTurnsWhateverItsPathSpelling) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/turns.db";
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto a = write_turns_for(path);
  auto b = write_turns_for(dir + "/./turns.db");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), write_turns_for(dir + "/other.db").get());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace truce::sqlite
