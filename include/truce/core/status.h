// Status and Result<T>: expected failures (bad input, not found, conflict) are values, not exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace truce {

// Public error codes. Append only: never renumber (they appear in JSON output and exit codes).
enum class Code : std::uint8_t {
  kOk = 0,
  kInvalidArgument = 1,  // input that breaks a documented rule
  kNotFound = 2,
  kConflict = 3,    // same id, different content
  kCorruption = 4,  // stored data fails a check (audit chain, schema)
  kIOError = 5,
  kUnsupported = 6,  // e.g. a database written by a newer truce
  kInternal = 7,
};
inline constexpr int kCodeCount = 8;
std::string_view code_name(Code c);  // "invalid_argument", ...

// Where a problem is: the source (file name, "-" for stdin, or a request), the 1-based line or
// record number (0 = not applicable), and the field (column) name ("" = the whole record).
struct Location {
  std::string source;
  std::int64_t line = 0;
  std::string field;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status Invalid(std::string msg, Location loc = {}) {
    return {Code::kInvalidArgument, std::move(msg), std::move(loc)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg), {}}; }
  static Status Conflict(std::string msg, Location loc = {}) {
    return {Code::kConflict, std::move(msg), std::move(loc)};
  }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg), {}}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg), {}}; }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg), {}}; }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg), {}}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const Location& location() const { return loc_; }
  // "file.csv:12: field 'bearing_deg': expected a number in [0, 360), got \"400\"" style text.
  std::string ToString() const;

 private:
  Status(Code c, std::string m, Location l) : code_(c), message_(std::move(m)), loc_(std::move(l)) {}
  Code code_ = Code::kOk;
  std::string message_;
  Location loc_;
};

// A value or the Status that says why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // A failure. An ok Status has no value to give: it becomes an internal error (a Result made so is
  // a bug in the caller), never a Result whose ok() is false while its status() says ok.
  Result(Status status)  // NOLINT(google-explicit-constructor)
      : v_(status.ok() ? Status::Internal("a Result was made from an ok Status and no value")
                       : std::move(status)) {}
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace truce

#define TRUCE_RETURN_IF_ERROR(expr) \
  do {                              \
    ::truce::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)
