#include "truce/core/validate.h"

#include <gtest/gtest.h>

namespace truce {
namespace {

const Instant kNow = *parse_instant("2023-10-01T00:00:00Z");

Observation good() {
  Observation o;
  o.id = "1";
  o.time = *parse_instant("2023-09-01T21:38:41Z");
  o.observer_id = "M001";
  o.observer_pos = LatLon{39.9, 46.8};
  o.kind = Kind::kMortar;
  o.bearing_deg = 92.7;
  o.bearing_sigma_deg = 4;
  o.distance_m = 4500;
  o.distance_sigma_m = 1200;
  o.count = 4;
  return o;
}

std::string field_of(const Observation& o) {
  auto e = validate(o, kNow);
  return e ? e->field : "";
}

TEST(Validate, AGoodObservationPasses) { EXPECT_FALSE(validate(good(), kNow)); }

// A field app (OpenRosa's XML is not checked for encoding) sends bytes that are not UTF-8: they are
// refused with the field and the byte, and the error quotes only valid text.
TEST(Validate, InvalidUtf8ViaOpenRosa) {
  Observation o = good();
  o.notes = "two rounds \xff\xfe then silence";
  auto e = validate(o, kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "notes");
  EXPECT_EQ(e->value, "two rounds ");
  EXPECT_EQ(e->reason, "expected UTF-8 text; byte 11 (0xff) is not part of a UTF-8 character");
  o = good();
  o.observer_id =
      "M\xC0\xAF"
      "1";  // overlong '/'
  EXPECT_EQ(field_of(o), "observer_id");
  o = good();
  o.id = "uuid:\xED\xA0\x80";  // a surrogate
  EXPECT_EQ(field_of(o), "observation_id");
  EXPECT_EQ(validate(o, kNow)->reason, "expected UTF-8 text; byte 5 (0xed) is not part of a UTF-8 character");
  o = good();
  o.notes = "Ստեփանակերտ Xankəndi";
  EXPECT_FALSE(validate(o, kNow));
  Observer ob;
  ob.id = "M1";
  ob.party = "AZ\xE2\x82";  // truncated
  ASSERT_TRUE(validate(ob));
  EXPECT_EQ(validate(ob)->field, "party");
}

TEST(Validate, ErrorValuesAreCutAtACharacterBoundary) {
  Observation o = good();
  o.notes = std::string(39, 'x') + "ə" + std::string(4096, 'x');
  auto e = validate(o, kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, "expected at most 4096 bytes");
  EXPECT_EQ(e->value, std::string(39, 'x') + "...");
  EXPECT_EQ(utf8_prefix("abəc", 3), "ab");
  EXPECT_EQ(utf8_prefix("a\xff"
                        "b",
                        10),
            "ab");
  o.notes = std::string(50, 'y') + "\xff";
  EXPECT_EQ(validate(o, kNow)->value, "..." + std::string(40, 'y'));
}

TEST(Validate, EachRangeIsChecked) {
  auto o = good();
  o.bearing_deg = 360;
  EXPECT_EQ(field_of(o), "bearing_deg");
  o = good();
  o.bearing_deg = -0.1;
  EXPECT_EQ(field_of(o), "bearing_deg");
  o = good();
  o.distance_m = 0;
  EXPECT_EQ(field_of(o), "distance_m");
  o = good();
  o.distance_sigma_m = -5;
  EXPECT_EQ(field_of(o), "distance_sigma_m");
  o = good();
  o.bearing_sigma_deg = 0;
  EXPECT_EQ(field_of(o), "bearing_sigma_deg");
  o = good();
  o.observer_pos = LatLon{91, 0};
  EXPECT_EQ(field_of(o), "observer_lat");
  o = good();
  o.observer_pos = LatLon{0, -180.5};
  EXPECT_EQ(field_of(o), "observer_lon");
  o = good();
  o.count = 0;
  EXPECT_EQ(field_of(o), "count");
  o = good();
  o.id = "";
  EXPECT_EQ(field_of(o), "observation_id");
}

TEST(Validate, FutureTimesBeyondTenMinutesAreRejected) {
  auto o = good();
  o.time = Instant{kNow.ms + kMaxFutureMs};
  EXPECT_FALSE(validate(o, kNow));
  o.time = Instant{kNow.ms + kMaxFutureMs + 1000};
  auto e = validate(o, kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "time");
  EXPECT_EQ(e->reason, "expected a time no more than 10 minutes in the future (now is 2023-10-01T00:00:00Z)");
}

TEST(Validate, CanonicalContentIgnoresSubmissionMetadata) {
  auto a = good();
  auto b = good();
  b.channel = "api";
  b.submitted_by = "someone";
  EXPECT_EQ(canonical_content(a), canonical_content(b));
  b.bearing_deg = 92.8;
  EXPECT_NE(canonical_content(a), canonical_content(b));
}

}  // namespace
}  // namespace truce
