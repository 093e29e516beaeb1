// OpenRosa 1.0 for field apps (ODK Collect): form list, form, submission.
#include "server/server_impl.h"

namespace truce::server {

void ServerImpl::openrosa_reply(httplib::Response& res, int status, const std::string& message) {
  pugi::xml_document doc;
  auto root = doc.append_child("OpenRosaResponse");
  root.append_attribute("xmlns") = "http://openrosa.org/http/response";
  auto m = root.append_child("message");
  m.append_attribute("nature") = status < 300 ? "submit_success" : "error";
  m.text() = message.c_str();
  std::ostringstream os;
  doc.save(os, "", pugi::format_raw);
  res.status = status;
  res.set_content(os.str(), "text/xml; charset=utf-8");
}

void ServerImpl::form_list(const httplib::Request& req, httplib::Response& res) {
  const std::string host = req.get_header_value("Host").empty() ? opts_.host + ":" + std::to_string(port_)
                                                                : req.get_header_value("Host");
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xforms xmlns=\"http://openrosa.org/xforms/xformsList\">\n"
      "  <xform>\n    <formID>" +
      std::string(kFormId) +
      "</formID>\n    <name>truce observation report</name>\n"
      "    <version>1</version>\n    <hash>md5:" +
      md5_hex(observation_xform()) +
      "</hash>\n"
      "    <downloadUrl>http://" +
      host + "/forms/truce_observation.xml</downloadUrl>\n  </xform>\n</xforms>\n";
  res.set_content(xml, "text/xml; charset=utf-8");
}

void ServerImpl::submission(const httplib::Request& req, httplib::Response& res, const Caller& c) {
  res.set_header("X-OpenRosa-Accept-Content-Length", std::to_string(opts_.max_body_bytes));
  if (!req.is_multipart_form_data() || !req.has_file("xml_submission_file")) {
    return openrosa_reply(res, 400, "expected multipart/form-data with an xml_submission_file part");
  }
  const auto file = req.get_file_value("xml_submission_file");
  ingest::Submission sub;
  sub.raw = file.content.substr(0, 4096);
  io::Row row;
  std::vector<std::string> storage;
  if (auto e = xform_row(file.content, row, storage)) {
    sub.error = *e;
  } else {
    Observation o;
    if (auto pe = io::parse_observation(row, now(), o)) {
      sub.error = *pe;
    } else {
      if (c.role == "observer" && std::find(c.user->observers.begin(), c.user->observers.end(),
                                            o.observer_id) == c.user->observers.end()) {
        return openrosa_reply(res, 403, "You may not submit reports for observer " + o.observer_id + ".");
      }
      o.channel = "openrosa";
      o.submitted_by = c.user ? c.user->name : "";
      sub.obs = std::move(o);
    }
  }
  std::vector<ingest::Submission> subs;
  subs.push_back(std::move(sub));
  store_submissions(std::move(subs), "openrosa", res, true);
}

std::optional<FieldError> xform_row(const std::string& xml, io::Row& row, std::vector<std::string>& storage) {
  pugi::xml_document doc;
  // Entities and DTDs are not expanded by pugixml; the size is bounded by the request limit.
  auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default & ~pugi::parse_doctype);
  if (!parsed)
    return FieldError{"xml_submission_file", "", std::string("not well-formed XML: ") + parsed.description()};
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.attribute("id").value()) != kFormId) {
    return FieldError{"xml_submission_file", root.attribute("id").value(),
                      "expected a submission of form " + std::string(kFormId)};
  }
  const auto& cols = io::observation_schema().columns;
  storage.assign(cols.size(), std::string());
  auto set = [&](std::string_view col, std::string v) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (cols[c] == col) storage[c] = std::move(v);
    }
  };
  set("observation_id", root.child("meta").child_value("instanceID"));
  for (auto col : {"observer_id", "time", "kind", "bearing_deg", "bearing_sigma_deg", "distance_m",
                   "distance_sigma_m", "count", "direction", "notes"}) {
    set(col, root.child_value(col));
  }
  // geopoint: "lat lon [altitude [accuracy]]"
  const std::string loc = root.child_value("location");
  if (!loc.empty()) {
    const auto sp = loc.find(' ');
    if (sp == std::string::npos)
      return FieldError{"location", loc, "expected a geopoint \"lat lon [alt acc]\""};
    const auto sp2 = loc.find(' ', sp + 1);
    set("observer_lat", loc.substr(0, sp));
    set("observer_lon", loc.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1));
  }
  row.assign(cols.size(), std::string_view());
  for (std::size_t c = 0; c < cols.size(); ++c) row[c] = storage[c];
  return std::nullopt;
}

}  // namespace truce::server
