// Remembers the header of every DICOM file already scanned, keyed by path,
// size and modification time, so that re-opening a directory does not
// parse unchanged files again. Stores a hash of the PatientID (see
// DicomHeader::patient_key), never the PatientID itself. Backed by SQLite
// in the cache directory. Thread-safe.
#ifndef TVERR_NODE_DATA_HEADER_INDEX_H_
#define TVERR_NODE_DATA_HEADER_INDEX_H_

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/store/sqlite.h"
#include "node/data/dicom_file.h"

namespace tverr::node {

struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp& a, const FileStamp& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns;
  }
};

class HeaderIndex {
 public:
  // Opens (creating) <dir>/headers.db and loads the rows written under
  // `version` (the header reader's version and the patient-key secret's
  // id): rows from an older reader or another secret are ignored and
  // rewritten.
  static absl::StatusOr<std::unique_ptr<HeaderIndex>> Open(const std::string& dir,
                                                           const std::string& version);

  // The remembered result for `path`, if its stamp is unchanged.
  std::optional<HeaderResult> Find(const std::string& path, const FileStamp& stamp) const;

  // Remembers a result (kept in memory; written by Flush()).
  void Remember(const std::string& path, const FileStamp& stamp, const HeaderResult& result);

  // Writes what was remembered since the last flush, in one transaction.
  absl::Status Flush();

 private:
  struct Row {
    FileStamp stamp;
    HeaderResult result;
  };
  HeaderIndex(std::unique_ptr<store::SqliteDb> db, std::string version)
      : version_(std::move(version)), db_(std::move(db)) {}
  const std::string version_;
  mutable absl::Mutex mu_;
  std::unique_ptr<store::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Row> rows_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Row> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_HEADER_INDEX_H_
