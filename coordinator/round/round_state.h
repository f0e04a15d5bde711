// The life of one training round at the coordinator, as a pure state
// machine: no I/O, no threads, time passed in. The round manager feeds it
// events (updates committed or rejected, nodes lost, evaluations, clock
// ticks) and acts on its phase; tests drive it synchronously.
//
//   kTraining ──(all selected nodes done, or deadline with >= min_nodes)──▶
//   kAggregating ──Aggregated()──▶ kEvaluating (if asked) ──▶ kCommitting
//   ──Committed()──▶ kCommitted
//   any phase ──(too few nodes left / deadline with too few)──▶ kFailed
//
// Selection and distribution happen before the machine starts: it is
// created with the selected participants. A participant that disconnects,
// misses the deadline or sends a rejected update is dropped for the round;
// the round goes on while at least min_nodes can still contribute.
// Not thread-safe: owned by one locking manager.
#ifndef TVERR_COORDINATOR_ROUND_ROUND_STATE_H_
#define TVERR_COORDINATOR_ROUND_ROUND_STATE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tverr::coordinator {

enum class RoundPhase { kTraining, kAggregating, kEvaluating, kCommitting, kCommitted, kFailed };
const char* RoundPhaseName(RoundPhase phase);

struct RoundOptions {
  uint64_t round = 1;
  // Updates needed to aggregate (>= 1).
  uint32_t min_nodes = 1;
  // Deadline of the training phase and of the evaluation phase.
  absl::Duration phase_deadline = absl::Minutes(10);
  // Whether nodes evaluate the new model in this round.
  bool evaluate = false;
};

// Deterministic choice of the round's participants: all of `eligible` when
// `nodes_per_round` is 0 or at least their number, else a sample drawn
// with (seed, round). FAILED_PRECONDITION when fewer than min_nodes are
// eligible.
absl::StatusOr<std::vector<std::string>> SelectParticipants(std::vector<std::string> eligible,
                                                            uint32_t nodes_per_round,
                                                            uint32_t min_nodes, uint64_t seed,
                                                            uint64_t round);

class RoundState {
 public:
  // Starts the training phase at `now` with `participants` (unique).
  RoundState(RoundOptions options, std::vector<std::string> participants, absl::Time now);

  RoundPhase phase() const { return phase_; }
  const std::string& failure() const { return failure_; }
  uint64_t round() const { return options_.round; }

  // True if `node` may still send its update (a participant in kTraining
  // that has neither contributed nor been dropped).
  bool ExpectsUpdate(const std::string& node) const;

  // The node's update was folded and committed. FAILED_PRECONDITION when
  // not expected (not a participant, already contributed, dropped, or the
  // round is past training) — the caller refuses such uploads.
  absl::Status UpdateCommitted(const std::string& node, absl::Time now);

  // The node's update was refused (bad shape, NaN, ...) or the node went
  // away: it is dropped for this round, with `reason` recorded.
  void Drop(const std::string& node, const std::string& reason, absl::Time now);

  // Advances on deadlines.
  void Tick(absl::Time now);

  // The aggregate was computed: to kEvaluating or kCommitting.
  absl::Status Aggregated(absl::Time now);
  // An evaluation report arrived (kEvaluating only; from a contributor).
  absl::Status EvaluationReceived(const std::string& node, absl::Time now);
  // The new model and the round record are durable.
  absl::Status Committed();
  // Any failure of the manager's own work (aggregation error, disk).
  void Fail(const std::string& reason);

  const std::vector<std::string>& participants() const { return participants_; }
  std::vector<std::string> contributors() const;
  // Dropped nodes and why.
  const std::map<std::string, std::string>& dropped() const { return dropped_; }
  std::vector<std::string> evaluated() const;
  absl::Time deadline() const { return deadline_; }

 private:
  enum class NodeState { kWaiting, kContributed, kDropped };
  void CheckTrainingDone(absl::Time now);
  void EnterEvaluationOrCommit(absl::Time now);
  size_t Count(NodeState state) const;

  RoundOptions options_;
  std::vector<std::string> participants_;
  std::map<std::string, NodeState> nodes_;
  std::map<std::string, std::string> dropped_;
  std::map<std::string, bool> evaluations_;
  RoundPhase phase_ = RoundPhase::kTraining;
  std::string failure_;
  absl::Time deadline_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_ROUND_ROUND_STATE_H_
