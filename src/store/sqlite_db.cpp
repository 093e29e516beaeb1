#include "store/sqlite_db.h"

namespace truce::sqlite {

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s_, nullptr) !=
      SQLITE_OK) {
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
