#include "node/data/header_index.h"

#include "common/status/status_macros.h"

namespace tverr::node {

absl::StatusOr<std::unique_ptr<HeaderIndex>> HeaderIndex::Open(const std::string& dir,
                                                               const std::string& version) {
  ASSIGN_OR_RETURN(std::unique_ptr<store::SqliteDb> db,
                   store::SqliteDb::Open(dir + "/headers.db"));
  RETURN_IF_ERROR(db->Exec(R"sql(
    CREATE TABLE IF NOT EXISTS headers_v2 (
      path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, problem INTEGER, message TEXT,
      sop_uid TEXT, study_uid TEXT, xfer TEXT, patient_key TEXT, sex TEXT, age_band TEXT,
      manufacturer TEXT, model TEXT, has_pixels INTEGER, version TEXT);
    DROP TABLE IF EXISTS headers;
  )sql"));
  std::unique_ptr<HeaderIndex> index(new HeaderIndex(std::move(db), version));
  absl::MutexLock lock(&index->mu_);
  ASSIGN_OR_RETURN(store::Statement stmt, index->db_->Prepare(
      "SELECT path, size, mtime_ns, problem, message, sop_uid, study_uid, xfer, patient_key, "
      "sex, age_band, manufacturer, model, has_pixels FROM headers_v2 WHERE version = ?1;"));
  RETURN_IF_ERROR(stmt.Bind(1, version));
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    Row r;
    r.stamp.size = static_cast<uint64_t>(stmt.ColumnInt(1));
    r.stamp.mtime_ns = stmt.ColumnInt(2);
    r.result.problem = static_cast<FileProblem>(stmt.ColumnInt(3));
    r.result.message = stmt.ColumnText(4);
    DicomHeader& h = r.result.header;
    h.sop_instance_uid = stmt.ColumnText(5);
    h.study_instance_uid = stmt.ColumnText(6);
    h.transfer_syntax_uid = stmt.ColumnText(7);
    h.patient_key = stmt.ColumnText(8);
    h.subgroups.sex = stmt.ColumnText(9);
    h.subgroups.age_band = stmt.ColumnText(10);
    h.subgroups.manufacturer = stmt.ColumnText(11);
    h.subgroups.model = stmt.ColumnText(12);
    h.has_pixel_data = stmt.ColumnInt(13) != 0;
    index->rows_[stmt.ColumnText(0)] = std::move(r);
  }
  return index;
}

std::optional<HeaderResult> HeaderIndex::Find(const std::string& path,
                                              const FileStamp& stamp) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = rows_.find(path);
  if (it == rows_.end() || !(it->second.stamp == stamp)) return std::nullopt;
  return it->second.result;
}

void HeaderIndex::Remember(const std::string& path, const FileStamp& stamp,
                           const HeaderResult& result) {
  absl::MutexLock lock(&mu_);
  rows_[path] = Row{stamp, result};
  pending_[path] = Row{stamp, result};
}

absl::Status HeaderIndex::Flush() {
  absl::MutexLock lock(&mu_);
  if (pending_.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(db_->Exec("BEGIN;"));
  ASSIGN_OR_RETURN(store::Statement stmt, db_->Prepare(
      "INSERT OR REPLACE INTO headers_v2 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13, ?14, ?15);"));
  for (const auto& [path, r] : pending_) {
    const DicomHeader& h = r.result.header;
    RETURN_IF_ERROR(stmt.Bind(1, path));
    RETURN_IF_ERROR(stmt.Bind(2, static_cast<int64_t>(r.stamp.size)));
    RETURN_IF_ERROR(stmt.Bind(3, r.stamp.mtime_ns));
    RETURN_IF_ERROR(stmt.Bind(4, static_cast<int64_t>(r.result.problem)));
    RETURN_IF_ERROR(stmt.Bind(5, r.result.message));
    RETURN_IF_ERROR(stmt.Bind(6, h.sop_instance_uid));
    RETURN_IF_ERROR(stmt.Bind(7, h.study_instance_uid));
    RETURN_IF_ERROR(stmt.Bind(8, h.transfer_syntax_uid));
    RETURN_IF_ERROR(stmt.Bind(9, h.patient_key));
    RETURN_IF_ERROR(stmt.Bind(10, h.subgroups.sex));
    RETURN_IF_ERROR(stmt.Bind(11, h.subgroups.age_band));
    RETURN_IF_ERROR(stmt.Bind(12, h.subgroups.manufacturer));
    RETURN_IF_ERROR(stmt.Bind(13, h.subgroups.model));
    RETURN_IF_ERROR(stmt.Bind(14, static_cast<int64_t>(h.has_pixel_data ? 1 : 0)));
    RETURN_IF_ERROR(stmt.Bind(15, version_));
    absl::Status s = stmt.Run();
    if (!s.ok()) {
      (void)db_->Exec("ROLLBACK;");
      return s;
    }
  }
  RETURN_IF_ERROR(db_->Exec("COMMIT;"));
  pending_.clear();
  return absl::OkStatus();
}

}  // namespace tverr::node
