#include "examples/user_service/sqlite.h"

#include "absl/strings/str_cat.h"

namespace user_service::internal {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", sqlite3_errmsg(db));
  if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(message);
  }
  return absl::InternalError(message);
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK) return absl::OkStatus();
  absl::Status status = absl::InternalError(absl::StrCat(sql, ": ", error ? error : "?"));
  sqlite3_free(error);
  return status;
}

absl::StatusOr<Statement> Statement::Prepare(sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db, absl::StrCat("preparing ", sql));
  }
  return Statement(db, stmt);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::Check(int rc) {
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void Statement::Bind(int index, absl::string_view text) {
  Check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT));
}

void Statement::Bind(int index, int64_t value) {
  Check(sqlite3_bind_int64(stmt_, index, value));
}

void Statement::Bind(int index, double value) { Check(sqlite3_bind_double(stmt_, index, value)); }

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("binding ", sqlite3_sql(stmt_), ": ",
                                            sqlite3_errstr(bind_error_)));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::StatusOr<Transaction> Transaction::Begin(sqlite3* db, bool write) {
  if (absl::Status s = Exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN"); !s.ok()) return s;
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) Exec(db_, "ROLLBACK").IgnoreError();
}

absl::Status Transaction::Commit() {
  absl::Status status = Exec(db_, "COMMIT");
  if (status.ok()) db_ = nullptr;
  return status;
}

}  // namespace user_service::internal
