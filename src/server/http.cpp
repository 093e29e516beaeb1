// Small HTTP helpers shared by the handlers.
#include <charconv>
#include <sstream>

#include "server/server_impl.h"
#include "truce/io/record_reader.h"

namespace truce::server {

std::string path_pattern(const std::string& openapi_path) {
  static const std::regex kParam("\\{[a-z_]+\\}");
  return std::regex_replace(openapi_path, kParam, "([^/]+)");
}

std::string base64_decode(const std::string& in) {
  if (in.size() > 4096 || in.size() % 4 != 0) return "";
  std::string out(in.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return "";
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;  // padding decodes to zeros
  out.resize(len);
  return out;
}

void send_error(Response& res, int status, std::string_view code, const std::string& message,
                const std::string& field) {
  json e = {{"error", {{"code", code}, {"message", message}, {"field", field}}}};
  res.status = status;
  // Messages quote what the client sent: bytes that are not UTF-8 are written as U+FFFD.
  res.set_content(e.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const auto end = comma == std::string::npos ? s.size() : comma;
    if (end > start) out.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The one place a truce Status becomes an HTTP status.
int http_status(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 422;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kCorruption:
      return 500;
    case Code::kIOError:
      return 503;  // the database is unreachable or full: try again later
    case Code::kUnsupported:
      return 501;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

void send_status(Response& res, const Status& st, const std::string& field) {
  send_error(res, http_status(st.code()), code_name(st.code()), st.message(), field);
}

namespace {
bool bad_param(Response& res, const std::string& name, const std::string& expected) {
  send_error(res, 400, "invalid_argument", name + ": expected " + expected, name);
  return false;
}
}  // namespace

bool check_params(const Request& req, Response& res, const std::vector<std::string>& allowed) {
  for (auto it = req.params.begin(); it != req.params.end(); it = req.params.upper_bound(it->first)) {
    const std::string& name = it->first;
    if (!io::valid_utf8(name) || std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      send_error(res, 400, "invalid_argument",
                 "unknown query parameter \"" + name + "\"" +
                     (allowed.empty() ? std::string(": this endpoint takes none")
                                      : ": expected one of " +
                                            [&] {
                                              std::string l;
                                              for (const auto& a : allowed) l += (l.empty() ? "" : ", ") + a;
                                              return l;
                                            }()),
                 name);
      return false;
    }
    if (req.params.count(name) > 1) return bad_param(res, name, "one value (it was given more than once)");
    if (!io::valid_utf8(it->second)) return bad_param(res, name, "UTF-8 text");
  }
  return true;
}

bool int_param(const Request& req, Response& res, const char* name, std::int64_t lo, std::int64_t hi,
               std::int64_t& out) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  std::int64_t x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi) {
    return bad_param(res, name, "a whole number " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  out = x;
  return true;
}

bool double_param(const Request& req, Response& res, const char* name, double lo, double hi, double& out) {
  if (!req.has_param(name)) return true;
  const std::string v = req.get_param_value(name);
  double x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  std::ostringstream range;
  range << lo << ".." << hi;
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || !(x >= lo && x <= hi)) {
    return bad_param(res, name, "a number " + range.str());
  }
  out = x;
  return true;
}

}  // namespace truce::server
