#include "coordinator/round/round_state.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::coordinator {

const char* RoundPhaseName(RoundPhase phase) {
  switch (phase) {
    case RoundPhase::kTraining:
      return "training";
    case RoundPhase::kAggregating:
      return "aggregating";
    case RoundPhase::kEvaluating:
      return "evaluating";
    case RoundPhase::kCommitting:
      return "committing";
    case RoundPhase::kCommitted:
      return "committed";
    case RoundPhase::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::StatusOr<std::vector<std::string>> SelectParticipants(std::vector<std::string> eligible,
                                                            uint32_t nodes_per_round,
                                                            uint32_t min_nodes, uint64_t seed,
                                                            uint64_t round) {
  std::sort(eligible.begin(), eligible.end());
  eligible.erase(std::unique(eligible.begin(), eligible.end()), eligible.end());
  if (eligible.size() < min_nodes) {
    return absl::FailedPreconditionError(absl::StrCat(
        eligible.size(), " node(s) eligible; the round needs at least ", min_nodes));
  }
  if (nodes_per_round == 0 || nodes_per_round >= eligible.size()) return eligible;
  // Rank nodes by a keyed hash: deterministic for (seed, round), different
  // from round to round, independent of the order nodes connected in.
  std::vector<std::pair<std::string, std::string>> ranked;
  for (const std::string& node : eligible) {
    ranked.emplace_back(
        crypto::ToHex(crypto::Sha256(absl::StrCat("select|", seed, "|", round, "|", node))), node);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (uint32_t i = 0; i < nodes_per_round; ++i) out.push_back(ranked[i].second);
  std::sort(out.begin(), out.end());
  return out;
}

RoundState::RoundState(RoundOptions options, std::vector<std::string> participants,
                       absl::Time now)
    : options_(options), participants_(std::move(participants)) {
  for (const std::string& p : participants_) nodes_[p] = NodeState::kWaiting;
  deadline_ = now + options_.phase_deadline;
  if (nodes_.size() < options_.min_nodes) {
    Fail(absl::StrCat("only ", nodes_.size(), " participant(s); the round needs ",
                      options_.min_nodes));
  }
}

size_t RoundState::Count(NodeState state) const {
  size_t n = 0;
  for (const auto& [node, s] : nodes_) n += s == state;
  return n;
}

bool RoundState::ExpectsUpdate(const std::string& node) const {
  auto it = nodes_.find(node);
  return phase_ == RoundPhase::kTraining && it != nodes_.end() &&
         it->second == NodeState::kWaiting;
}

absl::Status RoundState::UpdateCommitted(const std::string& node, absl::Time now) {
  if (phase_ != RoundPhase::kTraining) {
    return absl::FailedPreconditionError(absl::StrCat("round ", options_.round, " is ",
                                                      RoundPhaseName(phase_),
                                                      "; it takes no more updates"));
  }
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " is not a participant of round ", options_.round));
  }
  if (it->second == NodeState::kContributed) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " already sent its update for round ", options_.round));
  }
  if (it->second == NodeState::kDropped) {
    return absl::FailedPreconditionError(absl::StrCat(
        node, " was dropped from round ", options_.round, " (", dropped_[node], ")"));
  }
  it->second = NodeState::kContributed;
  CheckTrainingDone(now);
  return absl::OkStatus();
}

void RoundState::Drop(const std::string& node, const std::string& reason, absl::Time now) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second == NodeState::kDropped) return;
  if (phase_ == RoundPhase::kTraining && it->second == NodeState::kWaiting) {
    it->second = NodeState::kDropped;
    dropped_[node] = reason;
    CheckTrainingDone(now);
  } else if (phase_ == RoundPhase::kEvaluating && !evaluations_.count(node)) {
    // A contributor lost during evaluation: its update counts, its
    // evaluation is simply missing.
    dropped_[node] = reason;
    evaluations_[node] = false;
    if (evaluations_.size() == Count(NodeState::kContributed)) phase_ = RoundPhase::kCommitting;
  }
}

void RoundState::CheckTrainingDone(absl::Time now) {
  if (phase_ != RoundPhase::kTraining) return;
  const size_t contributed = Count(NodeState::kContributed);
  const size_t waiting = Count(NodeState::kWaiting);
  if (contributed + waiting < options_.min_nodes) {
    Fail(absl::StrCat("only ", contributed + waiting, " node(s) can still contribute; the round needs ",
                      options_.min_nodes));
    return;
  }
  if (waiting == 0 || (now >= deadline_ && contributed >= options_.min_nodes)) {
    phase_ = RoundPhase::kAggregating;
  }
}

void RoundState::Tick(absl::Time now) {
  if (phase_ == RoundPhase::kTraining && now >= deadline_) {
    for (auto& [node, state] : nodes_) {
      if (state == NodeState::kWaiting) {
        state = NodeState::kDropped;
        dropped_[node] = "missed the training deadline";
      }
    }
    if (Count(NodeState::kContributed) < options_.min_nodes) {
      Fail(absl::StrCat("deadline passed with ", Count(NodeState::kContributed),
                        " update(s); the round needs ", options_.min_nodes));
    } else {
      phase_ = RoundPhase::kAggregating;
    }
  } else if (phase_ == RoundPhase::kEvaluating && now >= deadline_) {
    // Missing evaluations do not fail a round: the model is already made.
    phase_ = RoundPhase::kCommitting;
  }
}

absl::Status RoundState::Aggregated(absl::Time now) {
  if (phase_ != RoundPhase::kAggregating) {
    return absl::FailedPreconditionError(
        absl::StrCat("round is ", RoundPhaseName(phase_), ", not aggregating"));
  }
  EnterEvaluationOrCommit(now);
  return absl::OkStatus();
}

void RoundState::EnterEvaluationOrCommit(absl::Time now) {
  if (options_.evaluate) {
    phase_ = RoundPhase::kEvaluating;
    deadline_ = now + options_.phase_deadline;
  } else {
    phase_ = RoundPhase::kCommitting;
  }
}

absl::Status RoundState::EvaluationReceived(const std::string& node, absl::Time now) {
  (void)now;
  if (phase_ != RoundPhase::kEvaluating) {
    return absl::FailedPreconditionError(
        absl::StrCat("round is ", RoundPhaseName(phase_), ", not evaluating"));
  }
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second != NodeState::kContributed) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " did not contribute to round ", options_.round));
  }
  if (evaluations_.count(node)) {
    return absl::FailedPreconditionError(absl::StrCat(node, " already reported its evaluation"));
  }
  evaluations_[node] = true;
  if (evaluations_.size() == Count(NodeState::kContributed)) phase_ = RoundPhase::kCommitting;
  return absl::OkStatus();
}

absl::Status RoundState::Committed() {
  if (phase_ != RoundPhase::kCommitting) {
    return absl::FailedPreconditionError(
        absl::StrCat("round is ", RoundPhaseName(phase_), ", not committing"));
  }
  phase_ = RoundPhase::kCommitted;
  return absl::OkStatus();
}

void RoundState::Fail(const std::string& reason) {
  if (phase_ == RoundPhase::kCommitted || phase_ == RoundPhase::kFailed) return;
  phase_ = RoundPhase::kFailed;
  failure_ = reason;
}

std::vector<std::string> RoundState::contributors() const {
  std::vector<std::string> out;
  for (const auto& [node, state] : nodes_) {
    if (state == NodeState::kContributed) out.push_back(node);
  }
  return out;
}

std::vector<std::string> RoundState::evaluated() const {
  std::vector<std::string> out;
  for (const auto& [node, ok] : evaluations_) {
    if (ok) out.push_back(node);
  }
  return out;
}

}  // namespace tverr::coordinator
