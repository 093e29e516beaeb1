#include "truce/io/openrosa.h"

#include <gtest/gtest.h>

namespace truce::io {
namespace {

const Instant kNow{1800000000000};

std::string submission(const std::string& fields,
                       const std::string& meta = "<instanceID>uuid:a1</instanceID>",
                       const std::string& form = "truce_observation") {
  return "<?xml version=\"1.0\"?>\n<data id=\"" + form +
         "\" orx:version=\"1\" xmlns:orx=\"http://openrosa.org/xforms\">" +
         "<observer_id>M001</observer_id><time>2023-09-01T21:38:41.000+04:00</time><kind>mortar</kind>" +
         fields + "<meta>" + meta + "</meta></data>";
}

struct Parsed {
  std::optional<FieldError> error;
  Row row;
  std::vector<std::string> storage;
  XformMeta meta;
};
Parsed parse(const std::string& xml) {
  Parsed p;
  p.error = parse_xform_submission(xml, p.row, p.storage, p.meta);
  return p;
}

TEST(OpenRosa, InstanceIdIsTheObservationId) {
  auto p = parse(submission("<bearing_deg>92.5</bearing_deg><count>3</count><notes>two rounds</notes>"));
  ASSERT_FALSE(p.error) << p.error->reason;
  EXPECT_EQ(p.meta.instance_id, "uuid:a1");
  EXPECT_EQ(p.meta.deprecated_id, "");
  Observation o;
  auto e = parse_observation(p.row, kNow, o);
  ASSERT_FALSE(e) << e->field << ": " << e->reason;
  EXPECT_EQ(o.id, "uuid:a1");
  EXPECT_EQ(o.observer_id, "M001");
  EXPECT_EQ(o.kind, Kind::kMortar);
  EXPECT_EQ(o.bearing_deg, 92.5);
  EXPECT_EQ(o.count, 3);
  EXPECT_EQ(o.notes, "two rounds");
  EXPECT_FALSE(o.observer_pos);
}

TEST(OpenRosa, AnEditedSubmissionNamesTheOneItReplaces) {
  auto p = parse(submission("<count>4</count>",
                            "<instanceID>uuid:new</instanceID><deprecatedID>uuid:old</deprecatedID>"));
  ASSERT_FALSE(p.error) << p.error->reason;
  EXPECT_EQ(p.meta.instance_id, "uuid:new");
  EXPECT_EQ(p.meta.deprecated_id, "uuid:old");
  Observation o;
  ASSERT_FALSE(parse_observation(p.row, kNow, o));
  EXPECT_EQ(o.id, "uuid:new");
}

TEST(OpenRosa, XmlThatIsNotWellFormedSaysWhere) {
  auto p = parse("<data id=\"truce_observation\"><notes>open</data>");
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->field, "xml_submission_file");
  EXPECT_EQ(p.error->reason, "not well-formed XML: Start-end tags mismatch at byte 42");
  EXPECT_EQ(parse("").error->reason, "not well-formed XML: No document element found at byte 0");
}

TEST(OpenRosa, ASubmissionOfAnotherFormIsRefused) {
  auto p = parse(submission("", "<instanceID>uuid:a1</instanceID>", "household_survey"));
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->field, "xml_submission_file");
  EXPECT_EQ(p.error->value, "household_survey");
  EXPECT_EQ(p.error->reason, "expected a submission of form truce_observation");
}

// pugixml checks no encoding: the shared UTF-8 check in parse_observation refuses the bytes.
TEST(OpenRosa, InvalidUtf8ViaOpenRosa) {
  auto p = parse(submission("<notes>rounds \xC3\x28 heard</notes>"));
  ASSERT_FALSE(p.error);
  Observation o;
  auto e = parse_observation(p.row, kNow, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "notes");
  EXPECT_EQ(e->value, "rounds ");
  EXPECT_EQ(e->reason, "expected UTF-8 text; byte 7 (0xc3) is not part of a UTF-8 character");
  // A character reference to a surrogate decodes to bytes that are not UTF-8 either.
  p = parse(submission("", "<instanceID>uuid:&#xD800;</instanceID>"));
  ASSERT_FALSE(p.error);
  e = parse_observation(p.row, kNow, o);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "observation_id");
}

TEST(OpenRosa, GeopointIsLatLonAltitudeAccuracy) {
  auto p = parse(submission("<location>39.8512 46.7543 1210.5 4.9</location>"));
  ASSERT_FALSE(p.error);
  Observation o;
  ASSERT_FALSE(parse_observation(p.row, kNow, o));
  ASSERT_TRUE(o.observer_pos);
  EXPECT_EQ(o.observer_pos->lat, 39.8512);
  EXPECT_EQ(o.observer_pos->lon, 46.7543);
  p = parse(submission("<location>39.8512 46.7543</location>"));
  ASSERT_FALSE(p.error);
  ASSERT_FALSE(parse_observation(p.row, kNow, o));
  EXPECT_EQ(o.observer_pos->lon, 46.7543);
  p = parse(submission("<location>39.8512</location>"));
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->field, "location");
  EXPECT_EQ(p.error->value, "39.8512");
  EXPECT_EQ(p.error->reason, "expected a geopoint \"lat lon [alt acc]\"");
  p = parse(submission("<location>north 46.7</location>"));
  ASSERT_FALSE(p.error);
  EXPECT_EQ(parse_observation(p.row, kNow, o)->field, "observer_lat");
}

}  // namespace
}  // namespace truce::io
