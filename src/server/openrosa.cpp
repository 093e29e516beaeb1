// OpenRosa 1.0 for field apps (ODK Collect): form list, form, submission.
#include "server/server_impl.h"

namespace truce::server {

void ServerImpl::openrosa_reply(Response& res, int status, const std::string& message) {
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

void ServerImpl::form_list(const Request& req, Response& res) {
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

void ServerImpl::submission(const Request& req, Response& res, const Caller& c) {
  res.set_header("X-OpenRosa-Accept-Content-Length", std::to_string(opts_.max_body_bytes));
  auto parts = parse_multipart(req.get_header_value("Content-Type"), req.body);
  if (!parts.ok()) {
    return openrosa_reply(
        res, 400,
        "expected multipart/form-data with an xml_submission_file part: " + parts.status().message());
  }
  const MultipartPart* file = nullptr;
  for (const auto& p : *parts) {
    if (p.name == "xml_submission_file") {
      file = &p;
      break;
    }
  }
  if (!file) return openrosa_reply(res, 400, "expected multipart/form-data with an xml_submission_file part");
  ingest::Submission sub;
  sub.raw = file->content.substr(0, 4096);
  io::Row row;
  std::vector<std::string> storage;
  io::XformMeta meta;
  const Instant t = now();
  if (auto e = io::parse_xform_submission(file->content, row, storage, meta)) {
    sub.error = *e;
  } else {
    Observation o;
    if (auto pe = io::parse_observation(row, t, o)) {
      sub.error = *pe;
    } else {
      if (c.role == "observer" && std::find(c.user->observers.begin(), c.user->observers.end(),
                                            o.observer_id) == c.user->observers.end()) {
        return openrosa_reply(res, 403, "You may not submit reports for observer " + o.observer_id + ".");
      }
      o.channel = "openrosa";
      o.supersedes = meta.deprecated_id;  // ODK's edit and resend: this report replaces that one
      o.submitted_by = c.user ? c.user->name : "";
      sub.obs = std::move(o);
      ingest::prepare(sub, t);
    }
  }
  std::vector<ingest::Submission> subs;
  subs.push_back(std::move(sub));
  store_submissions(std::move(subs), "openrosa", res, true);
}

}  // namespace truce::server
