// Durable record of runs and their committed rounds (SQLite, in the
// coordinator's database). A round is committed in one transaction that
// also advances the run's committed_round from round - 1 to round: a round
// can never be committed twice, and after a crash the coordinator resumes
// after the last committed round. Payloads (artifact, weights, optimizer
// state) live in the payload store; only their digests are here.
//
// A committed round is kept whole as a v1::RoundSummary (contributors,
// dropped nodes with reasons, per-site evaluation, timings, secure session)
// in `round_summaries`, so that researchers' reports survive a restart; the
// `rounds` table holds the main figures as columns for sqlite3 queries.
// Rounds committed before the summaries existed come back from the columns.
// Thread-safe.
#ifndef TVERR_COORDINATOR_RUNS_RUN_STORE_H_
#define TVERR_COORDINATOR_RUNS_RUN_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/store/sqlite.h"
#include "tverr/v1/researcher.pb.h"
#include "tverr/v1/run.pb.h"

namespace tverr::coordinator {

struct StoredRun {
  std::string run_id;
  v1::RunSpec spec;
  std::string artifact_sha256;         // hex
  std::string initial_weights_sha256;  // hex
  std::string state;                   // created, running, completed, failed
  std::string failure;
  uint64_t committed_round = 0;
  std::string global_sha256;      // hex, of the last committed model (initial before round 1)
  std::string optimizer_sha256;   // hex, server optimizer state (TVTS), may be empty
};

class RunStore {
 public:
  static absl::StatusOr<std::unique_ptr<RunStore>> Open(std::shared_ptr<store::SqliteDb> db);

  // Records a created run (idempotent for the same id).
  absl::Status Create(const StoredRun& run);
  absl::Status SetState(const std::string& run_id, const std::string& state,
                        const std::string& failure);
  // Commits `round.round()` of `run_id` (its model is
  // round.global_sha256()). FAILED_PRECONDITION if the run's committed_round
  // is not round - 1 (never commits twice).
  absl::Status CommitRound(const std::string& run_id, const v1::RoundSummary& round,
                           const std::string& optimizer_sha256);

  absl::StatusOr<std::vector<StoredRun>> List();
  // The committed rounds of `run_id` in order. DATA_LOSS if a stored
  // summary does not parse or names another round.
  absl::StatusOr<std::vector<v1::RoundSummary>> Rounds(const std::string& run_id);

 private:
  explicit RunStore(std::shared_ptr<store::SqliteDb> db) : db_(std::move(db)) {}
  absl::Mutex mu_;
  std::shared_ptr<store::SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_RUNS_RUN_STORE_H_
