// A thin RAII layer over SQLite: open a database with durable settings,
// execute statements, step through prepared statements. Errors become
// absl::Status naming the SQL problem. A SqliteDb is not thread-safe by
// itself; its owner serialises access (see NodeRegistry).
#ifndef TVERR_COMMON_STORE_SQLITE_H_
#define TVERR_COMMON_STORE_SQLITE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tverr::store {

class Statement;

class SqliteDb {
 public:
  // Opens (creating if needed) `path` with WAL journaling and
  // synchronous=FULL, so a committed transaction survives power loss.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows.
  absl::Status Exec(absl::string_view sql);
  // Compiles one statement.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // Rows changed by the most recent INSERT/UPDATE/DELETE.
  int64_t Changes();

  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// A prepared statement. Bind indexes are 1-based, column indexes 0-based.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  absl::Status Bind(int index, int64_t value);
  absl::Status Bind(int index, absl::string_view value);
  // Binary data (serialized protos), stored as a BLOB.
  absl::Status BindBlob(int index, absl::string_view bytes);
  // Advances; true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows to completion.
  absl::Status Run();
  absl::Status Reset();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  friend class SqliteDb;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace tverr::store

#endif  // TVERR_COMMON_STORE_SQLITE_H_
