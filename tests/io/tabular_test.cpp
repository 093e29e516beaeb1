#include "truce/io/tabular.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace truce::io {
namespace {

TEST(Header, ColumnsAreFoundByNameInAnyOrder) {
  auto m =
      map_header(observation_schema(), {"kind", "time", "extra", "observer_id", "observation_id"}, "f.csv");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->index[0], 4);  // observation_id
  EXPECT_EQ(m->index[5], 0);  // kind
  EXPECT_EQ(m->ignored, std::vector<std::string>{"extra"});
}

TEST(Header, MissingRequiredColumnNamesIt) {
  auto m = map_header(observation_schema(), {"observation_id", "time", "kind"}, "f.csv");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().ToString(),
            "f.csv:1: field 'observer_id': missing required column 'observer_id' in the header (the header "
            "needs at "
            "least: observation_id,time,observer_id,kind)");
}

TEST(Parse, BearingOf360IsNorth) {
  Row row(observation_schema().columns.size());
  row[0] = "1";
  row[1] = "2023-09-01T21:38:41Z";
  row[2] = "M001";
  row[5] = "mortar";
  row[6] = "360";
  Observation o;
  EXPECT_FALSE(parse_observation(row, Instant{1800000000000}, o));
  EXPECT_EQ(o.bearing_deg, 0.0);
  EXPECT_EQ(o.count, 1);  // count defaults to one report
}

// Every spelling of one number parses to one value with one canonical encoding (the audit chain
// hashes it), -0 included.
TEST(Parse, MinusZeroBreaksVerify) {
  auto parse = [](std::string_view bearing, std::string_view lat, std::string_view dist) {
    Row row(observation_schema().columns.size());
    row[0] = "1";
    row[1] = "2023-09-01T21:38:41Z";
    row[2] = "M001";
    row[3] = lat;
    row[4] = "46.8";
    row[5] = "mortar";
    row[6] = bearing;
    row[8] = dist;
    Observation o;
    auto e = parse_observation(row, Instant{1800000000000}, o);
    EXPECT_FALSE(e) << e->field << ": " << e->reason;
    return o;
  };
  const Observation zero = parse("0", "0", "1500");
  for (auto spelling : {"-0", "-0.0", "+0", "0.000", "0e7", "-0e-3", "360"}) {
    const Observation o = parse(spelling, spelling == std::string_view("360") ? "0" : spelling, "1500");
    EXPECT_FALSE(std::signbit(*o.bearing_deg)) << spelling;
    EXPECT_FALSE(std::signbit(o.observer_pos->lat)) << spelling;
    EXPECT_EQ(canonical_content(o), canonical_content(zero)) << spelling;
  }
  const Observation one = parse("1", "39.85", "1500");
  for (auto spelling : {"1.0", "+1", "1e0", "0.1e1", "1.000000000000000000001"}) {
    EXPECT_EQ(canonical_content(parse(spelling, "39.850", "1.5e3")), canonical_content(one)) << spelling;
  }
  // -0 is not a distance: it is rejected as 0 is, and named as 0.
  Row row(observation_schema().columns.size());
  row[0] = "1", row[1] = "2023-09-01T21:38:41Z", row[2] = "M001", row[5] = "mortar", row[8] = "-0";
  Observation o;
  auto e = parse_observation(row, Instant{1800000000000}, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "distance_m");
  EXPECT_EQ(e->value, "0");
}

// Whatever the channel, a field that is not UTF-8 is refused by name before it is parsed as anything.
TEST(Parse, InvalidUtf8ViaOpenRosa) {
  Row row(observation_schema().columns.size());
  row[0] = "1";
  row[1] = "2023-09-01T21:38:41Z";
  row[2] = "M001";
  row[5] = "mortar";
  row[6] = "9\xff";
  Observation o;
  auto e = parse_observation(row, Instant{1800000000000}, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "bearing_deg");
  EXPECT_EQ(e->value, "9");
  EXPECT_EQ(e->reason, "expected UTF-8 text; byte 1 (0xff) is not part of a UTF-8 character");
  row[6] = "";
  row[12] = "\x80";
  EXPECT_EQ(parse_observation(row, Instant{1800000000000}, o)->field, "notes");
  Row orow(observer_schema().columns.size());
  orow[0] = "M\xfe";
  Observer ob;
  EXPECT_EQ(parse_observer(orow, ob)->reason,
            "expected UTF-8 text; byte 1 (0xfe) is not part of a UTF-8 character");
}

TEST(Parse, ObserverTypeMustBeKnown) {
  Row row(observer_schema().columns.size());
  row[0] = "M1";
  row[4] = "tank";
  Observer o;
  auto e = parse_observer(row, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "type");
  EXPECT_EQ(e->reason, "expected post, patrol, camera, acoustic, uav or other");
}

// The received text of each element of an API batch, kept for the quarantine: commas, brackets and
// escaped quotes inside strings do not split an element; whitespace around one is not part of it.
TEST(JsonArray, ElementsAreTheReceivedTextsSplitOnlyAtTopLevel) {
  const std::string body = " [ {\"a\":\"x,]\\\"y\",\"b\":[1,2]} ,\n{\"c\":{\"d\":[]}},7,\"s\" ]\n";
  const auto e = json_array_elements(body);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0], R"({"a":"x,]\"y","b":[1,2]})");
  EXPECT_EQ(e[1], R"({"c":{"d":[]}})");
  EXPECT_EQ(e[2], "7");
  EXPECT_EQ(e[3], R"("s")");
  EXPECT_TRUE(json_array_elements("[]").empty());
  EXPECT_TRUE(json_array_elements(R"({"a":[1,2]})").empty());  // not an array
  EXPECT_TRUE(json_array_elements("[1,2").empty());            // not complete
}

TEST(JsonString, PlainTextIsQuotedAndAnythingElseEscaped) {
  std::string out;
  append_json_string(out, "inc-sim-2020-1");
  EXPECT_EQ(out, R"("inc-sim-2020-1")");
  out.clear();
  append_json_string(out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
  out.clear();
  append_json_string(out, "bad \xC3 byte");  // invalid UTF-8: replaced, never thrown
  EXPECT_EQ(out, "\"bad \xEF\xBF\xBD byte\"");
}

// The API's batch reader (simdjson) against the JSON tree's (nlohmann, the oracle): every element
// it takes gives the same row and the same error; the ones it leaves are the odd ones only.
TEST(JsonBatch, SimdjsonRowsEqualTheTreesRows) {
  const std::vector<std::pair<std::string, bool>> cases = {
      // element, left to the tree
      {R"({"observation_id":"a","time":"2023-09-01T21:38:41Z","observer_id":"M001","kind":"mortar","bearing_deg":92.5})",
       false},
      {R"({"observation_id":"b","time":"2023-09-01T21:38:41Z","observer_id":"M001","kind":"mortar","count":5,"distance_m":1e3})",
       false},
      {R"({"observation_id":"c","time":"2023-09-01T21:38:41Z","observer_id":"M001","kind":"mortar","bearing_deg":92.50,"count":-5})",
       false},
      {R"({"observation_id":"d","time":"2023-09-01T21:38:41Z","observer_id":"M001","kind":"mortar","count":18446744073709551615})",
       false},
      {R"({"observation_id":"e\u00e9\"\\","time":null,"observer_id":"M001","kind":"mortar","extra":[1,{"x":2}]})",
       false},
      {R"({"observation_id":"f","observer_id":"M001","kind":"mortar"})", false},  // time missing
      {R"({"observation_id":"g","time":"t","observer_id":"M001","kind":"mortar","bearing_deg":5.0,"notes":"x"})",
       false},
      {R"({"observation_id":"h","time":"t","observer_id":"M001","kind":"mortar","bearing_deg":-0.0})", true},
      {R"({"observation_id":"i","time":"t","observer_id":"M001","kind":"mortar","bearing_deg":0})", false},
      {R"({"observation_id":"j","time":"t","observer_id":"M001","kind":true})", true},
      {R"({"observation_id":"k","time":"t","observer_id":"M001","kind":{"a":1}})", true},
      {R"({"observation_id":"l","observation_id":"m","time":"t","observer_id":"M001","kind":"mortar"})",
       true},
      {R"(7)", true},
      {R"("text")", true},
      {R"([1,2])", true},
  };
  std::string body = "[";
  for (std::size_t i = 0; i < cases.size(); ++i) body += (i ? "," : "") + cases[i].first;
  body += "]";
  Row row;
  std::vector<std::string> storage;
  std::size_t count = 0, seen = 0;
  const bool read = pick_json_array(observation_schema(), body, 100, count, row, storage,
                                    [&](std::size_t i, bool general, const std::optional<FieldError>& e) {
                                      ++seen;
                                      EXPECT_EQ(general, cases[i].second) << cases[i].first;
                                      if (general) return;
                                      Row want;
                                      std::vector<std::string> want_storage, ignored;
                                      const auto want_e = pick_json_value(
                                          observation_schema(), nlohmann::json::parse(cases[i].first), want,
                                          want_storage, ignored);
                                      EXPECT_EQ(e.has_value(), want_e.has_value()) << cases[i].first;
                                      if (e && want_e) {
                                        EXPECT_EQ(e->field, want_e->field);
                                        EXPECT_EQ(e->reason, want_e->reason);
                                      }
                                      EXPECT_EQ(row, want) << cases[i].first;
                                    });
  ASSERT_TRUE(read);
  EXPECT_EQ(count, cases.size());
  EXPECT_EQ(seen, cases.size());
  // Too many: counted, not read; not an array, or not JSON: left to the tree (which names the error).
  seen = 0;
  EXPECT_TRUE(pick_json_array(observation_schema(), body, 3, count, row, storage,
                              [&](std::size_t, bool, const std::optional<FieldError>&) { ++seen; }));
  EXPECT_EQ(seen, 0u);
  EXPECT_FALSE(pick_json_array(observation_schema(), cases[0].first, 100, count, row, storage,
                               [](std::size_t, bool, const std::optional<FieldError>&) {}));
  EXPECT_FALSE(pick_json_array(observation_schema(), "[{\"a\":", 100, count, row, storage,
                               [](std::size_t, bool, const std::optional<FieldError>&) {}));
  EXPECT_FALSE(pick_json_array(observation_schema(), "[\"\xC3\"]", 100, count, row, storage,
                               [](std::size_t, bool, const std::optional<FieldError>&) {}));
}

}  // namespace
}  // namespace truce::io
