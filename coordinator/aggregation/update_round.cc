#include "coordinator/aggregation/update_round.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator::internal {
namespace {

// Weights are example counts; above 2^53 they stop being exact integers, and
// bounding them keeps weight × float far from double overflow.
constexpr double kMaxWeight = 9007199254740992.0;  // 2^53

// True if no value is NaN or ±infinity. A float is not finite exactly when
// its exponent bits are all ones, i.e. when (bits & 0x7fffffff) >=
// 0x7f800000; adding 0x00800000 carries such a value, and only such a
// value, into bit 31. The test is OR-accumulated without branches in
// blocks of 8, which GCC vectorises at -O2, so checking a block of values
// costs far less than folding it (the slow tensor::FirstNonFinite then
// names the culprit).
bool AllFinite(const float* values, size_t count) {
  constexpr size_t kBlock = 8;
  uint32_t bad = 0;
  size_t i = 0;
  for (; i + kBlock <= count; i += kBlock) {
    for (size_t j = 0; j < kBlock; ++j) {
      uint32_t bits;
      std::memcpy(&bits, values + i + j, sizeof(bits));
      bad |= (bits & 0x7fffffffu) + 0x00800000u;
    }
  }
  for (; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, values + i, sizeof(bits));
    bad |= (bits & 0x7fffffffu) + 0x00800000u;
  }
  return (bad & 0x80000000u) == 0;
}

}  // namespace

// The UpdateSink handed out by StartUpdate: forwards to the round while both
// the update is open and the round is alive.
class UpdateRound::Sink final : public UpdateSink {
 public:
  Sink(std::weak_ptr<UpdateRound> round, Update update)
      : round_(std::move(round)), update_(std::move(update)) {}
  ~Sink() override { Abort(); }

  absl::Status Add(size_t tensor_index, uint64_t element_offset, const float* values,
                   size_t count) override {
    ASSIGN_OR_RETURN(std::shared_ptr<UpdateRound> round, OpenRound());
    absl::Status s = round->Add(update_, tensor_index, element_offset, values, count);
    if (!s.ok()) End(round.get(), State::kAborted);
    return s;
  }

  absl::Status Commit() override {
    ASSIGN_OR_RETURN(std::shared_ptr<UpdateRound> round, OpenRound());
    absl::Status s = round->Commit(update_);
    End(round.get(), s.ok() ? State::kCommitted : State::kAborted);
    return s;
  }

  void Abort() override {
    if (state_ != State::kOpen) return;
    std::shared_ptr<UpdateRound> round = round_.lock();
    End(round.get(), State::kAborted);
  }

 private:
  enum class State { kOpen, kCommitted, kAborted };

  absl::StatusOr<std::shared_ptr<UpdateRound>> OpenRound() {
    if (state_ != State::kOpen) {
      return absl::FailedPreconditionError(
          absl::StrCat("the update from ", update_.node, " was already ",
                       state_ == State::kCommitted ? "committed" : "aborted"));
    }
    std::shared_ptr<UpdateRound> round = round_.lock();
    if (round == nullptr) {
      state_ = State::kAborted;
      return absl::FailedPreconditionError(
          absl::StrCat("the round of the update from ", update_.node, " has ended"));
    }
    return round;
  }

  // Moves to `state`; an abort is reported to the round if it still exists.
  void End(UpdateRound* round, State state) {
    if (state_ != State::kOpen) return;
    state_ = state;
    if (state == State::kAborted && round != nullptr) round->Abort(update_);
  }

  std::weak_ptr<UpdateRound> round_;
  Update update_;
  State state_ = State::kOpen;
};

absl::Status UpdateRound::CheckGlobal(const tensor::TensorList& global) {
  if (global.empty()) return absl::InvalidArgumentError("the global model has no tensors");
  RETURN_IF_ERROR(tensor::ValidateTensorList(global));
  for (const tensor::NamedTensor& t : global) {
    for (size_t i = 0; i < t.values.size(); ++i) {
      if (!std::isfinite(t.values[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("global model tensor ", t.name, " element ", i, " is not finite"));
      }
    }
  }
  return absl::OkStatus();
}

UpdateRound::UpdateRound(tensor::TensorList global)
    : global_(std::move(global)), layout_(tensor::LayoutOf(global_)) {
  counts_.reserve(global_.size());
  for (const tensor::NamedTensor& t : global_) counts_.push_back(t.values.size());
}

absl::StatusOr<std::unique_ptr<UpdateSink>> UpdateRound::StartUpdate(const std::string& node,
                                                                     double weight) {
  if (node.empty()) return absl::InvalidArgumentError("update without a node name");
  if (!std::isfinite(weight) || weight <= 0 || weight > kMaxWeight) {
    return absl::InvalidArgumentError(
        absl::StrCat("update from ", node, " has weight ", weight, "; must be in (0, 2^53]"));
  }
  auto [it, inserted] = nodes_.emplace(node, false);
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("node ", node, " already has ",
                                                 it->second ? "a committed" : "an open",
                                                 " update in this round"));
  }
  Update u{next_id_++, node, weight};
  SkipEmptyTensors(u);
  ++open_;
  OnStart(u.id);
  return std::unique_ptr<UpdateSink>(new Sink(weak_from_this(), std::move(u)));
}

void UpdateRound::SkipEmptyTensors(Update& u) const {
  while (u.tensor < counts_.size() && u.offset == counts_[u.tensor]) {
    ++u.tensor;
    u.offset = 0;
  }
}

absl::Status UpdateRound::Add(Update& u, size_t tensor_index, uint64_t element_offset,
                              const float* values, size_t count) {
  if (tensor_index >= layout_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("update from ", u.node, ": tensor index ",
                                                   tensor_index, " out of range (model has ",
                                                   layout_.size(), " tensors)"));
  }
  if (tensor_index != u.tensor || element_offset != u.offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("update from ", u.node, ": values for tensor ", layout_[tensor_index].name,
                     " at element ", element_offset, " out of order (expected ",
                     u.tensor < layout_.size()
                         ? absl::StrCat("tensor ", layout_[u.tensor].name, " at element ", u.offset)
                         : std::string("no more values"),
                     ")"));
  }
  if (count == 0) return absl::OkStatus();
  if (count > counts_[u.tensor] - u.offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "update from ", u.node, ": ", count, " values at element ", u.offset, " overrun tensor ",
        layout_[u.tensor].name, " (", counts_[u.tensor], " elements)"));
  }
  if (!AllFinite(values, count)) {
    const size_t i = tensor::FirstNonFinite(values, count);
    return absl::InvalidArgumentError(absl::StrCat("update from ", u.node, ": tensor ",
                                                   layout_[u.tensor].name, " element ",
                                                   u.offset + i, " is not finite"));
  }
  Fold(u.id, u.weight, u.tensor, u.offset, values, count);
  u.folded_any = true;
  u.offset += count;
  SkipEmptyTensors(u);
  return absl::OkStatus();
}

absl::Status UpdateRound::Commit(Update& u) {
  if (u.tensor < layout_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("update from ", u.node, " is incomplete: tensor ", layout_[u.tensor].name,
                     " has ", u.offset, " of ", counts_[u.tensor], " values"));
  }
  --open_;
  nodes_[u.node] = true;
  committed_.push_back(u.node);
  committed_weight_ += u.weight;
  OnCommit(u.id);
  return absl::OkStatus();
}

void UpdateRound::Abort(Update& u) {
  --open_;
  nodes_.erase(u.node);
  OnAbort(u.id, u.node, u.folded_any);
}

absl::Status UpdateRound::CheckReadyToFinish() const {
  if (open_ > 0) {
    std::string example;
    for (const auto& [node, committed] : nodes_) {
      if (!committed) {
        example = node;
        break;
      }
    }
    return absl::FailedPreconditionError(absl::StrCat(open_, " update(s) still open (e.g. from ",
                                                      example, "); commit or abort them first"));
  }
  if (committed_.empty()) {
    return absl::FailedPreconditionError("no update was committed in this round");
  }
  return absl::OkStatus();
}

}  // namespace tverr::coordinator::internal
