#include "truce/io/tabular.h"

#include <gtest/gtest.h>

namespace truce::io {
namespace {

TEST(Header, ColumnsAreFoundByNameInAnyOrder) {
  auto m = map_header(observation_schema(), {"kind", "time", "extra", "observer_id", "observation_id"}, "f.csv");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->index[0], 4);  // observation_id
  EXPECT_EQ(m->index[5], 0);  // kind
  EXPECT_EQ(m->ignored, std::vector<std::string>{"extra"});
}

TEST(Header, MissingRequiredColumnNamesIt) {
  auto m = map_header(observation_schema(), {"observation_id", "time", "kind"}, "f.csv");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().ToString(),
            "f.csv:1: field 'observer_id': missing required column 'observer_id' in the header (the header needs at "
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

}  // namespace
}  // namespace truce::io
