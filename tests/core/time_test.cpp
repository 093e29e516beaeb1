#include "truce/core/time.h"

#include <gtest/gtest.h>

namespace truce {
namespace {

std::int64_t ms(std::string_view s) {
  auto r = parse_instant(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().message();
  return r.ok() ? r->ms : -1;
}

TEST(Time, ParsesUtcWithZ) { EXPECT_EQ(ms("2023-09-01T21:38:41Z"), 1693604321000); }

TEST(Time, OffsetsAreConvertedToUtc) {
  EXPECT_EQ(ms("2023-09-02T01:38:41+04:00"), ms("2023-09-01T21:38:41Z"));
  EXPECT_EQ(ms("2023-09-01T18:38:41-0300"), ms("2023-09-01T21:38:41Z"));
  EXPECT_EQ(ms("2020-11-10T00:00:00+03"), ms("2020-11-09T21:00:00Z"));
}

TEST(Time, FractionsAndMinutePrecision) {
  EXPECT_EQ(ms("2023-09-01T21:38:41.25Z") - ms("2023-09-01T21:38:41Z"), 250);
  EXPECT_EQ(ms("2023-09-01T21:38Z"), ms("2023-09-01T21:38:00Z"));
  EXPECT_EQ(ms("2023-09-01 21:38:41Z"), ms("2023-09-01T21:38:41Z"));
}

TEST(Time, TimeWithoutZoneIsAnError) {
  auto r = parse_instant("2023-09-01T21:38:41");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "time has no zone (add Z for UTC or an offset like +04:00)");
}

TEST(Time, RejectsImpossibleDates) {
  EXPECT_FALSE(parse_instant("2023-02-29T00:00:00Z").ok());
  EXPECT_TRUE(parse_instant("2024-02-29T00:00:00Z").ok());
  EXPECT_FALSE(parse_instant("2023-13-01T00:00:00Z").ok());
  EXPECT_FALSE(parse_instant("2023-09-01T24:00:00Z").ok());
  EXPECT_FALSE(parse_instant("2023-09-01T21:38:41Zjunk").ok());
  EXPECT_FALSE(parse_instant("yesterday").ok());
  EXPECT_FALSE(parse_instant("").ok());
}

// Regression: 23:59:60Z was stored as 23:59:59 without a word. truce's timeline has no leap
// seconds; a report of one is refused, saying what to give instead.
TEST(Time, ALeapSecondIsRefusedNotMovedToTheSecondBefore) {
  auto r = parse_instant("2016-12-31T23:59:60Z");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("a leap second (:60)"), std::string::npos) << r.status().message();
  EXPECT_TRUE(parse_instant("2016-12-31T23:59:59Z").ok());
}

// Regression: the year 0001 was accepted (a typing error stored as a report two thousand years old).
TEST(Time, YearsBeforeNineteenHundredAreRefused) {
  auto r = parse_instant("0001-09-01T21:38:41Z");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the year 1 is before 1900, the earliest truce accepts");
  EXPECT_TRUE(parse_instant("1900-01-01T00:00:00Z").ok());
  EXPECT_FALSE(parse_instant("1899-12-31T23:59:59Z").ok());
}

TEST(Time, CivilTimeSplitsLocalTimeAtAnOffset) {
  const CivilTime c = civil_time(Instant{ms("2023-09-01T21:38:41.250Z")}, 180);
  EXPECT_EQ(c.year, 2023);
  EXPECT_EQ(c.month, 9u);
  EXPECT_EQ(c.day, 2u);
  EXPECT_EQ(c.hour, 0);
  EXPECT_EQ(c.minute, 38);
  EXPECT_EQ(c.second, 41);
  EXPECT_EQ(c.millisecond, 250);
  EXPECT_EQ(format_local(Instant{ms("2023-09-01T21:38:41Z")}, -330), "2023-09-01T16:08:41-05:30");
  EXPECT_EQ(format_hhmm(Instant{ms("1969-12-31T23:59:59Z")}), "23:59");
  EXPECT_EQ(format_day(-1), "1969-12-31");
  EXPECT_EQ(floor_div(-1, kDayMs), -1);
}

TEST(Time, FormatRoundTrips) {
  for (auto s :
       {"1970-01-01T00:00:00Z", "2023-09-01T21:38:41Z", "2000-02-29T23:59:59.001Z", "1969-12-31T23:59:59Z"}) {
    EXPECT_EQ(format_instant(Instant{ms(s)}), s);
  }
}

TEST(Time, CivilDaysAgreeBothWays) {
  for (std::int64_t z = -800000; z < 800000; z += 997) {
    std::int64_t y;
    unsigned m, d;
    civil_from_days(z, y, m, d);
    ASSERT_EQ(days_from_civil(y, m, d), z);
  }
}

}  // namespace
}  // namespace truce
