#include "coordinator/round/round_manager.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"
#include "common/secagg/protocol.h"
#include "common/secagg/quantizer.h"
#include "coordinator/aggregation/aggregator_factory.h"
#include "coordinator/aggregation/streaming_update.h"
#include "coordinator/round/round_audit.h"

namespace tverr::coordinator {
namespace {

// How often an audit record the log refused is tried again.
constexpr absl::Duration kAuditRetryInterval = absl::Seconds(5);

}  // namespace

UpdateUpload::~UpdateUpload() {
  if (!done_) manager_->AbortUpdate(node_, round_, "the upload broke off", /*rejected=*/false);
}

absl::Status UpdateUpload::Add(absl::string_view data) {
  if (spool_ != nullptr) {
    if (absl::Status s = spool_->Append(data); !s.ok()) {
      // The update still counts; only a rebuild could not use it.
      LOG(WARNING) << "cannot spool the update of " << node_ << ": " << s.message();
      spool_.reset();
    }
  }
  absl::Status s = manager_->AddPiece(node_, round_, data);
  if (!s.ok()) {
    done_ = true;
    manager_->AbortUpdate(node_, round_, absl::StrCat("update rejected: ", s.message()),
                          /*rejected=*/true);
  }
  return s;
}

absl::Status UpdateUpload::Finish(const std::string& sha256_hex) {
  done_ = true;
  bool spooled = false;
  if (spool_ != nullptr) {
    absl::Status kept = spool_->Keep();
    if (!kept.ok()) LOG(WARNING) << "cannot spool the update of " << node_ << ": " << kept.message();
    spooled = kept.ok();
  }
  return manager_->FinishUpdate(node_, round_, info_, spooled, sha256_hex);
}

absl::Status RoundManager::StartRun(const std::string& run_id, const v1::RunSpec& spec,
                                    absl::string_view artifact, tensor::TensorList initial,
                                    absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (state_ == "running") {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id_, " is still running"));
  }
  if (!RecordPendingCommit(now)) {
    return absl::FailedPreconditionError(absl::StrCat(
        unaudited_reason_, " (run ", run_id_, "); no new run starts before the log takes it"));
  }
  RETURN_IF_ERROR(tensor::ValidateTensorList(initial));
  ASSIGN_OR_RETURN(crypto::Sha256Digest artifact_digest,
                   hooks_.publish(v1::PAYLOAD_KIND_MODEL_ARTIFACT, artifact));
  if (crypto::ToHex(artifact_digest) != spec.artifact_sha256()) {
    return absl::InvalidArgumentError("the artifact does not match the spec's artifact_sha256");
  }
  ASSIGN_OR_RETURN(global_digest_,
                   hooks_.publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, tensor::Encode(initial)));
  RETURN_IF_ERROR(Audit(round_audit::PrivacyParameters(run_id, spec), true));
  run_id_ = run_id;
  spec_ = spec;
  global_ = std::move(initial);
  optimizer_state_ = ServerOptimizerState{};
  committed_round_ = 0;
  retries_ = 0;
  history_.clear();
  state_ = "running";
  pause_requested_ = false;
  failure_.clear();
  if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, "");
  LOG(INFO) << "run " << run_id_.substr(0, 12) << " started: " << spec_.rounds().rounds()
            << " rounds";
  StartRound(now);
  return absl::OkStatus();
}

absl::Status RoundManager::Resume(const std::string& run_id, const v1::RunSpec& spec,
                                  tensor::TensorList global, ServerOptimizerState optimizer,
                                  uint64_t committed_round, std::vector<RoundRecord> history,
                                  bool paused) {
  absl::MutexLock lock(&mu_);
  if (state_ == "running") {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id_, " is running"));
  }
  RETURN_IF_ERROR(tensor::ValidateTensorList(global));
  ASSIGN_OR_RETURN(global_digest_,
                   hooks_.publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, tensor::Encode(global)));
  run_id_ = run_id;
  spec_ = spec;
  global_ = std::move(global);
  optimizer_state_ = std::move(optimizer);
  committed_round_ = committed_round;
  history_ = std::move(history);
  retries_ = 0;
  failure_.clear();
  state_ = committed_round_ >= spec_.rounds().rounds() ? "completed"
           : paused                                    ? "paused"
                                                       : "running";
  pause_requested_ = false;
  round_.reset();
  LOG(INFO) << "run " << run_id_.substr(0, 12) << " resumed after round " << committed_round_;
  return absl::OkStatus();
}

void RoundManager::StartRound(absl::Time now) {
  const uint64_t round = committed_round_ + 1;
  uint32_t per_round = spec_.rounds().nodes_per_round();
  if (spec_.secure_aggregation() && (per_round == 0 || per_round > spec_.secure().max_nodes())) {
    per_round = spec_.secure().max_nodes();  // the sum's headroom
  }
  absl::StatusOr<std::vector<std::string>> participants =
      SelectParticipants(hooks_.online_nodes(), per_round, spec_.rounds().min_nodes(),
                         spec_.seed(), round);
  if (!participants.ok()) {
    VLOG(1) << "round " << round << " waits: " << participants.status().message();
    return;  // Step() tries again
  }
  absl::StatusOr<std::unique_ptr<Aggregator>> aggregator =
      MakeAggregator(spec_.aggregation(), &optimizer_state_);
  if (!aggregator.ok() || !(*aggregator)->Begin(global_).ok()) {
    state_ = "failed";
    failure_ = absl::StrCat("cannot start aggregation: ", aggregator.status().message());
    return;
  }
  aggregator_ = std::move(*aggregator);
  secure_.reset();
  secure_inputs_.clear();
  secure_expected_.clear();
  secure_answered_.clear();
  secure_lost_.clear();
  secure_samples_ = 0;
  std::optional<v1::SecAggRoundSetup> setup;
  if (spec_.secure_aggregation()) {
    absl::StatusOr<v1::SecAggRoundSetup> made = SecureSetup(*participants);
    uint64_t elements = 0;
    for (const tensor::NamedTensor& t : global_) elements += t.values.size();
    absl::StatusOr<std::unique_ptr<SecAggServer>> server =
        made.ok() ? SecAggServer::Create(run_id_, round, global_digest_, *made, elements)
                  : absl::StatusOr<std::unique_ptr<SecAggServer>>(made.status());
    if (!server.ok()) {
      state_ = "failed";
      failure_ = absl::StrCat("cannot start secure aggregation: ", server.status().message());
      if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, failure_);
      return;
    }
    setup = *made;
    secure_threshold_ = made->threshold();
    secure_ = std::move(*server);
    secure_phase_ = SecurePhase::kAdvertise;
    secure_deadline_ = now + absl::Seconds(spec_.rounds().phase_deadline_seconds());
    secure_expected_ = std::set<std::string>(participants->begin(), participants->end());
  }
  RoundOptions options;
  options.round = round;
  options.min_nodes = spec_.rounds().min_nodes();
  options.phase_deadline = absl::Seconds(spec_.rounds().phase_deadline_seconds());
  const uint32_t every = spec_.rounds().evaluate_every();
  options.evaluate = round == spec_.rounds().rounds() || (every > 0 && round % every == 0);
  round_ = std::make_unique<RoundState>(options, *participants, now);
  round_started_ = now;
  activity_.clear();
  streams_.clear();
  contributions_.clear();
  spooled_.clear();
  if (spool_ != nullptr) spool_->Clear();
  evaluations_.clear();
  for (const std::string& node : *participants) {
    v1::Task task;
    task.set_task_id(absl::StrCat("train-", run_id_.substr(0, 12), "-", round, "-", node));
    v1::TrainTask* train = task.mutable_train();
    train->set_run_id(run_id_);
    *train->mutable_spec() = spec_;
    train->set_round(round);
    train->mutable_global_weights()->set_digest(
        std::string(crypto::AsStringView(global_digest_)));
    train->set_round_seed(spec_.seed() * 1000003 + round);
    train->set_deadline_unix_millis(absl::ToUnixMillis(round_->deadline()));
    if (setup) {
      *train->mutable_secure() = *setup;
      for (const v1::SecAggParticipant& p : setup->participants()) {
        if (p.node() == node) train->mutable_secure()->set_my_index(p.index());
      }
    }
    if (absl::Status s = hooks_.send_task(node, std::move(task)); !s.ok()) {
      DropNode(node, absl::StrCat("could not send the task: ", s.message()), now);
      secure_lost_.insert(node);
    }
  }
  (void)Audit(round_audit::RoundOpened(run_id_, round, *participants,
                                       crypto::ToHex(global_digest_),
                                       setup ? setup->threshold() : 0),
              false);
  LOG(INFO) << "round " << round << " started with " << participants->size() << " node(s)"
            << (setup ? absl::StrCat(", secure aggregation with threshold ", setup->threshold())
                      : "");
}

absl::StatusOr<v1::SecAggRoundSetup> RoundManager::SecureSetup(
    const std::vector<std::string>& participants) {
  std::vector<std::string> sorted = participants;
  std::sort(sorted.begin(), sorted.end());
  v1::SecAggRoundSetup setup;
  for (size_t i = 0; i < sorted.size(); ++i) {
    v1::SecAggParticipant* p = setup.add_participants();
    p->set_node(sorted[i]);
    p->set_index(static_cast<uint32_t>(i + 1));
  }
  setup.set_threshold(secagg::Threshold(static_cast<uint32_t>(sorted.size()),
                                        spec_.secure().threshold_fraction()));
  v1::SecureAggregationParams* params = setup.mutable_params();
  params->set_clip(spec_.secure().clip());
  params->set_bits(spec_.secure().bits());
  params->set_max_nodes(spec_.secure().max_nodes());
  setup.set_neighbours(spec_.secure().neighbours());
  RETURN_IF_ERROR(secagg::CheckParams(*params));
  return setup;
}

bool RoundManager::SecurePhaseComplete() const {
  for (const std::string& node : secure_expected_) {
    if (!secure_answered_.count(node) && !secure_lost_.count(node)) return false;
  }
  return true;
}

void RoundManager::AdvanceSecure(absl::Time now) {
  if (secure_phase_ != SecurePhase::kAdvertise && secure_phase_ != SecurePhase::kShare) return;
  if (!SecurePhaseComplete() && now < secure_deadline_) return;
  const bool advertise = secure_phase_ == SecurePhase::kAdvertise;
  std::set<std::string> next;
  for (const std::string& node : secure_expected_) {
    if (secure_answered_.count(node) && !secure_lost_.count(node)) {
      next.insert(node);
    } else if (!secure_lost_.count(node)) {
      DropNode(node,
                   advertise ? "did not advertise its keys in time" : "did not share its keys in time",
                   now);
    }
  }
  const std::string round_text = absl::StrCat(run_id_.substr(0, 12), "-", round_->round());
  if (advertise) {
    absl::StatusOr<v1::SecAggKeysTask> keys = secure_->CloseAdvertise();
    if (!keys.ok()) {
      round_->Fail(absl::StrCat("secure aggregation: ", keys.status().message()));
      return;
    }
    for (const std::string& node : next) {
      v1::Task task;
      task.set_task_id(absl::StrCat("secagg-keys-", round_text, "-", node));
      *task.mutable_secagg_keys() = *keys;
      if (absl::Status s = hooks_.send_task(node, std::move(task)); !s.ok()) {
        DropNode(node, absl::StrCat("could not send the keys: ", s.message()), now);
        secure_lost_.insert(node);
      }
    }
    secure_phase_ = SecurePhase::kShare;
  } else {
    absl::StatusOr<std::map<std::string, v1::SecAggSharesTask>> shares = secure_->CloseSharing();
    if (!shares.ok()) {
      round_->Fail(absl::StrCat("secure aggregation: ", shares.status().message()));
      return;
    }
    for (auto& [node, shares_task] : *shares) {
      v1::Task task;
      task.set_task_id(absl::StrCat("secagg-shares-", round_text, "-", node));
      *task.mutable_secagg_shares() = std::move(shares_task);
      if (absl::Status s = hooks_.send_task(node, std::move(task)); !s.ok()) {
        DropNode(node, absl::StrCat("could not send the shares: ", s.message()), now);
        secure_lost_.insert(node);
      }
    }
    secure_phase_ = SecurePhase::kInput;
  }
  secure_expected_ = std::move(next);
  secure_answered_.clear();
  secure_deadline_ = now + absl::Seconds(spec_.rounds().phase_deadline_seconds());
}

std::optional<absl::StatusOr<tensor::TensorList>> RoundManager::SecureAggregate(absl::Time now) {
  if (secure_phase_ != SecurePhase::kUnmask) {
    // The training phase is over: close the masked inputs, ask for shares.
    secure_inputs_.clear();
    if (secure_->needs_rebuild()) {
      if (spool_ == nullptr) {
        return absl::StatusOr<tensor::TensorList>(absl::FailedPreconditionError(
            "a masked input broke off part-way and no update spool is configured"));
      }
      secure_->ResetSum();
      for (const std::string& node : secure_->committed_inputs()) {
        absl::StatusOr<std::unique_ptr<SecAggServer::Input>> input = secure_->BeginInput(node);
        absl::Status s = input.status();
        if (s.ok()) {
          s = spool_->Read(node, round_->round(), 4 << 20,
                           [&](absl::string_view piece) { return (*input)->Add(piece); });
        }
        if (s.ok()) s = (*input)->Commit();
        if (!s.ok()) {
          return absl::StatusOr<tensor::TensorList>(absl::Status(
              s.code(), absl::StrCat("cannot rebuild the masked sum: ", s.message())));
        }
      }
    }
    absl::StatusOr<std::map<std::string, v1::SecAggUnmaskTask>> tasks = secure_->CloseInput();
    if (!tasks.ok()) return absl::StatusOr<tensor::TensorList>(tasks.status());
    secure_expected_.clear();
    secure_answered_.clear();
    for (auto& [node, unmask] : *tasks) {
      secure_expected_.insert(node);
      v1::Task task;
      task.set_task_id(absl::StrCat("secagg-unmask-", run_id_.substr(0, 12), "-",
                                    round_->round(), "-", node));
      *task.mutable_secagg_unmask() = std::move(unmask);
      if (absl::Status s = hooks_.send_task(node, std::move(task)); !s.ok()) {
        secure_lost_.insert(node);
      }
    }
    secure_phase_ = SecurePhase::kUnmask;
    secure_deadline_ = now + absl::Seconds(spec_.rounds().phase_deadline_seconds());
  }
  if (!SecurePhaseComplete() && now < secure_deadline_) return std::nullopt;
  absl::StatusOr<SecureSum> sum = secure_->Finish();
  if (!sum.ok()) return absl::StatusOr<tensor::TensorList>(sum.status());
  if (sum->samples == 0) {
    return absl::StatusOr<tensor::TensorList>(
        absl::DataLossError("the secure sum holds no training examples"));
  }
  // Back to the model's tensors, then the run's server step on the sum.
  std::vector<std::vector<double>> numerator;
  size_t offset = 0;
  for (const tensor::NamedTensor& t : global_) {
    if (offset + t.values.size() > sum->weighted_sum.size()) {
      return absl::StatusOr<tensor::TensorList>(
          absl::InternalError("the secure sum is shorter than the model"));
    }
    numerator.emplace_back(sum->weighted_sum.begin() + static_cast<ptrdiff_t>(offset),
                           sum->weighted_sum.begin() +
                               static_cast<ptrdiff_t>(offset + t.values.size()));
    offset += t.values.size();
  }
  absl::StatusOr<ServerOptimizerParams> params = ServerOptimizerParamsFor(spec_.aggregation());
  if (!params.ok()) return absl::StatusOr<tensor::TensorList>(params.status());
  ServerOptimizer optimizer(*params, &optimizer_state_);
  if (absl::Status s = optimizer.CheckState(tensor::LayoutOf(global_)); !s.ok()) {
    return absl::StatusOr<tensor::TensorList>(s);
  }
  tensor::TensorList model = global_;
  if (absl::Status s = optimizer.Apply(numerator, static_cast<double>(sum->samples), &model);
      !s.ok()) {
    return absl::StatusOr<tensor::TensorList>(s);
  }
  secure_samples_ = sum->samples;
  (void)Audit(round_audit::SecureSession(run_id_, round_->round(),
                                         crypto::ToHex(secure_->session_id()),
                                         secure_threshold_, sum->contributors, sum->samples),
              false);
  LOG(INFO) << "round " << round_->round() << ": secure sum of " << sum->contributors.size()
            << " masked input(s) unmasked, " << sum->samples << " samples, session "
            << crypto::ToHex(secure_->session_id()).substr(0, 16);
  return absl::StatusOr<tensor::TensorList>(std::move(model));
}

absl::Status RoundManager::Pause(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  if (run_id != run_id_) return absl::NotFoundError(absl::StrCat("run ", run_id, " is not active"));
  if (state_ != "running") {
    return absl::FailedPreconditionError(absl::StrCat("the run is ", state_));
  }
  if (round_ == nullptr) {
    state_ = "paused";
    if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, "");
  } else {
    pause_requested_ = true;  // after the round in progress
  }
  return absl::OkStatus();
}

absl::Status RoundManager::Continue(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  if (run_id != run_id_) return absl::NotFoundError(absl::StrCat("run ", run_id, " is not active"));
  if (state_ != "paused" && !(state_ == "running" && pause_requested_)) {
    return absl::FailedPreconditionError(absl::StrCat("the run is ", state_, ", not paused"));
  }
  pause_requested_ = false;
  state_ = "running";
  if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, "");
  return absl::OkStatus();
}

absl::Status RoundManager::Abort(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  if (run_id != run_id_) return absl::NotFoundError(absl::StrCat("run ", run_id, " is not active"));
  if (state_ != "running" && state_ != "paused") {
    return absl::FailedPreconditionError(absl::StrCat("the run is already ", state_));
  }
  streams_.clear();
  round_.reset();
  aggregator_.reset();
  contributions_.clear();
  spooled_.clear();
  evaluations_.clear();
  secure_inputs_.clear();
  secure_.reset();
  if (spool_ != nullptr) spool_->Clear();
  pause_requested_ = false;
  state_ = "aborted";
  failure_ = "aborted by a researcher";
  if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, failure_);
  LOG(INFO) << "run " << run_id_.substr(0, 12) << " aborted after round " << committed_round_;
  return absl::OkStatus();
}

void RoundManager::Step(absl::Time now) {
  absl::MutexLock lock(&mu_);
  Advance(now);
}

void RoundManager::Advance(absl::Time now) {
  if (!RecordPendingCommit(now)) return;
  if (state_ != "running") return;
  if (round_ == nullptr) {
    if (pause_requested_) {
      pause_requested_ = false;
      state_ = "paused";
      if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, "");
      return;
    }
    StartRound(now);
    return;
  }
  round_->Tick(now);
  if (secure_ != nullptr && round_->phase() == RoundPhase::kTraining) AdvanceSecure(now);
  if (round_->phase() == RoundPhase::kAggregating) FinishRound(now);
  if (round_->phase() == RoundPhase::kCommitting) CommitRound(now);
  if (round_ != nullptr && round_->phase() == RoundPhase::kFailed) EndRound(false, now);
}

void RoundManager::FinishRound(absl::Time now) {
  // Updates still open belong to nodes the round no longer waits for.
  streams_.clear();
  optimizer_before_ = optimizer_state_;
  absl::StatusOr<tensor::TensorList> next = absl::UnknownError("not aggregated");
  if (secure_ != nullptr) {
    std::optional<absl::StatusOr<tensor::TensorList>> unmasked = SecureAggregate(now);
    if (!unmasked.has_value()) return;  // waiting for the unmask answers
    next = std::move(*unmasked);
    if (!next.ok()) {
      optimizer_state_ = optimizer_before_;
      round_->Fail(absl::StrCat("secure aggregation failed: ", next.status().message()));
      return;
    }
  } else {
    next = aggregator_->Finish();
  }
  if (absl::IsAborted(next.status())) {
    // An update broke off after part of it had been folded: add the
    // committed updates again from the spool.
    LOG(WARNING) << "round " << round_->round() << ": " << next.status().message();
    if (absl::Status rebuilt = RebuildAggregate(); !rebuilt.ok()) {
      round_->Fail(absl::StrCat("aggregation failed: ", next.status().message(),
                                "; the rebuild failed: ", rebuilt.message()));
      return;
    }
    next = aggregator_->Finish();
  }
  if (!next.ok()) {
    round_->Fail(absl::StrCat("aggregation failed: ", next.status().message()));
    return;
  }
  absl::StatusOr<crypto::Sha256Digest> digest =
      hooks_.publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, tensor::Encode(*next));
  if (!digest.ok()) {
    round_->Fail(absl::StrCat("cannot store the new model: ", digest.status().message()));
    return;
  }
  next_global_ = std::move(*next);
  next_digest_ = *digest;
  (void)round_->Aggregated(now);
  if (round_->phase() != RoundPhase::kEvaluating) return;
  // Every contributor evaluates the new model on its validation split.
  for (const std::string& node : round_->contributors()) {
    v1::Task task;
    task.set_task_id(absl::StrCat("evaluate-", run_id_.substr(0, 12), "-", round_->round(), "-",
                                  node));
    v1::EvaluateTask* eval = task.mutable_evaluate();
    eval->set_run_id(run_id_);
    *eval->mutable_spec() = spec_;
    eval->set_round(round_->round());
    eval->mutable_global_weights()->set_digest(std::string(crypto::AsStringView(next_digest_)));
    eval->set_deadline_unix_millis(absl::ToUnixMillis(round_->deadline()));
    if (absl::Status s = hooks_.send_task(node, std::move(task)); !s.ok()) {
      DropNode(node, absl::StrCat("could not send the evaluation: ", s.message()), now);
    }
  }
}

absl::Status RoundManager::RebuildAggregate() {
  if (spool_ == nullptr) return absl::FailedPreconditionError("no update spool is configured");
  const std::vector<std::string> nodes = aggregator_->committed_nodes();
  for (const std::string& node : nodes) {
    if (!spooled_.count(node)) {
      return absl::FailedPreconditionError(absl::StrCat("the update of ", node, " was not spooled"));
    }
  }
  RETURN_IF_ERROR(aggregator_->Begin(global_));
  for (const std::string& node : nodes) {
    ASSIGN_OR_RETURN(std::unique_ptr<StreamingUpdate> stream,
                     StreamingUpdate::Start(*aggregator_, node,
                                          static_cast<double>(contributions_.at(node).samples())));
    RETURN_IF_ERROR(spool_->Read(node, round_->round(), 4 << 20,
                                 [&](absl::string_view piece) { return stream->Add(piece); }));
    RETURN_IF_ERROR(stream->Commit());
  }
  LOG(INFO) << "round " << round_->round() << ": aggregate rebuilt from " << nodes.size()
            << " spooled update(s)";
  return absl::OkStatus();
}

// What the round in progress is to be recorded as (its model digest is for
// the caller to set): the same record is committed to the store and kept in
// the history.
RoundRecord RoundManager::Record(absl::Time now) const {
  RoundRecord record;
  record.round = round_->round();
  record.contributors = round_->contributors();
  record.dropped = round_->dropped();
  record.duration_seconds = absl::ToDoubleSeconds(now - round_started_);
  double loss = 0;
  for (const auto& [node, c] : contributions_) {
    record.samples += c.samples();
    loss += static_cast<double>(c.samples()) * c.train_loss();
    record.max_train_seconds = std::max(record.max_train_seconds, c.train_seconds());
  }
  if (secure_ != nullptr) {
    record.samples = secure_samples_;  // only the sum is known
    if (secure_phase_ != SecurePhase::kAdvertise) {
      record.secure_session = crypto::ToHex(secure_->session_id());
    }
  }
  if (record.samples > 0) record.mean_train_loss = loss / static_cast<double>(record.samples);
  record.evaluations = evaluations_;
  double correct = 0;
  for (const auto& [node, e] : evaluations_) {
    record.evaluation_samples += e.samples();
    correct += e.accuracy() * static_cast<double>(e.samples());
  }
  if (record.evaluation_samples > 0) {
    record.evaluated = true;
    record.pooled_accuracy = correct / static_cast<double>(record.evaluation_samples);
  }
  return record;
}

void RoundManager::AuditAfterPending(v1::AuditRecord record) {
  if (!unaudited_.empty()) {
    unaudited_.push_back(std::move(record));
    return;
  }
  (void)Audit(std::move(record), true);
}

v1::AuditRecord RoundManager::CommitAuditRecord(const RoundRecord& record) const {
  return round_audit::AggregateCommitted(run_id_, record.round, crypto::ToHex(global_digest_),
                                         record.global_sha256, record.contributors,
                                         record.samples, spec_, record.evaluated,
                                         record.pooled_accuracy, evaluations_);
}

bool RoundManager::RecordPendingCommit(absl::Time now) {
  if (unaudited_.empty()) return true;
  if (now < next_audit_retry_) return false;
  next_audit_retry_ = now + kAuditRetryInterval;
  while (!unaudited_.empty()) {
    if (!Audit(unaudited_.front(), true).ok()) return false;
    unaudited_.pop_front();
  }
  LOG(INFO) << "the audit log has taken the records it refused; the run goes on";
  unaudited_reason_.clear();
  return true;
}

void RoundManager::CommitRound(absl::Time now) {
  RoundRecord record = Record(now);
  record.global_sha256 = crypto::ToHex(next_digest_);
  // The commit is made durable (the optimizer state next to the model, then
  // the round row, which refuses a second commit of the same round), then
  // the audit record; nothing acts on the commit before both. A crash in
  // between leaves a committed round the log does not show: the coordinator
  // writes its record when it starts again (commit_reconciler.h), so the
  // log never shows a round committed twice.
  if (hooks_.persist_commit) {
    std::string optimizer_hex;
    if (!optimizer_state_.m.empty() || !optimizer_state_.v.empty()) {
      absl::StatusOr<std::string> encoded = EncodeServerOptimizerState(optimizer_state_);
      absl::StatusOr<crypto::Sha256Digest> digest =
          encoded.ok() ? hooks_.publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, *encoded)
                       : absl::StatusOr<crypto::Sha256Digest>(encoded.status());
      if (!digest.ok()) {
        optimizer_state_ = optimizer_before_;
        round_->Fail(absl::StrCat("cannot store the optimizer state: ", digest.status().message()));
        return;
      }
      optimizer_hex = crypto::ToHex(*digest);
    }
    if (absl::Status s = hooks_.persist_commit(run_id_, record, optimizer_hex); !s.ok()) {
      optimizer_state_ = optimizer_before_;
      round_->Fail(absl::StrCat("cannot record the commit: ", s.message()));
      return;
    }
  }
  v1::AuditRecord commit_record = CommitAuditRecord(record);
  const absl::Status audited = Audit(commit_record, true);
  if (!audited.ok()) {
    // Committed but not in the log: no receipts, no further round until the
    // record is written (retried at every step; a restart writes it too).
    LOG(ERROR) << "round " << record.round << " is committed but the audit log cannot record it ("
               << audited.message() << "); no new round starts until it does. It is tried "
               << "again every " << absl::FormatDuration(kAuditRetryInterval)
               << "; after a failed fsync the log takes no more writes and only a restart of "
               << "the coordinator writes the record";
    unaudited_.push_back(std::move(commit_record));
    unaudited_reason_ = absl::StrCat("waiting for the audit log to record round ", record.round,
                                     "'s commit: ", audited.message());
    next_audit_retry_ = now + kAuditRetryInterval;
  }
  global_ = std::move(next_global_);
  global_digest_ = next_digest_;
  (void)round_->Committed();
  EndRound(true, now);
}

absl::Status RoundManager::EvaluationReceived(const std::string& node,
                                              const v1::EvaluationReport& report) {
  absl::MutexLock lock(&mu_);
  if (state_ != "running" || report.run_id() != run_id_ || round_ == nullptr ||
      report.round() != round_->round()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no evaluation of run ", report.run_id(), " round ", report.round(), " is open"));
  }
  if (report.samples() > 1000000000 || !(report.accuracy() >= 0 && report.accuracy() <= 1)) {
    return absl::InvalidArgumentError("evaluation report with implausible numbers");
  }
  RETURN_IF_ERROR(round_->EvaluationReceived(node, absl::Now()));
  RETURN_IF_ERROR(Audit(round_audit::EvaluationReported(run_id_, report.round(), node, report), true));
  evaluations_[node] = report;
  return absl::OkStatus();
}

void RoundManager::EndRound(bool committed, absl::Time now) {
  RoundRecord record = Record(now);
  if (committed) {
    record.global_sha256 = crypto::ToHex(global_digest_);
    committed_round_ = record.round;
    retries_ = 0;
    history_.push_back(record);
    LOG(INFO) << "round " << record.round << " committed: " << record.contributors.size()
              << " update(s), " << record.samples << " samples, " << record.dropped.size()
              << " dropped"
              << (record.evaluated ? absl::StrCat(", pooled validation accuracy ",
                                                  record.pooled_accuracy)
                                   : "");
    if (committed_round_ >= spec_.rounds().rounds()) {
      state_ = "completed";
      if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, "");
      AuditAfterPending(round_audit::RunEnded(run_id_, state_, ""));
    }
    if (unaudited_.empty()) SendReceipts(record.round, record.contributors);
  } else {
    LOG(WARNING) << "round " << record.round << " failed: " << round_->failure();
    (void)Audit(round_audit::RoundFailed(run_id_, record.round, round_->failure()), false);
    if (++retries_ > spec_.rounds().max_retries()) {
      state_ = "failed";
      failure_ = absl::StrCat("round ", record.round, " failed: ", round_->failure());
      if (hooks_.persist_state) hooks_.persist_state(run_id_, state_, failure_);
      AuditAfterPending(round_audit::RunEnded(run_id_, state_, failure_));
    }
  }
  round_.reset();
  aggregator_.reset();
  streams_.clear();
  contributions_.clear();
  spooled_.clear();
  evaluations_.clear();
  activity_.clear();
  secure_inputs_.clear();
  secure_.reset();
  if (spool_ != nullptr) spool_->Clear();
}

absl::StatusOr<std::unique_ptr<UpdateUpload>> RoundManager::BeginUpdate(
    const std::string& node, const v1::TransferHeader& header) {
  absl::StatusOr<std::unique_ptr<UpdateUpload>> opened = OpenUpdate(node, header);
  if (!opened.ok()) {
    (void)Audit(round_audit::UpdateRejected(header.run_id(), header.round(), node,
                                            std::string(opened.status().message())),
                false);
  }
  return opened;
}

absl::StatusOr<std::unique_ptr<UpdateUpload>> RoundManager::OpenUpdate(
    const std::string& node, const v1::TransferHeader& header) {
  absl::MutexLock lock(&mu_);
  if (state_ != "running" || header.run_id() != run_id_) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", header.run_id(), " is not running at this coordinator"));
  }
  if (round_ == nullptr || header.round() != round_->round()) {
    return absl::FailedPreconditionError(
        absl::StrCat("round ", header.round(), " is not open (current round: ",
                     round_ ? round_->round() : committed_round_ + 1, ")"));
  }
  if (!round_->ExpectsUpdate(node)) {
    return absl::FailedPreconditionError(
        absl::StrCat("round ", header.round(), " expects no update from ", node));
  }
  const bool masked = header.kind() == v1::PAYLOAD_KIND_MASKED_INPUT;
  if (masked != (secure_ != nullptr)) {
    return absl::FailedPreconditionError(
        masked ? "this run does not use secure aggregation: send a weight update"
               : "this run uses secure aggregation: send a masked input");
  }
  if (streams_.count(node) || secure_inputs_.count(node)) {
    return absl::FailedPreconditionError(absl::StrCat(node, " is already uploading"));
  }
  std::unique_ptr<StreamingUpdate> stream;
  std::unique_ptr<SecAggServer::Input> input;
  if (masked) {
    if (secure_phase_ != SecurePhase::kInput) {
      return absl::FailedPreconditionError(absl::StrCat(
          "round ", header.round(), " is still exchanging keys; its masked inputs come later"));
    }
    ASSIGN_OR_RETURN(input, secure_->BeginInput(node));
  } else {
    const uint64_t samples = header.update().samples();
    if (samples == 0 || samples > 1000000000) {
      return absl::InvalidArgumentError(
          absl::StrCat("update.samples ", samples, " is not plausible (1 .. 10^9)"));
    }
    ASSIGN_OR_RETURN(stream,
                     StreamingUpdate::Start(*aggregator_, node, static_cast<double>(samples)));
  }
  std::unique_ptr<UpdateSpool::Writer> spool;
  if (spool_ != nullptr) {
    absl::StatusOr<std::unique_ptr<UpdateSpool::Writer>> writer =
        spool_->Create(node, header.round());
    if (writer.ok()) {
      spool = std::move(*writer);
    } else {
      LOG(WARNING) << "cannot spool the update of " << node << ": " << writer.status().message();
    }
  }
  if (masked) {
    secure_inputs_[node] = std::move(input);
  } else {
    streams_[node] = std::move(stream);
  }
  Activity& activity = activity_[node];
  activity.upload_done = 0;
  activity.upload_total = header.total_size();
  return std::unique_ptr<UpdateUpload>(
      new UpdateUpload(this, node, header.round(), header.update(), std::move(spool)));
}

absl::Status RoundManager::AddPiece(const std::string& node, uint64_t round,
                                    absl::string_view data) {
  absl::MutexLock lock(&mu_);
  if (round_ == nullptr || round_->round() != round) {
    return absl::FailedPreconditionError("the round closed during the upload");
  }
  if (auto input = secure_inputs_.find(node); input != secure_inputs_.end()) {
    activity_[node].upload_done += data.size();
    return input->second->Add(data);
  }
  auto it = streams_.find(node);
  if (it == streams_.end()) {
    return absl::FailedPreconditionError("the round closed during the upload");
  }
  activity_[node].upload_done += data.size();
  return it->second->Add(data);
}

absl::Status RoundManager::FinishUpdate(const std::string& node, uint64_t round,
                                        const v1::UpdateInfo& info, bool spooled,
                                        const std::string& sha256_hex) {
  absl::MutexLock lock(&mu_);
  if (round_ == nullptr || round_->round() != round) {
    return absl::FailedPreconditionError("the round closed during the upload");
  }
  absl::Status s;
  if (auto input = secure_inputs_.find(node); input != secure_inputs_.end()) {
    s = input->second->Commit();
    secure_inputs_.erase(input);
  } else if (auto it = streams_.find(node); it != streams_.end()) {
    s = it->second->Commit();
    streams_.erase(it);
  } else {
    return absl::FailedPreconditionError("the round closed during the upload");
  }
  const absl::Time now = absl::Now();
  if (!s.ok()) {
    (void)Audit(round_audit::UpdateRejected(run_id_, round, node, std::string(s.message())), false);
    DropNode(node, absl::StrCat("update rejected: ", s.message()), now);
    return s;
  }
  // On disk before the node hears that its update counts.
  if (absl::Status audited =
          Audit(round_audit::UpdateAccepted(run_id_, round, node, activity_[node].upload_done,
                                            sha256_hex, secure_ != nullptr),
                true);
      !audited.ok()) {
    round_->Fail(absl::StrCat("the audit log cannot record an accepted update: ",
                              audited.message()));
    return absl::UnavailableError("the coordinator cannot record the update; retry");
  }
  contributions_[node] = info;
  if (spooled) spooled_.insert(node);
  RETURN_IF_ERROR(round_->UpdateCommitted(node, now));
  Advance(now);  // the last update starts the aggregation at once
  return absl::OkStatus();
}

void RoundManager::AbortUpdate(const std::string& node, uint64_t round, const std::string& reason,
                               bool rejected) {
  absl::MutexLock lock(&mu_);
  if (round_ == nullptr || round_->round() != round) return;
  if (rejected) (void)Audit(round_audit::UpdateRejected(run_id_, round, node, reason), false);
  streams_.erase(node);  // withdraws the update
  secure_inputs_.erase(node);
  DropNode(node, reason, absl::Now());
}

void RoundManager::NodeLost(const std::string& node, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (round_ == nullptr) return;
  streams_.erase(node);
  secure_inputs_.erase(node);
  DropNode(node, "disconnected", now);
  if (secure_ != nullptr) {
    secure_lost_.insert(node);
    Advance(now);  // the phase may have been waiting only for this node
  }
}

absl::Status RoundManager::Audit(v1::AuditRecord record, bool durable) const {
  if (!hooks_.audit) return absl::OkStatus();
  absl::Status s = hooks_.audit(std::move(record), durable);
  if (!s.ok()) LOG(ERROR) << "audit log: " << s;
  return s;
}

void RoundManager::DropNode(const std::string& node, const std::string& reason, absl::Time now) {
  const bool before = round_->dropped().count(node) > 0;
  round_->Drop(node, reason, now);
  if (!before && round_->dropped().count(node)) {
    (void)Audit(round_audit::NodeDropped(run_id_, round_->round(), node, reason), false);
  }
}

void RoundManager::SendReceipts(uint64_t round, const std::vector<std::string>& contributors) {
  if (!hooks_.close_round) return;
  absl::StatusOr<v1::AuditTreeHead> head = hooks_.close_round(run_id_, round);
  if (!head.ok()) {
    LOG(ERROR) << "round " << round << ": no signed tree head: " << head.status();
    return;
  }
  for (const std::string& node : contributors) {
    v1::Task task;
    task.set_task_id(absl::StrCat("receipt-", run_id_.substr(0, 12), "-", round, "-", node));
    *task.mutable_receipt() = *head;
    if (absl::Status s = hooks_.send_task(node, std::move(task)); !s.ok()) {
      LOG(WARNING) << "round " << round << ": receipt not sent to " << node << ": " << s.message();
    }
  }
}

absl::Status RoundManager::SecAggMessage(
    const std::string& node, const std::string& run_id, uint64_t round, SecurePhase phase,
    absl::string_view what, bool drop_on_refusal,
    const std::function<absl::Status(SecAggServer&)>& deliver) {
  if (state_ != "running" || run_id != run_id_ || round_ == nullptr ||
      round != round_->round() || secure_ == nullptr || secure_phase_ != phase ||
      !secure_expected_.count(node) || secure_answered_.count(node)) {
    return absl::FailedPreconditionError(
        absl::StrCat("round ", round, " does not take ", what, " now"));
  }
  const absl::Time now = absl::Now();
  if (absl::Status s = deliver(*secure_); !s.ok()) {
    if (drop_on_refusal) {
      DropNode(node, absl::StrCat(what, " refused: ", s.message()), now);
    } else {
      LOG(WARNING) << "round " << round << ": " << what << " of " << node
                   << " refused: " << s.message();
    }
    secure_lost_.insert(node);
    Advance(now);
    return s;
  }
  secure_answered_.insert(node);
  Advance(now);
  return absl::OkStatus();
}

absl::Status RoundManager::SecAggAdvertised(const std::string& node,
                                            const v1::SecAggAdvertiseRequest& request) {
  absl::MutexLock lock(&mu_);
  return SecAggMessage(node, request.run_id(), request.round(), SecurePhase::kAdvertise,
                       "advertised keys", /*drop_on_refusal=*/true,
                       [&](SecAggServer& server) { return server.Advertised(node, request); });
}

absl::Status RoundManager::SecAggSharesReceived(const std::string& node,
                                                const v1::SecAggShareKeysRequest& request) {
  absl::MutexLock lock(&mu_);
  return SecAggMessage(node, request.run_id(), request.round(), SecurePhase::kShare,
                       "key shares", /*drop_on_refusal=*/true,
                       [&](SecAggServer& server) { return server.SharesReceived(node, request); });
}

// A refused unmask answer does not drop the node: its update is already in
// the sum, and it stays a contributor (the others' shares may suffice).
absl::Status RoundManager::SecAggUnmaskReceived(const std::string& node,
                                                const v1::SecAggUnmaskRequest& request) {
  absl::MutexLock lock(&mu_);
  return SecAggMessage(node, request.run_id(), request.round(), SecurePhase::kUnmask,
                       "unmask shares", /*drop_on_refusal=*/false,
                       [&](SecAggServer& server) { return server.UnmaskReceived(node, request); });
}

absl::Status RoundManager::ProgressReceived(const std::string& node,
                                            const v1::TaskProgress& progress) {
  absl::MutexLock lock(&mu_);
  if (round_ == nullptr || progress.run_id() != run_id_ || progress.round() != round_->round()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run ", progress.run_id(), " round ", progress.round(), " is not in progress"));
  }
  const std::vector<std::string>& participants = round_->participants();
  if (std::find(participants.begin(), participants.end(), node) == participants.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " is not a participant of round ", progress.round()));
  }
  if (progress.done() > progress.total()) {
    return absl::InvalidArgumentError("progress: done is larger than total");
  }
  Activity& activity = activity_[node];
  activity.last = progress;
  if (progress.stage() == v1::TaskProgress::STAGE_TRAINING) {
    activity.train_done = progress.done();
    activity.train_total = progress.total();
  }
  return absl::OkStatus();
}

v1::RoundProgress RoundManager::CurrentRound() const {
  v1::RoundProgress current;
  current.set_round(round_->round());
  current.set_phase(RoundPhaseName(round_->phase()));
  current.set_deadline_unix_millis(absl::ToUnixMillis(round_->deadline()));
  const std::vector<std::string> evaluated = round_->evaluated();
  std::vector<std::string> sites = round_->participants();
  std::sort(sites.begin(), sites.end());
  for (const std::string& site : sites) {
    v1::NodeProgress* n = current.add_nodes();
    n->set_site(site);
    const auto a = activity_.find(site);
    const Activity none;
    const Activity& activity = a == activity_.end() ? none : a->second;
    const v1::TaskProgress& last = activity.last;
    n->set_train_done(activity.train_done);
    n->set_train_total(activity.train_total);
    if (last.stage() == v1::TaskProgress::STAGE_EVALUATING) {
      n->set_eval_done(last.done());
      n->set_eval_total(last.total());
    }
    n->set_upload_done(activity.upload_done);
    n->set_upload_total(activity.upload_total);
    const auto dropped = round_->dropped().find(site);
    if (dropped != round_->dropped().end()) {
      n->set_state("dropped");
      n->set_reason(dropped->second);
    } else if (std::find(evaluated.begin(), evaluated.end(), site) != evaluated.end()) {
      n->set_state("evaluated");
    } else if (contributions_.count(site)) {
      n->set_state(last.stage() == v1::TaskProgress::STAGE_EVALUATING ? "evaluating"
                                                                       : "submitted");
    } else if (activity.upload_done > 0) {
      n->set_state("uploading");
    } else if (last.stage() == v1::TaskProgress::STAGE_TRAINING) {
      n->set_state("training");
    } else if (last.stage() == v1::TaskProgress::STAGE_PREPARING) {
      n->set_state("preparing");
    } else {
      n->set_state("waiting");
    }
  }
  return current;
}

RunProgress RoundManager::Progress() const {
  absl::MutexLock lock(&mu_);
  RunProgress p;
  p.run_id = run_id_;
  p.state = state_;
  p.failure = failure_;
  if (!unaudited_reason_.empty()) {
    p.failure =
        failure_.empty() ? unaudited_reason_ : absl::StrCat(failure_, "; ", unaudited_reason_);
  }
  p.committed_round = committed_round_;
  if (round_) {
    p.phase = round_->phase();
    p.current = CurrentRound();
  }
  p.history = history_;
  return p;
}

tensor::TensorList RoundManager::Global() const {
  absl::MutexLock lock(&mu_);
  return global_;
}

}  // namespace tverr::coordinator
