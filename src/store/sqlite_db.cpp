#include "store/sqlite_db.h"

#include <sys/stat.h>

#include <map>

namespace truce::sqlite {

void WriteTurns::lock(bool background) {
  std::unique_lock lk(mu_);
  if (!background) {
    ++waiting_;
    cv_.wait(lk, [&] { return !held_ && overdue_ == 0; });
    --waiting_;
  } else {
    const auto deadline = std::chrono::steady_clock::now() + kBackgroundGrace;
    bool late = false;
    while (held_ || (waiting_ > 0 && !late)) {
      if (late) {
        cv_.wait(lk);
      } else if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
        late = true;
        ++overdue_;  // foreground writers now let this one go first
      }
    }
    if (late) --overdue_;
  }
  held_ = true;
}

void WriteTurns::unlock() {
  {
    std::lock_guard lk(mu_);
    held_ = false;
  }
  cv_.notify_all();
}

std::shared_ptr<WriteTurns> write_turns_for(const std::string& path) {
  // Keyed by the file's identity (device, inode) when it exists, so two spellings of one path
  // share their turns.
  struct stat st {};
  const std::string key = ::stat(path.c_str(), &st) == 0
                              ? std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)
                              : "path:" + path;
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<WriteTurns>> all;
  std::lock_guard lk(mu);
  for (auto it = all.begin(); it != all.end();) it = it->second.expired() ? all.erase(it) : std::next(it);
  auto& w = all[key];
  auto t = w.lock();
  if (!t) {
    t = std::make_shared<WriteTurns>();
    w = t;
  }
  return t;
}

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s_,
                         nullptr) != SQLITE_OK) {
    err_ = sqlite3_errmsg(db);
    sqlite3_finalize(s_);
    s_ = nullptr;
  }
}

Status exec(sqlite3* db, std::string_view sql) {
  char* msg = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db, s.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Status::IOError("sqlite: " + m);
  }
  return Status::Ok();
}

Status error(sqlite3* db, std::string_view what) {
  return Status::IOError("sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

}  // namespace truce::sqlite
