// Importing an agreement stores it and reclassifies the mission's incidents with its rules in ONE
// write transaction: when reclassifying fails, the earlier agreement and incidents stay as they were
// (the agreement used to be committed first, leaving new rules over incidents they never classified).
#include <gtest/gtest.h>

#include "test_util.h"
#include "truce/pipeline/classify.h"

namespace truce {
namespace {

const std::string kData = std::string(TRUCE_SOURCE_DIR) + "/data/example";

std::string agreement_json(const std::string& id) {
  return R"({"id":")" + id +
         R"(","title":"x","parties":[{"code":"A"}],"term":{"effective":"2020-01-01T00:00:00Z","utc_offset":"Z","length":"P5Y","notice":"P6M"}})";
}

class ImportAgreement : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions so;
    so.create = true;
    auto s = open_sqlite_store(dir_.file("m.db"), so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (const char* doc : {"zones", "loc"})
      ASSERT_TRUE(store_->put_document(doc, testing::read_file(kData + "/" + doc + ".geojson")).ok());
  }
  // An incident whose stored content no rule can read: reclassifying it fails.
  void store_unreadable_incident() {
    StoredIncident si;
    si.id = "inc-bad";
    si.start = Instant{1'600'000'000'000};
    si.end = Instant{1'600'000'060'000};
    si.kind = "artillery";
    si.content = "not json";
    si.observation_ids = {"obs-bad"};
    auto sync = store_->replace_incidents({"obs-bad"}, {si});
    ASSERT_TRUE(sync.ok()) << sync.status().ToString();
  }
  std::string incident_content(const std::string& id) {
    IncidentFilter f;
    f.id = id;
    std::string content;
    EXPECT_TRUE(store_
                    ->scan_incidents(f,
                                     [&](const StoredIncident& si) {
                                       content = si.content;
                                       return false;
                                     })
                    .ok());
    return content;
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ImportAgreement, AFailedReclassificationLeavesTheOldAgreementInPlace) {
  const std::string old_text = agreement_json("old");
  auto first = pipeline::import_agreement(*store_, old_text, "old.json");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->refused.ok()) << first->refused.ToString();
  EXPECT_EQ(first->version, 1);
  ASSERT_TRUE(first->reclassified.has_value());
  EXPECT_EQ(first->reclassified->incidents, 0u);

  store_unreadable_incident();
  auto second = pipeline::import_agreement(*store_, agreement_json("new"), "new.json");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("not a JSON object"), std::string::npos)
      << second.status().ToString();
  auto doc = store_->document("agreement");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->has_value());
  EXPECT_EQ(**doc, old_text);
  EXPECT_EQ(incident_content("inc-bad"), "not json");

  // The store is usable after the rollback: a later import that succeeds is version 2.
  ASSERT_TRUE(store_->replace_incidents({"obs-bad"}, {}).ok());
  auto third = pipeline::import_agreement(*store_, agreement_json("new"), "new.json");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->version, 2);
}

TEST_F(ImportAgreement, ATextThatIsNoAgreementIsRefusedAndNothingIsStored) {
  auto r = pipeline::import_agreement(*store_, R"({"id": 3})", "bad.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->refused.ok());
  auto doc = store_->document("agreement");
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(doc->has_value());
}

}  // namespace
}  // namespace truce
