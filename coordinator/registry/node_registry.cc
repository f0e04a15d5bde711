#include "coordinator/registry/node_registry.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator {

absl::StatusOr<std::unique_ptr<NodeRegistry>> NodeRegistry::Open(
    std::shared_ptr<store::SqliteDb> db) {
  RETURN_IF_ERROR(db->Exec(R"sql(
    CREATE TABLE IF NOT EXISTS nodes (
      identity TEXT PRIMARY KEY,
      certificate_sha256 TEXT NOT NULL,
      first_seen_unix INTEGER NOT NULL,
      last_seen_unix INTEGER NOT NULL,
      software_version TEXT NOT NULL,
      capabilities TEXT NOT NULL,
      join_count INTEGER NOT NULL
    );
  )sql"));
  return std::unique_ptr<NodeRegistry>(new NodeRegistry(std::move(db)));
}

absl::Status NodeRegistry::RecordJoin(const std::string& identity,
                                      const std::string& certificate_sha256,
                                      const std::string& software_version,
                                      const std::string& capabilities_summary, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt, db_->Prepare(R"sql(
    INSERT INTO nodes (identity, certificate_sha256, first_seen_unix, last_seen_unix,
                       software_version, capabilities, join_count)
    VALUES (?1, ?2, ?3, ?3, ?4, ?5, 1)
    ON CONFLICT(identity) DO UPDATE SET
      certificate_sha256 = excluded.certificate_sha256,
      last_seen_unix = excluded.last_seen_unix,
      software_version = excluded.software_version,
      capabilities = excluded.capabilities,
      join_count = join_count + 1;
  )sql"));
  RETURN_IF_ERROR(stmt.Bind(1, identity));
  RETURN_IF_ERROR(stmt.Bind(2, certificate_sha256));
  RETURN_IF_ERROR(stmt.Bind(3, absl::ToUnixSeconds(now)));
  RETURN_IF_ERROR(stmt.Bind(4, software_version));
  RETURN_IF_ERROR(stmt.Bind(5, capabilities_summary));
  return stmt.Run();
}

absl::Status NodeRegistry::RecordSeen(const std::string& identity, absl::Time now) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt,
                   db_->Prepare("UPDATE nodes SET last_seen_unix = ?1 WHERE identity = ?2;"));
  RETURN_IF_ERROR(stmt.Bind(1, absl::ToUnixSeconds(now)));
  RETURN_IF_ERROR(stmt.Bind(2, identity));
  RETURN_IF_ERROR(stmt.Run());
  if (db_->Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("node ", identity, " has never joined"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NodeEntry>> NodeRegistry::List() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt, db_->Prepare(R"sql(
    SELECT identity, certificate_sha256, first_seen_unix, last_seen_unix, software_version,
           capabilities, join_count
    FROM nodes ORDER BY identity;
  )sql"));
  std::vector<NodeEntry> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    NodeEntry e;
    e.identity = stmt.ColumnText(0);
    e.certificate_sha256 = stmt.ColumnText(1);
    e.first_seen = absl::FromUnixSeconds(stmt.ColumnInt(2));
    e.last_seen = absl::FromUnixSeconds(stmt.ColumnInt(3));
    e.software_version = stmt.ColumnText(4);
    e.capabilities_summary = stmt.ColumnText(5);
    e.join_count = static_cast<uint64_t>(stmt.ColumnInt(6));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tverr::coordinator
