// Incremental pull from a PACS: find the studies matching the node's query
// and retrieve only those not yet complete in the store directory. A
// journal in the store directory (.tverr-pulled-studies) records each study
// once all its instances arrived (durably, after the files), so an
// interrupted pull resumes where it stopped and a repeated pull does not
// burden the PACS again. Not thread-safe for one store directory.
#ifndef TVERR_NODE_DATA_PACS_PULL_H_
#define TVERR_NODE_DATA_PACS_PULL_H_

#include "absl/status/statusor.h"
#include "node/data/pacs_client.h"
#include "tverr/v1/data.pb.h"

namespace tverr::node {

struct PullResult {
  int studies_found = 0;
  // Already complete in the store directory (same instance count).
  int studies_skipped = 0;
  int studies_retrieved = 0;
  int instances_stored = 0;
  int instances_failed = 0;
  // Studies the PACS answered with a failure status (the pull goes on).
  int studies_failed = 0;
  std::string last_error;
};

// An unreachable PACS (UNAVAILABLE, DEADLINE_EXCEEDED) stops the pull;
// a study the PACS fails to deliver is counted and the pull goes on.
// Studies already retrieved stay recorded.
absl::StatusOr<PullResult> PullNewStudies(const v1::PacsSource& source);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_PACS_PULL_H_
