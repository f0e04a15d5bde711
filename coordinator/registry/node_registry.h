// The coordinator's durable record of every node that ever joined: identity,
// certificate fingerprint, first and last seen, software version and
// capabilities. Backed by SQLite; every write is committed before the call
// returns. Thread-safe.
#ifndef TVERR_COORDINATOR_REGISTRY_NODE_REGISTRY_H_
#define TVERR_COORDINATOR_REGISTRY_NODE_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/store/sqlite.h"

namespace tverr::coordinator {

struct NodeEntry {
  std::string identity;
  std::string certificate_sha256;
  absl::Time first_seen;
  absl::Time last_seen;
  std::string software_version;
  std::string capabilities_summary;
  uint64_t join_count = 0;
};

class NodeRegistry {
 public:
  // Opens (creating) the registry tables in `db`.
  static absl::StatusOr<std::unique_ptr<NodeRegistry>> Open(std::shared_ptr<store::SqliteDb> db);

  // Records a join: inserts the node or updates fingerprint, version,
  // capabilities, last_seen and the join count.
  absl::Status RecordJoin(const std::string& identity, const std::string& certificate_sha256,
                          const std::string& software_version,
                          const std::string& capabilities_summary, absl::Time now);

  // Updates last_seen. NOT_FOUND if the node never joined.
  absl::Status RecordSeen(const std::string& identity, absl::Time now);

  // All nodes, ordered by identity.
  absl::StatusOr<std::vector<NodeEntry>> List();

 private:
  explicit NodeRegistry(std::shared_ptr<store::SqliteDb> db) : db_(std::move(db)) {}
  absl::Mutex mu_;
  std::shared_ptr<store::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_REGISTRY_NODE_REGISTRY_H_
