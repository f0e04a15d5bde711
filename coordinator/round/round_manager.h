// Runs the rounds of one training run at the coordinator: selects online
// nodes, publishes the global weights, pushes TrainTasks on the nodes' task
// streams, folds their updates into the round's aggregator as the bytes
// arrive (via BeginUpdate from the upload handler), handles deadlines and
// dropouts through RoundState, and commits the new global model.
//
// Durability goes through the hooks (persist_commit, persist_state); see
// docs/rounds.md. One run at a time.
// Thread-safe: one mutex; Step() is called periodically by a driver
// thread, BeginUpdate/Add/Finish from gRPC handler threads.
#ifndef TVERR_COORDINATOR_ROUND_ROUND_MANAGER_H_
#define TVERR_COORDINATOR_ROUND_ROUND_MANAGER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/crypto/sha256.h"
#include "common/tensor/named_tensors.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/server_optimizer.h"
#include "coordinator/aggregation/streaming_update.h"
#include "coordinator/round/round_state.h"
#include "coordinator/round/update_spool.h"
#include "coordinator/secagg/secagg_server.h"
#include "tverr/v1/audit.pb.h"
#include "tverr/v1/node.pb.h"
#include "tverr/v1/researcher.pb.h"
#include "tverr/v1/run.pb.h"

namespace tverr::coordinator {

// What the manager needs from the rest of the coordinator.
struct RoundManagerHooks {
  // Nodes with an open task stream now (identities).
  std::function<std::vector<std::string>()> online_nodes;
  // Pushes a task on a node's stream.
  std::function<absl::Status(const std::string& node, v1::Task task)> send_task;
  // Makes a payload downloadable by nodes; returns its digest.
  std::function<absl::StatusOr<crypto::Sha256Digest>(v1::PayloadKind, absl::string_view)> publish;
  // Optional: makes a committed round durable (the new model and the
  // optimizer state are already published under their digests). An error
  // fails the round, which is then retried; nothing is committed twice.
  std::function<absl::Status(const std::string& run_id, const struct RoundRecord& record,
                             const std::string& optimizer_sha256)>
      persist_commit;
  // Optional: records the run's state ("running", "completed", "failed").
  std::function<void(const std::string& run_id, const std::string& state,
                     const std::string& failure)>
      persist_state;
  // Optional: appends an audit record; `durable`: on disk before return
  // (the action it records is acknowledged after). An error of a durable
  // record fails the action.
  std::function<absl::Status(v1::AuditRecord record, bool durable)> audit;
  // Optional: after a committed round, a signed tree head of the audit log
  // for the round's receipts.
  std::function<absl::StatusOr<v1::AuditTreeHead>(const std::string& run_id, uint64_t round)>
      close_round;
};

struct RoundRecord {
  uint64_t round = 0;
  std::vector<std::string> contributors;
  std::map<std::string, std::string> dropped;  // node -> reason
  uint64_t samples = 0;
  double mean_train_loss = 0;  // sample-weighted
  std::string global_sha256;   // hex, of the committed TVTS
  // Federated evaluation of the round's model, per site.
  std::map<std::string, v1::EvaluationReport> evaluations;
  bool evaluated = false;
  double pooled_accuracy = 0;  // over all reporting sites' examples
  uint64_t evaluation_samples = 0;
  // Selection to commit (this process), and the longest local training
  // among the contributors (as they reported it).
  double duration_seconds = 0;
  double max_train_seconds = 0;
  // Secure rounds: the session id (hex) every key derivation was bound to.
  std::string secure_session;
};

struct RunProgress {
  std::string run_id;
  std::string state;  // "idle", "running", "paused", "completed", "failed", "aborted"
  std::string failure;
  uint64_t committed_round = 0;
  std::optional<RoundPhase> phase;  // of the round in progress
  // The round in progress, per participant.
  std::optional<v1::RoundProgress> current;
  std::vector<RoundRecord> history;
};

class RoundManager;

// One node's update streaming into the current round. Add/Finish may be
// called from the upload handler's thread; destruction without Finish
// withdraws the update and drops the node from the round.
class UpdateUpload {
 public:
  ~UpdateUpload();
  absl::Status Add(absl::string_view data);
  // `sha256_hex`: the digest of the bytes, for the audit log.
  absl::Status Finish(const std::string& sha256_hex = "");

 private:
  friend class RoundManager;
  UpdateUpload(RoundManager* manager, std::string node, uint64_t round, v1::UpdateInfo info,
               std::unique_ptr<UpdateSpool::Writer> spool)
      : manager_(manager),
        node_(std::move(node)),
        round_(round),
        info_(std::move(info)),
        spool_(std::move(spool)) {}
  RoundManager* manager_;
  std::string node_;
  uint64_t round_;
  v1::UpdateInfo info_;
  std::unique_ptr<UpdateSpool::Writer> spool_;  // null: not spooled
  bool done_ = false;
};

class RoundManager {
 public:
  // `spool` (optional) keeps the round's updates on disk so that a round
  // whose running sum was spoilt by an update that broke off part-way can
  // be rebuilt; without it such a round fails and is retried.
  explicit RoundManager(RoundManagerHooks hooks, std::unique_ptr<UpdateSpool> spool = nullptr)
      : hooks_(std::move(hooks)), spool_(std::move(spool)) {}

  // Starts `spec` (validated, with defaults; `run_id` its id) from
  // `initial` weights; publishes the artifact. FAILED_PRECONDITION while
  // another run is running.
  absl::Status StartRun(const std::string& run_id, const v1::RunSpec& spec,
                        absl::string_view artifact, tensor::TensorList initial, absl::Time now);

  // Continues a run after a restart from its last committed round (the
  // committed model and server optimizer state, and the history so far);
  // `paused` keeps it paused.
  absl::Status Resume(const std::string& run_id, const v1::RunSpec& spec,
                      tensor::TensorList global, ServerOptimizerState optimizer,
                      uint64_t committed_round, std::vector<RoundRecord> history,
                      bool paused = false);

  // Pause: the round in progress finishes (commits or fails), then no new
  // round starts until Continue. Abort: the round in progress is dropped
  // (nothing of it is committed) and the run ends as "aborted"; committed
  // rounds stay. FAILED_PRECONDITION when the run is not in a state that
  // allows it; NOT_FOUND for another run.
  absl::Status Pause(const std::string& run_id);
  absl::Status Continue(const std::string& run_id);
  absl::Status Abort(const std::string& run_id);

  // Advances the run: starts the next round when none is open, applies
  // deadlines, aggregates and commits.
  void Step(absl::Time now);

  // For an upload whose header names a run and round: checks that the node
  // is expected in that round and opens its update. FAILED_PRECONDITION
  // with the reason otherwise (unknown run, closed round, not a
  // participant, duplicate); INVALID_ARGUMENT for a missing sample count.
  absl::StatusOr<std::unique_ptr<UpdateUpload>> BeginUpdate(const std::string& node,
                                                            const v1::TransferHeader& header);

  // A node's evaluation of the round's new model. FAILED_PRECONDITION when
  // the round is not evaluating or did not ask this node.
  absl::Status EvaluationReceived(const std::string& node, const v1::EvaluationReport& report);

  // A node's progress on its task of the round in progress (kept for
  // Progress()). FAILED_PRECONDITION for another run or round, or a node
  // that is not a participant.
  absl::Status ProgressReceived(const std::string& node, const v1::TaskProgress& progress);

  // A node's messages of a secure round (phases 1, 2 and 4; phase 3 is its
  // masked input, an upload). FAILED_PRECONDITION when the round is not
  // secure or not in that phase, or does not expect the node.
  absl::Status SecAggAdvertised(const std::string& node, const v1::SecAggAdvertiseRequest& request);
  absl::Status SecAggSharesReceived(const std::string& node,
                                    const v1::SecAggShareKeysRequest& request);
  absl::Status SecAggUnmaskReceived(const std::string& node, const v1::SecAggUnmaskRequest& request);

  // A node's stream closed: it is dropped from the open round.
  void NodeLost(const std::string& node, absl::Time now);

  RunProgress Progress() const;
  // The current global model (copy).
  tensor::TensorList Global() const;

 private:
  friend class UpdateUpload;
  absl::StatusOr<std::unique_ptr<UpdateUpload>> OpenUpdate(const std::string& node,
                                                           const v1::TransferHeader& header);
  void StartRound(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The open round's next steps that are due (Step's work after the lock).
  void Advance(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Secure rounds: the setup sent with the train tasks, or an error.
  absl::StatusOr<v1::SecAggRoundSetup> SecureSetup(const std::vector<std::string>& participants)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes the key exchange phases when everybody answered or at their
  // deadline.
  void AdvanceSecure(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The unmasking, in the aggregation phase: nullopt while it waits for
  // answers; then the new model or why there is none.
  std::optional<absl::StatusOr<tensor::TensorList>> SecureAggregate(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Nodes of `expected` that have neither answered nor gone.
  bool SecurePhaseComplete() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishRound(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  RoundRecord Record(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `record` durably, or behind the records the log refused.
  void AuditAfterPending(v1::AuditRecord record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The AGGREGATE_COMMITTED record of `record` (the round in progress).
  v1::AuditRecord CommitAuditRecord(const RoundRecord& record) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the records the audit log refused earlier (a commit record and
  // what came after it), in order. False while some are still pending; at
  // most one attempt per kAuditRetryInterval.
  bool RecordPendingCommit(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CommitRound(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndRound(bool committed, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddPiece(const std::string& node, uint64_t round, absl::string_view data);
  absl::Status FinishUpdate(const std::string& node, uint64_t round, const v1::UpdateInfo& info,
                            bool spooled, const std::string& sha256_hex);
  // Appends an audit record (see RoundManagerHooks::audit).
  absl::Status Audit(v1::AuditRecord record, bool durable) const;
  // Drops `node` from the open round with `reason`, audited.
  void DropNode(const std::string& node, const std::string& reason, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the round's receipt (signed tree head) to its contributors.
  void SendReceipts(uint64_t round, const std::vector<std::string>& contributors)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::RoundProgress CurrentRound() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Re-adds the committed updates from the spool after a spoilt sum.
  absl::Status RebuildAggregate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `rejected`: the update was refused (audited as such), not just cut off.
  void AbortUpdate(const std::string& node, uint64_t round, const std::string& reason,
                   bool rejected);

  const RoundManagerHooks hooks_;
  const std::unique_ptr<UpdateSpool> spool_;
  mutable absl::Mutex mu_;
  std::string run_id_ ABSL_GUARDED_BY(mu_);
  v1::RunSpec spec_ ABSL_GUARDED_BY(mu_);
  std::string state_ ABSL_GUARDED_BY(mu_) = "idle";
  std::string failure_ ABSL_GUARDED_BY(mu_);
  tensor::TensorList global_ ABSL_GUARDED_BY(mu_);
  crypto::Sha256Digest global_digest_ ABSL_GUARDED_BY(mu_){};
  ServerOptimizerState optimizer_state_ ABSL_GUARDED_BY(mu_);
  uint64_t committed_round_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t retries_ ABSL_GUARDED_BY(mu_) = 0;
  bool pause_requested_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<RoundRecord> history_ ABSL_GUARDED_BY(mu_);
  // The open round.
  std::unique_ptr<RoundState> round_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Aggregator> aggregator_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<StreamingUpdate>> streams_ ABSL_GUARDED_BY(mu_);
  // Committed updates of the open round: what the node reported with them.
  std::map<std::string, v1::UpdateInfo> contributions_ ABSL_GUARDED_BY(mu_);
  absl::Time round_started_ ABSL_GUARDED_BY(mu_);
  // What each participant of the open round is doing.
  struct Activity {
    v1::TaskProgress last;  // the node's latest report
    // Its latest training counts, kept after training ends.
    uint64_t train_done = 0;
    uint64_t train_total = 0;
    uint64_t upload_done = 0;
    uint64_t upload_total = 0;
  };
  std::map<std::string, Activity> activity_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> spooled_ ABSL_GUARDED_BY(mu_);  // committed updates kept on disk
  // The aggregated model waiting for its evaluation and commit.
  tensor::TensorList next_global_ ABSL_GUARDED_BY(mu_);
  crypto::Sha256Digest next_digest_ ABSL_GUARDED_BY(mu_){};
  std::map<std::string, v1::EvaluationReport> evaluations_ ABSL_GUARDED_BY(mu_);
  // A committed round's audit record the log refused, and the run's end
  // record if it ended then: written before any new round or run starts
  // (RecordPendingCommit); unaudited_reason_ says why for RunProgress.
  std::deque<v1::AuditRecord> unaudited_ ABSL_GUARDED_BY(mu_);
  std::string unaudited_reason_ ABSL_GUARDED_BY(mu_);
  absl::Time next_audit_retry_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Secure aggregation of the open round (null in plain rounds).
  enum class SecurePhase { kAdvertise, kShare, kInput, kUnmask };
  // A node's message of secure phase `phase` (`what`, for errors): refused
  // unless the round waits for it from `node`; `deliver` hands it to the
  // SecAggServer. A refused message drops the node (or, without
  // `drop_on_refusal`, only loses its answer); the round then advances.
  absl::Status SecAggMessage(const std::string& node, const std::string& run_id, uint64_t round,
                             SecurePhase phase, absl::string_view what, bool drop_on_refusal,
                             const std::function<absl::Status(SecAggServer&)>& deliver)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::unique_ptr<SecAggServer> secure_ ABSL_GUARDED_BY(mu_);
  SecurePhase secure_phase_ ABSL_GUARDED_BY(mu_) = SecurePhase::kAdvertise;
  absl::Time secure_deadline_ ABSL_GUARDED_BY(mu_);
  // Who the current phase waits for, who answered, who went away.
  std::set<std::string> secure_expected_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> secure_answered_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> secure_lost_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<SecAggServer::Input>> secure_inputs_ ABSL_GUARDED_BY(mu_);
  uint64_t secure_samples_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t secure_threshold_ ABSL_GUARDED_BY(mu_) = 0;
  // Server optimizer state before this round's aggregation, restored when
  // the round cannot be made durable.
  ServerOptimizerState optimizer_before_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_ROUND_ROUND_MANAGER_H_
