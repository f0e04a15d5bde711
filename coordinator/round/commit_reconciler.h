// A round is committed in SQLite first and then recorded in the audit log
// (AGGREGATE_COMMITTED, durable) before anything acts on it. A crash between
// the two leaves a committed round the log does not show; at start the
// coordinator writes the missing record from what SQLite kept of the round
// (RunStore's round summary), so that the log shows every committed round
// exactly once. Every committed round of every run is checked (a log that
// lost records for other reasons gets them back too, marked as written at
// start).
#ifndef TVERR_COORDINATOR_ROUND_COMMIT_RECONCILER_H_
#define TVERR_COORDINATOR_ROUND_COMMIT_RECONCILER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/audit/audit_log.h"
#include "coordinator/runs/run_store.h"

namespace tverr::coordinator {

struct ReconciledRound {
  std::string run_id;
  uint64_t round = 0;
};

// Appends (durably) the AGGREGATE_COMMITTED record of each committed round
// that `log` does not hold, in round order, with the parameter
// "recorded_at_start" = "true". Returns the rounds it recorded. DATA_LOSS
// if a record of the log does not parse (naming the log and how to check
// it); the store's and the log's errors otherwise.
absl::StatusOr<std::vector<ReconciledRound>> RecordMissingCommits(RunStore& runs,
                                                                  audit::AuditLog& log);

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_ROUND_COMMIT_RECONCILER_H_
