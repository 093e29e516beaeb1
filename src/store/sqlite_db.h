// Small RAII wrappers over the SQLite C API, private to the store module.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "truce/core/status.h"

namespace truce::sqlite {

// Whose turn it is to write one database file, among this process's connections to it: taken
// before BEGIN IMMEDIATE and given back after COMMIT or ROLLBACK. Without it two writers of one
// process (the server's group commit and its live fuser) meet in SQLite's busy handler, which
// sleeps in steps of up to 100 ms and lets one writer that commits back to back starve the
// other for seconds. Foreground writers (those acknowledging a client) go first; a background
// writer (fusion) waits for no foreground writer to be waiting, or at most kBackgroundGrace,
// after which it goes next. Other processes still wait in the busy handler. Thread-safe.
class WriteTurns {
 public:
  static constexpr std::chrono::milliseconds kBackgroundGrace{100};
  void lock(bool background);
  void unlock();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;  // under mu_
  int waiting_ = 0;    // foreground writers waiting, under mu_
  int overdue_ = 0;    // background writers waiting past their grace, under mu_
};
// The turns of the file at `path` (one object per file while any connection holds it).
std::shared_ptr<WriteTurns> write_turns_for(const std::string& path);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_), err_(std::move(o.err_)) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    std::swap(err_, o.err_);
    return *this;
  }
  bool ok() const { return s_ != nullptr; }
  const std::string& error() const { return err_; }
  sqlite3_stmt* get() const { return s_; }

  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // The text must stay alive until the statement is stepped.
  void bind_static(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void bind_blob(int i, const void* p, int n) { sqlite3_bind_blob(s_, i, p, n, SQLITE_TRANSIENT); }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }
  void bind(int i, const std::optional<double>& v) { v ? bind(i, *v) : bind_null(i); }

  int step() { return sqlite3_step(s_); }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::int64_t col_int(int i) const { return sqlite3_column_int64(s_, i); }
  double col_double(int i) const { return sqlite3_column_double(s_, i); }
  bool col_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
  std::optional<double> col_opt(int i) const {
    return col_null(i) ? std::nullopt : std::optional<double>(col_double(i));
  }
  std::string col_text(int i) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::string_view col_blob(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string_view();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  std::string err_;
};

// Runs one or more statements without results.
Status exec(sqlite3* db, std::string_view sql);
Status error(sqlite3* db, std::string_view what);

}  // namespace truce::sqlite
