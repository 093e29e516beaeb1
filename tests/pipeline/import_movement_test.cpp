// Importing crossing and baseline rows reads the stored document, merges the rows in and writes it
// back in one write transaction: two imports at once (two processes, or the CLI and the server)
// lose neither's rows.
#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"
#include "truce/pipeline/mission.h"

namespace truce {
namespace {

namespace ag = truce::agreement;

class ImportMovement : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(bool create) {
    SqliteOptions so;
    so.create = create;
    auto s = open_sqlite_store(path_, so);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static ag::Crossing crossing(const std::string& checkpoint, std::int64_t people) {
    ag::Crossing c;
    c.first_day = c.last_day = 19'620;
    c.checkpoint = checkpoint;
    c.people = people;
    c.source = "test";
    return c;
  }
  testing::TempDir dir_;
  std::string path_ = dir_.file("m.db");
};

TEST_F(ImportMovement, TwoImportsAtOnceLoseNeitherOnesRows) {
  ASSERT_NE(open(true), nullptr);
  constexpr int kEach = 25;
  auto importer = [&](const std::string& prefix) {
    auto store = open(false);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < kEach; ++i) {
      auto r = pipeline::import_crossings(*store, {crossing(prefix + std::to_string(i), i)});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->counts.added, 1);
    }
  };
  std::thread a(importer, "a"), b(importer, "b");
  a.join();
  b.join();
  auto store = open(false);
  ASSERT_NE(store, nullptr);
  auto m = pipeline::movement_records(*store);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->crossings.size(), 2u * kEach);
}

TEST_F(ImportMovement, RowsMergeIntoTheStoredDocument) {
  auto store = open(true);
  ASSERT_NE(store, nullptr);
  auto first = pipeline::import_crossings(*store, {crossing("A", 10), crossing("B", 5)});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->counts.added, 2);
  EXPECT_EQ(first->stored, 2u);
  EXPECT_EQ(first->version, 1);
  auto second = pipeline::import_crossings(*store, {crossing("A", 10), crossing("B", 6), crossing("C", 1)});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->counts.added, 1);
  EXPECT_EQ(second->counts.replaced, 1);
  EXPECT_EQ(second->counts.unchanged, 1);
  EXPECT_EQ(second->stored, 3u);
  EXPECT_EQ(second->version, 2);

  ag::Baseline bl;
  bl.area = "X";
  bl.population = 1000;
  bl.as_of = 19'000;
  bl.source = "test";
  auto b1 = pipeline::import_baselines(*store, {bl});
  ASSERT_TRUE(b1.ok()) << b1.status().ToString();
  EXPECT_EQ(b1->counts.added, 1);
  auto b2 = pipeline::import_baselines(*store, {bl});
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  EXPECT_EQ(b2->counts.unchanged, 1);
  EXPECT_EQ(b2->version, 2);
}

// A stored document truce cannot read is an error, and nothing is written over it.
TEST_F(ImportMovement, AnUnreadableStoredDocumentIsLeftAsItIs) {
  auto store = open(true);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->put_document("crossings", "not json").ok());
  auto r = pipeline::import_crossings(*store, {crossing("A", 1)});
  EXPECT_FALSE(r.ok());
  auto doc = store->document("crossings");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ(**doc, "not json");
}

}  // namespace
}  // namespace truce
