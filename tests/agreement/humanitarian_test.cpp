// Humanitarian movement: crossings and baselines in, daily and cumulative movement and the share
// of the baseline out; the demo's sourced figure.
#include "truce/agreement/humanitarian.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace truce::agreement {
namespace {

const std::string kDemo = std::string(TRUCE_SOURCE_DIR) + "/data/karabakh";

TEST(Humanitarian, DemoFigureIs83_8Percent) {
  ReadErrors e;
  auto rows = read_crossings_csv(kDemo + "/crossings.csv", e);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_TRUE(e.errors.empty()) << e.errors[0].ToString();
  auto base = read_baselines_csv(kDemo + "/baseline.csv", e);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  ASSERT_TRUE(e.errors.empty());
  const auto s = summarize(*rows, *base, *parse_date("2023-10-01"));
  EXPECT_EQ(s.total_out, 100514);
  ASSERT_TRUE(s.baseline);
  EXPECT_EQ(s.baseline->population, 120000);
  ASSERT_TRUE(s.share_out);
  EXPECT_NEAR(*s.share_out, 0.837617, 1e-6);
  const std::string text = summary_text(s);
  EXPECT_NE(text.find("departed: 100,514 of 120,000 (83.8 %) by 2023-10-01\n"), std::string::npos) << text;
  EXPECT_NE(text.find("2023-09-19..2023-10-01"), std::string::npos);
  const std::string json = summary_json(s);
  EXPECT_NE(json.find(R"("share_out_percent":83.8)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("total_out":100514)"), std::string::npos);
  // A period total is known only once the period is over: it is never spread over its days.
  const auto before = summarize(*rows, *base, *parse_date("2023-09-30"));
  EXPECT_EQ(before.total_out, 0);
  EXPECT_TRUE(before.days.empty());
}

TEST(Humanitarian, DailyAndCumulative) {
  std::vector<Crossing> rows = {
      {*parse_date("2023-09-24"), *parse_date("2023-09-24"), "A", Direction::kOut, 1000, 200, "s1"},
      {*parse_date("2023-09-25"), *parse_date("2023-09-25"), "A", Direction::kOut, 5000, 900, "s1"},
      {*parse_date("2023-09-25"), *parse_date("2023-09-25"), "B", Direction::kOut, 500, std::nullopt, "s2"},
      {*parse_date("2023-09-25"), *parse_date("2023-09-25"), "A", Direction::kIn, 30, 10, "s1"},
      {*parse_date("2023-09-27"), *parse_date("2023-09-27"), "A", Direction::kOut, 7, 1, "s1"},
  };
  std::vector<Baseline> base = {{"X", 10000, *parse_date("2023-09-01"), "b"},
                                {"X", 9000, *parse_date("2023-10-01"), "later"}};
  const auto s = summarize(rows, base, *parse_date("2023-09-26"));
  ASSERT_EQ(s.days.size(), 2u);
  EXPECT_EQ(s.days[0].out_people, 1000);
  EXPECT_EQ(s.days[1].out_people, 5500);
  EXPECT_EQ(s.days[1].in_people, 30);
  EXPECT_EQ(s.days[1].out_vehicles, 900);
  EXPECT_EQ(s.days[1].cumulative_out, 6500);
  EXPECT_EQ(s.total_in, 30);
  ASSERT_TRUE(s.baseline);
  EXPECT_EQ(s.baseline->population, 10000);  // the later baseline is after the date asked
  EXPECT_DOUBLE_EQ(*s.share_out, 0.65);
  EXPECT_EQ(s.sources, (std::vector<std::string>{"s1", "s2", "b"}));
}

TEST(Humanitarian, MergeReplacesTheSameDayCheckpointAndDirection) {
  std::vector<Crossing> stored = {{1, 1, "A", Direction::kOut, 10, std::nullopt, "s"}};
  const auto m = merge_crossings(stored, {{1, 1, "A", Direction::kOut, 12, std::nullopt, "s"},
                                          {1, 1, "A", Direction::kIn, 3, std::nullopt, "s"},
                                          {1, 1, "A", Direction::kIn, 3, std::nullopt, "s"}});
  EXPECT_EQ(m.added, 1);
  EXPECT_EQ(m.replaced, 1);
  EXPECT_EQ(m.unchanged, 1);
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].people, 12);
  auto back = crossings_from_json(crossings_to_json(stored));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].direction, Direction::kIn);
}

TEST(Humanitarian, BadRowsAreNamedByLineAndField) {
  testing::TempDir d;
  testing::write_file(d.file("c.csv"),
                      "date,checkpoint,direction,people,vehicles,source\n"
                      "2023-09-24,Hakari,out,\"1,000\",,s\n"
                      "2023-09-31,Hakari,out,5,,s\n"
                      "2023-09-24,Hakari,leaving,5,,s\n"
                      "2023-09-25/2023-09-24,Hakari,out,5,,s\n"
                      "2023-09-24,Hakari,out,5,-1,s\n"
                      "2023-09-24,Hakari,out,5,,\n"
                      "2023-09-24,Hakari,out,5\n");
  ReadErrors e;
  auto rows = read_crossings_csv(d.file("c.csv"), e);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(e.errors.size(), 7u);
  const std::string f = d.file("c.csv");
  EXPECT_EQ(e.errors[0].ToString(),
            f + ":2: field 'people': expected a whole number >= 0 without separators, got \"1,000\"");
  EXPECT_EQ(
      e.errors[1].ToString(),
      f + ":3: field 'date': expected YYYY-MM-DD or a period YYYY-MM-DD/YYYY-MM-DD, got \"2023-09-31\"");
  EXPECT_EQ(
      e.errors[2].ToString(),
      f + ":4: field 'direction': expected out (leaving the area) or in (entering it), got \"leaving\"");
  EXPECT_EQ(e.errors[3].ToString(),
            f + ":5: field 'date': the period ends before it starts: \"2023-09-25/2023-09-24\"");
  EXPECT_EQ(e.errors[4].ToString(),
            f + ":6: field 'vehicles': expected a whole number >= 0 or empty, got \"-1\"");
  EXPECT_EQ(e.errors[5].ToString(), f + ":7: field 'source': required; expected where the figure comes from");
  EXPECT_EQ(e.errors[6].ToString(), f + ":8: expected 6 fields like the header, got 4");
}

TEST(Humanitarian, MissingColumnFailsTheFile) {
  testing::TempDir d;
  testing::write_file(d.file("b.csv"), "area,population,source\nX,5,s\n");
  ReadErrors e;
  auto rows = read_baselines_csv(d.file("b.csv"), e);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(
      rows.status().ToString(),
      d.file("b.csv") +
          ":1: missing required column 'date' in the header (the header needs: area,population,date,source)");
}

}  // namespace
}  // namespace truce::agreement
