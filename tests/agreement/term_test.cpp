// The term engine: a table of cases (renewal chains, notice in time and too late, early
// withdrawal, calendar months, leap years, local time) plus the issue's 2023-10-13 case.
#include "truce/agreement/term.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "truce/agreement/agreement.h"

namespace truce::agreement {
namespace {

Instant T(const char* s) {
  auto t = parse_instant(s);
  EXPECT_TRUE(t.ok()) << s;
  return t.ok() ? *t : Instant{};
}
std::string F(Instant t) { return format_instant(t); }

// An agreement with the 2020 statement's term and the given extra term keys / events.
std::string doc(const std::string& term, const std::string& events = "[]") {
  return R"({"id":"t","title":"test","parties":[{"code":"AZE"},{"code":"ARM"},{"code":"RUS","role":"signatory"}],
             "term":)" +
         term + R"(,"events":)" + events + "}";
}
const std::string kStatementTerm =
    R"({"effective":"2020-11-10T00:00:00+03:00","utc_offset":"+03:00","time_zone":"Moscow time","length":"P5Y","renewal":"P5Y","notice":"P6M"})";

Agreement parse(const std::string& text) {
  auto a = parse_agreement(text, "agreement.json");
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? *a : Agreement{};
}

TEST(Mandate, StatementAskedOn2023_10_13) {
  const Agreement a = parse(doc(kStatementTerm));
  auto s = mandate_status(a, T("2023-10-13T00:00:00Z"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state, MandateState::kRunning);
  EXPECT_EQ(s->term.index, 1);
  EXPECT_EQ(F(s->term.start), "2020-11-09T21:00:00Z");
  EXPECT_EQ(F(s->term.end), "2025-11-09T21:00:00Z");
  EXPECT_EQ(F(s->term.notice_deadline), "2025-05-09T21:00:00Z");
  ASSERT_TRUE(s->renews_to);
  EXPECT_EQ(F(*s->renews_to), "2030-11-09T21:00:00Z");
  EXPECT_FALSE(s->mandate_end);
  EXPECT_EQ(s->days_left, 758);
  EXPECT_EQ(s->days_to_deadline, 574);
  EXPECT_EQ(format_local(s->term.end, a.term->utc_offset_min), "2025-11-10T00:00:00+03:00");
  EXPECT_EQ(format_local(s->term.notice_deadline, a.term->utc_offset_min), "2025-05-10T00:00:00+03:00");
  EXPECT_EQ(s->next,
            "term 1 renews automatically for 5 years to 2030-11-09T21:00:00Z (10 Nov 2030 00:00 Moscow time) "
            "unless a "
            "party gives notice by 2025-05-09T21:00:00Z (10 May 2025 00:00 Moscow time)");
  const std::string j = status_json(a, *s);
  for (const char* k :
       {R"("term_index":1)", R"("term_start":"2020-11-09T21:00:00Z")", R"("term_end":"2025-11-09T21:00:00Z")",
        R"("notice_deadline":"2025-05-09T21:00:00Z")", R"("renews_to":"2030-11-09T21:00:00Z")",
        R"("notice_deadline":"2025-05-10T00:00:00+03:00")"})
    EXPECT_NE(j.find(k), std::string::npos) << k << " in " << j;
}

struct Case {
  const char* name;
  std::string term;
  std::string events;
  const char* at;
  MandateState state;
  int index;
  const char* start;
  const char* end;
  const char* deadline;
  const char* renews_to;    // "" = none
  const char* mandate_end;  // "" = not known
  const char* because;      // the reason the term is the last ("" = it renews)
};

class MandateTable : public ::testing::TestWithParam<Case> {};

TEST_P(MandateTable, Status) {
  const Case& c = GetParam();
  const Agreement a = parse(doc(c.term, c.events));
  auto s = mandate_status(a, T(c.at));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->state, c.state);
  EXPECT_EQ(s->term.index, c.index);
  EXPECT_EQ(F(s->term.start), c.start);
  EXPECT_EQ(F(s->term.end), c.end);
  EXPECT_EQ(F(s->term.notice_deadline), c.deadline);
  EXPECT_EQ(s->renews_to ? F(*s->renews_to) : "", c.renews_to);
  EXPECT_EQ(s->mandate_end ? F(*s->mandate_end) : "", c.mandate_end);
  EXPECT_EQ(s->term.ends_because, c.because);
}

const std::string kMonthly =
    R"({"effective":"2024-01-31T00:00:00Z","utc_offset":"Z","length":"P1M","renewal":"P1M","notice":"P0D"})";
const std::string kLeap =
    R"({"effective":"2024-02-29T12:00:00Z","utc_offset":"+00:00","length":"P1Y","renewal":"P1Y","notice":"P1M"})";
const std::string kWestern =
    R"({"effective":"2021-03-01T00:00:00-05:00","utc_offset":"-05:00","length":"P1M","renewal":"P2W","notice":"P10D"})";

INSTANTIATE_TEST_SUITE_P(
    Cases, MandateTable,
    ::testing::Values(
        Case{"before_entry_into_force", kStatementTerm, "[]", "2020-11-09T20:59:59Z",
             MandateState::kNotYetInForce, 1, "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z",
             "2025-05-09T21:00:00Z", "2030-11-09T21:00:00Z", "", ""},
        Case{"first_instant", kStatementTerm, "[]", "2020-11-09T21:00:00Z", MandateState::kRunning, 1,
             "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z", "2025-05-09T21:00:00Z", "2030-11-09T21:00:00Z",
             "", ""},
        Case{"at_the_deadline", kStatementTerm, "[]", "2025-05-09T21:00:00Z", MandateState::kRunning, 1,
             "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z", "2025-05-09T21:00:00Z", "2030-11-09T21:00:00Z",
             "", ""},
        Case{"second_term_begins_at_the_end_of_the_first", kStatementTerm, "[]", "2025-11-09T21:00:00Z",
             MandateState::kRunning, 2, "2025-11-09T21:00:00Z", "2030-11-09T21:00:00Z",
             "2030-05-09T21:00:00Z", "2035-11-09T21:00:00Z", "", ""},
        Case{"renewals_chain", kStatementTerm, "[]", "2041-01-01T00:00:00Z", MandateState::kRunning, 5,
             "2040-11-09T21:00:00Z", "2045-11-09T21:00:00Z", "2045-05-09T21:00:00Z", "2050-11-09T21:00:00Z",
             "", ""},
        Case{"notice_in_time_on_the_last_instant", kStatementTerm,
             R"([{"type":"notice","party":"ARM","at":"2025-05-10T00:00:00+03:00"}])", "2025-06-01T00:00:00Z",
             MandateState::kRunning, 1, "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z",
             "2025-05-09T21:00:00Z", "", "2025-11-09T21:00:00Z",
             "notice given by ARM on 2025-05-09T21:00:00Z"},
        Case{"notice_in_time_ends_the_mandate", kStatementTerm,
             R"([{"type":"notice","party":"AZE","at":"2024-12-01"}])", "2025-11-10T00:00:00Z",
             MandateState::kEnded, 1, "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z", "2025-05-09T21:00:00Z",
             "", "2025-11-09T21:00:00Z", "notice given by AZE on 2024-11-30T21:00:00Z"},
        Case{"notice_one_second_late_counts_for_the_next_term", kStatementTerm,
             R"([{"type":"notice","party":"ARM","at":"2025-05-09T21:00:01Z"}])", "2026-01-01T00:00:00Z",
             MandateState::kRunning, 2, "2025-11-09T21:00:00Z", "2030-11-09T21:00:00Z",
             "2030-05-09T21:00:00Z", "", "2030-11-09T21:00:00Z",
             "notice given by ARM on 2025-05-09T21:00:01Z (too late for term 1, so it takes effect at the "
             "end of term 2)"},
        Case{"late_notice_does_not_stop_the_renewal", kStatementTerm,
             R"([{"type":"notice","party":"ARM","at":"2025-08-01T00:00:00Z"}])", "2025-09-01T00:00:00Z",
             MandateState::kRunning, 1, "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z",
             "2025-05-09T21:00:00Z", "2030-11-09T21:00:00Z", "2030-11-09T21:00:00Z", ""},
        Case{"a_notice_not_yet_given_is_not_known", kStatementTerm,
             R"([{"type":"notice","party":"ARM","at":"2025-01-01T00:00:00Z"}])", "2024-06-01T00:00:00Z",
             MandateState::kRunning, 1, "2020-11-09T21:00:00Z", "2025-11-09T21:00:00Z",
             "2025-05-09T21:00:00Z", "2030-11-09T21:00:00Z", "", ""},
        Case{"early_withdrawal_agreed", kStatementTerm,
             R"([{"type":"early_withdrawal","at":"2024-04-17","effective":"2024-06-12T00:00:00+03:00"}])",
             "2024-05-01T00:00:00Z", MandateState::kRunning, 1, "2020-11-09T21:00:00Z",
             "2024-06-11T21:00:00Z", "2023-12-11T21:00:00Z", "", "2024-06-11T21:00:00Z",
             "early withdrawal agreed on 2024-04-16T21:00:00Z, effective 2024-06-11T21:00:00Z"},
        Case{"after_early_withdrawal", kStatementTerm,
             R"([{"type":"early_withdrawal","at":"2024-04-17","effective":"2024-06-12"}])",
             "2024-07-01T00:00:00Z", MandateState::kEnded, 1, "2020-11-09T21:00:00Z", "2024-06-11T21:00:00Z",
             "2023-12-11T21:00:00Z", "", "2024-06-11T21:00:00Z",
             "early withdrawal agreed on 2024-04-16T21:00:00Z, effective 2024-06-11T21:00:00Z"},
        Case{"withdrawal_completed", kStatementTerm,
             R"([{"type":"withdrawal_completed","at":"2024-06-12T12:00:00+03:00"}])", "2024-06-12T10:00:00Z",
             MandateState::kEnded, 1, "2020-11-09T21:00:00Z", "2024-06-12T09:00:00Z", "2023-12-12T09:00:00Z",
             "", "2024-06-12T09:00:00Z", "withdrawal completed on 2024-06-12T09:00:00Z"},
        Case{"amendment_shortens_renewal", kStatementTerm,
             R"([{"type":"amendment","at":"2022-01-01T00:00:00Z","renewal":"P1Y"}])", "2026-12-01T00:00:00Z",
             MandateState::kRunning, 3, "2026-11-09T21:00:00Z", "2027-11-09T21:00:00Z",
             "2027-05-09T21:00:00Z", "2028-11-09T21:00:00Z", "", ""},
        Case{"amendment_ends_automatic_renewal", kStatementTerm,
             R"([{"type":"amendment","at":"2022-01-01T00:00:00Z","automatic_renewal":false}])",
             "2023-01-01T00:00:00Z", MandateState::kRunning, 1, "2020-11-09T21:00:00Z",
             "2025-11-09T21:00:00Z", "2025-05-09T21:00:00Z", "", "2025-11-09T21:00:00Z",
             "the term does not renew automatically"},
        Case{"no_automatic_renewal",
             R"({"effective":"2020-01-01","utc_offset":"+01:00","length":"P2Y","notice":"P3M"})", "[]",
             "2021-06-01T00:00:00Z", MandateState::kRunning, 1, "2019-12-31T23:00:00Z",
             "2021-12-31T23:00:00Z", "2021-09-30T23:00:00Z", "", "2021-12-31T23:00:00Z",
             "the term does not renew automatically"},
        Case{"month_end_clamped_to_leap_february", kMonthly, "[]", "2024-02-15T00:00:00Z",
             MandateState::kRunning, 1, "2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z",
             "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "", ""},
        Case{"monthly_renewal_keeps_the_31st", kMonthly, "[]", "2024-04-10T00:00:00Z", MandateState::kRunning,
             3, "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z", "2024-04-30T00:00:00Z",
             "2024-05-31T00:00:00Z", "", ""},
        Case{"leap_day_plus_a_year", kLeap, "[]", "2024-06-01T00:00:00Z", MandateState::kRunning, 1,
             "2024-02-29T12:00:00Z", "2025-02-28T12:00:00Z", "2025-01-28T12:00:00Z", "2026-02-28T12:00:00Z",
             "", ""},
        Case{"leap_day_comes_back_after_four_years", kLeap, "[]", "2027-06-01T00:00:00Z",
             MandateState::kRunning, 4, "2027-02-28T12:00:00Z", "2028-02-29T12:00:00Z",
             "2028-01-29T12:00:00Z", "2029-02-28T12:00:00Z", "", ""},
        Case{"western_offset_and_weeks", kWestern, "[]", "2021-04-05T00:00:00Z", MandateState::kRunning, 2,
             "2021-04-01T05:00:00Z", "2021-04-15T05:00:00Z", "2021-04-05T05:00:00Z", "2021-04-29T05:00:00Z",
             "", ""}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(Mandate, LateNoticeIsExplained) {
  const Agreement a =
      parse(doc(kStatementTerm, R"([{"type":"notice","party":"ARM","at":"2025-08-01T00:00:00Z"}])"));
  auto s = mandate_status(a, T("2025-09-01T00:00:00Z"));
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->notes.size(), 1u);
  EXPECT_EQ(s->notes[0],
            "notice given by ARM on 2025-08-01T00:00:00Z came after the deadline of term 1 "
            "(2025-05-09T21:00:00Z): too "
            "late to stop its renewal; it counts for the next term");
  EXPECT_TRUE(s->deadline_passed);
  EXPECT_EQ(s->days_to_deadline, -115);
}

TEST(Mandate, AgreementWithoutTermSaysSo) {
  auto a = parse_agreement(R"({"id":"x","title":"x","parties":[{"code":"A"}]})", "a.json");
  ASSERT_TRUE(a.ok());
  auto s = mandate_status(*a, T("2023-01-01T00:00:00Z"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            "the agreement has no term: add a \"term\" to the agreement file (docs/agreement.md)");
}

TEST(Mandate, StatusLineForSummaries) {
  const Agreement a = parse(doc(kStatementTerm));
  auto s = mandate_status(a, T("2023-10-13T00:00:00Z"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(status_line(a, *s),
            "mandate (test): term 1 ends 2025-11-09T21:00:00Z (10 Nov 2025 00:00 Moscow time), 758 days "
            "left; notice "
            "due by 2025-05-09T21:00:00Z, else it renews to 2030-11-09T21:00:00Z");
}

TEST(Calendar, AddAndSubtractInLocalTime) {
  // 31 Aug 2025 00:00 at +03:00 minus 6 months is 28 Feb 2025 00:00 at +03:00.
  EXPECT_EQ(F(add_calendar(T("2025-08-30T21:00:00Z"), Duration{6, 0}, 180, -1)), "2025-02-27T21:00:00Z");
  // In UTC the same instant is 30 Aug: minus 6 months is 28 Feb too (30 Feb clamps).
  EXPECT_EQ(F(add_calendar(T("2025-08-30T21:00:00Z"), Duration{6, 0}, 0, -1)), "2025-02-28T21:00:00Z");
  EXPECT_EQ(F(add_calendar(T("2023-12-31T23:00:00Z"), Duration{2, 0}, 0)), "2024-02-29T23:00:00Z");
  EXPECT_EQ(F(add_calendar(T("2100-01-31T00:00:00Z"), Duration{1, 0}, 0)),
            "2100-02-28T00:00:00Z");  // not a leap year
  EXPECT_EQ(F(add_calendar(T("2000-01-31T00:00:00Z"), Duration{1, 0}, 0)),
            "2000-02-29T00:00:00Z");  // a leap year
  EXPECT_EQ(F(add_calendar(T("2024-03-01T00:00:00Z"), Duration{0, 1}, 0, -1)), "2024-02-29T00:00:00Z");
}

TEST(Duration, ParsesAndPrints) {
  struct {
    const char* text;
    Duration d;
    const char* iso;
    const char* words;
  } cases[] = {{"P5Y", {60, 0}, "P5Y", "5 years"},
               {"P6M", {6, 0}, "P6M", "6 months"},
               {"P1Y6M", {18, 0}, "P1Y6M", "1 year 6 months"},
               {"P2W", {0, 14}, "P14D", "14 days"},
               {"P30D", {0, 30}, "P30D", "30 days"},
               {"P0D", {0, 0}, "P0D", "0 days"}};
  for (const auto& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.ok()) << c.text;
    EXPECT_EQ(*d, c.d) << c.text;
    EXPECT_EQ(to_iso(*d), c.iso);
    EXPECT_EQ(describe(*d), c.words);
  }
  for (const char* bad : {"5Y", "P", "P5", "PY", "P6M1Y", "P1DT2H", "P-1Y", "P999999Y"})
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
}

TEST(UtcOffset, ParsesAndPrints) {
  EXPECT_EQ(*parse_utc_offset("+03:00"), 180);
  EXPECT_EQ(*parse_utc_offset("-0530"), -330);
  EXPECT_EQ(*parse_utc_offset("+04"), 240);
  EXPECT_EQ(*parse_utc_offset("Z"), 0);
  EXPECT_EQ(format_utc_offset(-330), "-05:30");
  EXPECT_EQ(
      parse_utc_offset("+15:00").status().message(),
      "expected a UTC offset such as \"+03:00\", \"-05:00\" or \"Z\", got \"+15:00\" (at most 14 hours)");
  EXPECT_FALSE(parse_utc_offset("Europe/Moscow").ok());
}

}  // namespace
}  // namespace truce::agreement
