// The agreement file: the demo file parses; bad files get errors naming the key and the problem.
#include "truce/agreement/agreement.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "truce/agreement/term.h"

namespace truce::agreement {
namespace {

const std::string kDemo = std::string(TRUCE_SOURCE_DIR) + "/data/karabakh/agreement.json";

TEST(AgreementFile, DemoStatementParses) {
  auto a = parse_agreement(testing::read_file(kDemo), kDemo);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->id, "trilateral-statement-2020-11-10");
  EXPECT_EQ(a->parties.size(), 3u);
  ASSERT_EQ(a->provisions.size(), 9u);
  EXPECT_EQ(a->provisions[3].number, "4");
  EXPECT_NE(a->provisions[3].text.find("automatically extended by further 5-year periods"),
            std::string::npos);
  ASSERT_TRUE(a->term);
  EXPECT_EQ(format_instant(a->term->effective), "2020-11-09T21:00:00Z");
  EXPECT_EQ(a->term->utc_offset_min, 180);
  EXPECT_EQ(to_iso(a->term->length), "P5Y");
  EXPECT_EQ(to_iso(*a->term->renewal), "P5Y");
  EXPECT_EQ(to_iso(a->term->notice), "P6M");
  ASSERT_EQ(a->rules.size(), 2u);
  EXPECT_EQ(a->rules[0].id, "R1");
  auto s = mandate_status(*a, *parse_instant("2023-10-13T00:00:00Z"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(format_instant(s->term.end), "2025-11-09T21:00:00Z");
  EXPECT_EQ(format_instant(s->term.notice_deadline), "2025-05-09T21:00:00Z");
  EXPECT_EQ(format_instant(*s->renews_to), "2030-11-09T21:00:00Z");
}

// The smallest valid file with one key replaced or added: (JSON, expected error).
struct Bad {
  const char* name;
  std::string json;
  std::string error;
};

const std::string kParties = R"("parties":[{"code":"AZE"},{"code":"ARM"},{"code":"RUS","role":"signatory"}])";
const std::string kTerm =
    R"("term":{"effective":"2020-11-10T00:00:00+03:00","utc_offset":"+03:00","length":"P5Y","renewal":"P5Y","notice":"P6M"})";
std::string with(const std::string& extra) {
  return "{\"id\":\"x\",\"title\":\"x\"," + kParties + "," + extra + "}";
}
std::string term(const std::string& body) { return with("\"term\":{" + body + "}"); }
const std::string kTermKeys =
    R"("effective":"2020-11-10T00:00:00+03:00","utc_offset":"+03:00","length":"P5Y")";

class BadFile : public ::testing::TestWithParam<Bad> {};

TEST_P(BadFile, ErrorNamesKeyAndProblem) {
  auto a = parse_agreement(GetParam().json, "agreement.json");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(a.status().ToString(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadFile,
    ::testing::Values(
        Bad{"not_json", "{\"id\": \"x\",",
            "agreement.json: not valid JSON: parse error at line 1, column 12: syntax error while parsing "
            "object key - unexpected end of input; expected string literal"},
        Bad{"not_an_object", "[1,2]", "agreement.json: expected a JSON object at the top, got [1,2]"},
        Bad{"too_deep", std::string(40, '[') + std::string(40, ']'),
            "agreement.json:1: JSON nested deeper than 16 levels"},
        Bad{"missing_title", "{\"id\":\"x\"," + kParties + "}",
            "agreement.json: field 'title': required key is missing"},
        Bad{"typo_at_top", with("\"rule\":[]"),
            "agreement.json: field 'rule': unknown key; expected one of: format, id, title, signed, source, "
            "parties, "
            "provisions, term, events, rules"},
        Bad{"no_parties", R"({"id":"x","title":"x","parties":[]})",
            "agreement.json: field 'parties': expected a non-empty array of parties"},
        Bad{"party_twice", R"({"id":"x","title":"x","parties":[{"code":"A"},{"code":"A"}]})",
            "agreement.json: field 'parties[1].code': party \"A\" is listed twice"},
        Bad{"missing_notice", term(kTermKeys),
            "agreement.json: field 'term.notice': required key is missing"},
        Bad{"notice_in_words", term(kTermKeys + R"(,"notice":"6 months")"),
            "agreement.json: field 'term.notice': expected an ISO 8601 duration of dates such as \"P5Y\", "
            "\"P6M\", "
            "\"P1Y6M\" or \"P30D\", got \"6 months\""},
        Bad{"notice_typo", term(kTermKeys + R"(,"notice_period":"P6M")"),
            "agreement.json: field 'term.notice_period': unknown key; expected one of: subject, provision, "
            "effective, "
            "utc_offset, time_zone, length, renewal, notice"},
        Bad{"effective_without_zone",
            term(R"("effective":"2020-11-10T00:00:00","utc_offset":"+03:00","length":"P5Y","notice":"P6M")"),
            "agreement.json: field 'term.effective': time has no zone (add Z for UTC or an offset like "
            "+04:00), got "
            "\"2020-11-10T00:00:00\""},
        Bad{"offset_as_zone_name",
            term(R"("effective":"2020-11-10","utc_offset":"Europe/Moscow","length":"P5Y","notice":"P6M")"),
            "agreement.json: field 'term.utc_offset': expected a UTC offset such as \"+03:00\", \"-05:00\" "
            "or \"Z\", "
            "got \"Europe/Moscow\""},
        Bad{"notice_longer_than_term", term(kTermKeys + R"(,"notice":"P6Y")"),
            "agreement.json: field 'term.notice': the notice period (P6Y) is longer than the term (P5Y)"},
        Bad{"zero_renewal", term(kTermKeys + R"(,"notice":"P6M","renewal":"P0D")"),
            "agreement.json: field 'term.renewal': expected a renewal period of more than 0 days, or null "
            "for none"},
        Bad{"notice_by_a_signatory",
            with(kTerm + R"(,"events":[{"type":"notice","party":"RUS","at":"2025-01-01"}])"),
            "agreement.json: field 'events[0].party': \"RUS\" has the role \"signatory\"; notice may be "
            "given by a "
            "party bound by the agreement: AZE, ARM"},
        Bad{"notice_by_a_stranger",
            with(kTerm + R"(,"events":[{"type":"notice","party":"XYZ","at":"2025-01-01"}])"),
            "agreement.json: field 'events[0].party': \"XYZ\" is not in parties; notice may be given by AZE, "
            "ARM"},
        Bad{"event_type", with(kTerm + R"(,"events":[{"type":"termination","at":"2025-01-01"}])"),
            "agreement.json: field 'events[0].type': expected notice, amendment, early_withdrawal or "
            "withdrawal_completed, got \"termination\""},
        Bad{"event_key_of_another_type",
            with(kTerm + R"(,"events":[{"type":"notice","party":"ARM","at":"2025-01-01","renewal":"P1Y"}])"),
            "agreement.json: field 'events[0].renewal': not allowed in an event of type notice"},
        Bad{"empty_amendment", with(kTerm + R"(,"events":[{"type":"amendment","at":"2025-01-01"}])"),
            "agreement.json: field 'events[0]': an amendment needs at least one of renewal, notice, "
            "automatic_renewal, term_end"},
        Bad{"events_without_term",
            with(R"("events":[{"type":"withdrawal_completed","at":"2025-01-01T00:00:00Z"}])"),
            "agreement.json: field 'events': events change the term, but the agreement has no term"},
        Bad{"unknown_kind", with(R"("rules":[{"id":"R1","title":"t","kinds":["fire","rockets"]}])"),
            "agreement.json: field 'rules[0].kinds[1]': unknown kind \"rockets\"; expected fire, "
            "heavy_weapons or one "
            "of small_arms, heavy_mg, mortar, explosion, artillery, mlrs, drone, movement, other"},
        Bad{"rule_twice", with(R"("rules":[{"id":"R1","title":"t"},{"id":"R1","title":"u"}])"),
            "agreement.json: field 'rules[1].id': rule \"R1\" is defined twice"},
        Bad{"zone_kind", with(R"("rules":[{"id":"R1","title":"t","zone_kinds":["no-go"]}])"),
            "agreement.json: field 'rules[0].zone_kinds[0]': expected control, buffer, corridor or "
            "withdrawal, got "
            "\"no-go\""},
        Bad{"negative_km", with(R"("rules":[{"id":"R1","title":"t","within_km_of_loc":-5}])"),
            "agreement.json: field 'rules[0].within_km_of_loc': expected a distance in kilometres >= 0, got "
            "-5"},
        Bad{"target_without_zones", with(R"("rules":[{"id":"R1","title":"t","where":"target"}])"),
            "agreement.json: field 'rules[0].where': \"target\" needs zones or zone_kinds to look for"}),
    [](const ::testing::TestParamInfo<Bad>& p) { return std::string(p.param.name); });

TEST(AgreementFile, TooLargeIsRefusedBeforeParsing) {
  std::string big(kMaxAgreementBytes + 1, ' ');
  auto a = parse_agreement(big, "big.json");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().ToString(),
            "big.json: file is 8388609 bytes; an agreement file may have at most 8388608");
}

TEST(AgreementFile, EventsAreSortedByTime) {
  auto a = parse_agreement(with(kTerm + R"(,"events":[{"type":"notice","party":"ARM","at":"2025-03-01"},
      {"type":"amendment","at":"2022-01-01","notice":"P3M"}])"),
                           "a.json");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->events.size(), 2u);
  EXPECT_EQ(a->events[0].type, EventType::kAmendment);
  EXPECT_EQ(format_instant(a->events[1].at), "2025-02-28T21:00:00Z");  // a date is 00:00 local time
}

}  // namespace
}  // namespace truce::agreement
