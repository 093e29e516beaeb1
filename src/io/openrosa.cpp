#include "truce/io/openrosa.h"

#include <pugixml.hpp>

namespace truce::io {

std::optional<FieldError> parse_xform_submission(std::string_view xml, Row& row,
                                                 std::vector<std::string>& storage, XformMeta& meta) {
  meta = XformMeta{};
  pugi::xml_document doc;
  auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default & ~pugi::parse_doctype);
  if (!parsed) {
    return FieldError{"xml_submission_file", "",
                      std::string("not well-formed XML: ") + parsed.description() + " at byte " +
                          std::to_string(parsed.offset)};
  }
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.attribute("id").value()) != kFormId) {
    return FieldError{"xml_submission_file", utf8_prefix(root.attribute("id").value(), 60),
                      "expected a submission of form " + std::string(kFormId)};
  }
  const auto& cols = observation_schema().columns;
  storage.assign(cols.size(), std::string());
  auto set = [&](std::string_view col, std::string v) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (cols[c] == col) {
        storage[c] = std::move(v);
        return;  // column names are unique: v is moved once
      }
    }
  };
  const pugi::xml_node m = root.child("meta");
  meta.instance_id = m.child_value("instanceID");
  meta.deprecated_id = m.child_value("deprecatedID");
  set("observation_id", meta.instance_id);
  for (auto col : {"observer_id", "time", "kind", "bearing_deg", "bearing_sigma_deg", "distance_m",
                   "distance_sigma_m", "count", "direction", "notes"}) {
    set(col, root.child_value(col));
  }
  // geopoint: "lat lon [altitude [accuracy]]"
  const std::string loc = root.child_value("location");
  if (!loc.empty()) {
    const auto sp = loc.find(' ');
    if (sp == std::string::npos) {
      return FieldError{"location", utf8_prefix(loc, 60), "expected a geopoint \"lat lon [alt acc]\""};
    }
    const auto sp2 = loc.find(' ', sp + 1);
    set("observer_lat", loc.substr(0, sp));
    set("observer_lon", loc.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1));
  }
  row.assign(cols.size(), std::string_view());
  for (std::size_t c = 0; c < cols.size(); ++c) row[c] = storage[c];
  return std::nullopt;
}

}  // namespace truce::io
