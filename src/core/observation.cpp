#include "truce/core/observation.h"

#include <charconv>

namespace truce {

namespace {
constexpr std::array<std::string_view, 3> kDirectionNames = {"", "incoming", "outgoing"};
constexpr std::array<std::string_view, 6> kObserverTypeNames = {"post",     "patrol", "camera",
                                                                "acoustic", "uav",    "other"};

template <typename E, std::size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

// Shortest round-trip form: one spelling per value. -0 is written as 0: the two compare equal, and
// SQLite gives -0.0 back as 0.0, so a link made from "-0" could never be verified.
void append_number(std::string& out, double v) {
  if (v == 0) v = 0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
void append_opt(std::string& out, const std::optional<double>& v) {
  if (v) append_number(out, *v);
  out += '\x1f';
}
}  // namespace

std::string_view to_string(Kind k) { return kKindNames[static_cast<std::size_t>(k)]; }
std::optional<Kind> kind_from_string(std::string_view s) { return lookup<Kind>(kKindNames, s); }
std::string kind_list() {
  std::string out;
  for (auto n : kKindNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string_view to_string(Direction d) { return kDirectionNames[static_cast<std::size_t>(d)]; }
std::optional<Direction> direction_from_string(std::string_view s) {
  return lookup<Direction>(kDirectionNames, s);
}

std::string_view to_string(ObserverType t) { return kObserverTypeNames[static_cast<std::size_t>(t)]; }
std::optional<ObserverType> observer_type_from_string(std::string_view s) {
  return lookup<ObserverType>(kObserverTypeNames, s);
}

std::string canonical_content(const Observation& o) {
  std::string out;
  out.reserve(128 + o.notes.size() + o.supersedes.size());
  out += o.supersedes.empty() ? "obs1\x1f" : "obs2\x1f";
  out += o.id;
  out += '\x1f';
  out += std::to_string(o.time.ms);
  out += '\x1f';
  out += o.observer_id;
  out += '\x1f';
  if (o.observer_pos) {
    append_number(out, o.observer_pos->lat);
    out += ',';
    append_number(out, o.observer_pos->lon);
  }
  out += '\x1f';
  out += to_string(o.kind);
  out += '\x1f';
  append_opt(out, o.bearing_deg);
  append_opt(out, o.bearing_sigma_deg);
  append_opt(out, o.distance_m);
  append_opt(out, o.distance_sigma_m);
  out += std::to_string(o.count);
  out += '\x1f';
  out += to_string(o.direction);
  out += '\x1f';
  if (!o.supersedes.empty()) {
    out += o.supersedes;  // an id: no control characters, so no \x1f
    out += '\x1f';
  }
  out += o.notes;
  return out;
}

}  // namespace truce
