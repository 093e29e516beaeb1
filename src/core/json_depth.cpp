#include "truce/core/json_depth.h"

#include <cstdint>
#include <string>

namespace truce {

namespace {
// The first line where the nesting passes `limit` (0: never), and the deepest nesting seen.
struct Scan {
  int max = 0;
  std::int64_t over_line = 0;
};
Scan scan(std::string_view s, int limit) {
  Scan r;
  int depth = 0;
  bool in_str = false;
  std::int64_t line = 1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\n') ++line;
    if (in_str) {
      if (c == '\\') {
        if (i + 1 < s.size() && s[i + 1] == '\n') ++line;
        ++i;
      } else if (c == '"') {
        in_str = false;
      }
    } else if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      if (++depth > r.max) r.max = depth;
      if (depth > limit && r.over_line == 0) {
        r.over_line = line;
        return r;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return r;
}
}  // namespace

int json_depth(std::string_view text) { return scan(text, 1 << 30).max; }

Status check_json_depth(std::string_view text, int max_depth, std::string_view source) {
  const Scan r = scan(text, max_depth);
  if (r.over_line == 0) return Status::Ok();
  return Status::Invalid("JSON nested deeper than " + std::to_string(max_depth) + " levels",
                         Location{std::string(source), r.over_line, ""});
}

}  // namespace truce
