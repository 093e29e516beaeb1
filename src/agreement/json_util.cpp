#include "agreement/json_util.h"

#include "truce/core/json_depth.h"

namespace truce::agreement::detail {

Result<Json> parse_json(std::string_view text, std::string_view source, int max_depth) {
  TRUCE_RETURN_IF_ERROR(check_json_depth(text, max_depth, source));
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions for the position (the document is bounded, so this is cheap).
    try {
      const Json again = Json::parse(text.begin(), text.end());
      (void)again;
    } catch (const Json::parse_error& e) {
      std::string what = e.what();
      const auto p = what.find("parse error");
      if (p != std::string::npos) what = what.substr(p);
      return Status::Invalid("not valid JSON: " + what, Location{std::string(source), 0, ""});
    }
    return Status::Invalid("not valid JSON", Location{std::string(source), 0, ""});
  }
  return j;
}

Status key_error(std::string_view source, const std::string& key, const std::string& message) {
  return Status::Invalid(message, Location{std::string(source), 0, key});
}

std::string show(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

Status only_keys(const Json& obj, const std::vector<std::string_view>& allowed, std::string_view source,
                 const std::string& path) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok = ok || it.key() == a;
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return key_error(source, join(path, it.key()), "unknown key; expected one of: " + list);
    }
  }
  return Status::Ok();
}

Result<std::string> get_string(const Json& obj, std::string_view key, std::string_view source,
                               const std::string& path, bool required) {
  const std::string k(key);
  auto it = obj.find(k);
  if (it == obj.end() || it->is_null()) {
    if (required) return key_error(source, join(path, key), "required key is missing");
    return std::string();
  }
  if (!it->is_string()) return key_error(source, join(path, key), "expected a string, got " + show(*it));
  std::string s = it->get<std::string>();
  if (required && s.empty()) return key_error(source, join(path, key), "expected a non-empty string");
  return s;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

}  // namespace truce::agreement::detail

namespace truce::agreement::detail {

Result<Instant> get_instant(const Json& v, std::string_view source, const std::string& key,
                            std::optional<std::int32_t> local_offset_min) {
  const std::string expect =
      local_offset_min ? "expected an ISO 8601 time with a zone (\"2020-11-10T00:00:00+03:00\") or a date "
                         "(\"2025-05-10\", read as 00:00 in the agreement's local time)"
                       : "expected an ISO 8601 time with a zone, such as \"2020-11-10T00:00:00+03:00\"";
  if (!v.is_string()) return key_error(source, key, expect + ", got " + show(v));
  const std::string s = v.get<std::string>();
  if (s.size() == 10 && s[4] == '-' && s[7] == '-' && local_offset_min) {
    auto t = parse_instant(s + "T00:00:00Z");
    if (!t.ok()) return key_error(source, key, expect + ", got " + show(v));
    return Instant{t->ms - std::int64_t{*local_offset_min} * 60'000};
  }
  auto t = parse_instant(s);
  if (!t.ok()) return key_error(source, key, t.status().message() + ", got " + show(v));
  return *t;
}

}  // namespace truce::agreement::detail
