// A thin RAII layer over SQLite's C API for UserStore: statements, transactions, errors as
// absl::Status. Internal to examples/user_service.
//
//   absl::StatusOr<Statement> q = Statement::Prepare(db, "SELECT name FROM users WHERE id = ?");
//   q->Bind(1, "42");
//   absl::StatusOr<bool> row = q->Step();   // true: a row is ready; false: done
//   if (row.ok() && *row) name = q->Text(0);
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_SQLITE_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace user_service::internal {

// INTERNAL (ALREADY_EXISTS for a constraint violation) with `what` and SQLite's last message.
absl::Status SqliteError(sqlite3* db, absl::string_view what);

// Runs `sql` (one or more statements without parameters).
absl::Status Exec(sqlite3* db, const char* sql);

class Statement {
 public:
  static absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql);
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters count from 1. A failed bind is reported by the next Step.
  void Bind(int index, absl::string_view text);
  void Bind(int index, int64_t value);
  void Bind(int index, double value);
  // True when a row is ready, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps until done (for statements that return no rows).
  absl::Status Run();

  std::string Text(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  bool IsNull(int column) const;

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void Check(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

// A transaction, rolled back on destruction unless committed. A writing one begins IMMEDIATE
// (a writer from the start, so two writers wait for each other rather than deadlock); a reading
// one is a consistent snapshot.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(sqlite3* db, bool write);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace user_service::internal

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_SQLITE_H_
