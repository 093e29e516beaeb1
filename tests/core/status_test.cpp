#include "truce/core/status.h"

#include <gtest/gtest.h>

namespace truce {
namespace {

TEST(Status, ToStringNamesSourceLineAndField) {
  Status s = Status::Invalid("expected a number", Location{"obs.csv", 12, "bearing_deg"});
  EXPECT_EQ(s.ToString(), "obs.csv:12: field 'bearing_deg': expected a number");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(code_name(s.code()), "invalid_argument");
}

TEST(Status, ResultCarriesValueOrStatus) {
  Result<int> good = 4;
  Result<int> bad = Status::NotFound("no such thing");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_EQ(bad.status().ToString(), "no such thing");
}

// Regression: Result(Status::Ok()) made a Result whose ok() was false while status() said ok, so a
// caller that checked one and reported the other printed "ok" as the error.
TEST(Status, AResultMadeFromAnOkStatusReportsAnInternalError) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.status().ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

TEST(Status, EveryCodeHasAName) {
  EXPECT_EQ(code_name(Code::kOk), "ok");
  EXPECT_EQ(code_name(Code::kInternal), "internal");
  EXPECT_EQ(code_name(static_cast<Code>(kCodeCount)), "unknown");
}

TEST(Status, EveryCodeHasADistinctName) {
  for (int i = 0; i < kCodeCount; ++i) {
    for (int j = i + 1; j < kCodeCount; ++j) {
      EXPECT_NE(code_name(static_cast<Code>(i)), code_name(static_cast<Code>(j)));
    }
  }
}

}  // namespace
}  // namespace truce
