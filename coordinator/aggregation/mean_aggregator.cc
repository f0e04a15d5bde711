#include "coordinator/aggregation/mean_aggregator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "coordinator/aggregation/update_round.h"

namespace tverr::coordinator {
namespace internal {

// A round of the FedAvg family: the running sum S = Σ w_i Δ_i in double.
class MeanRound final : public UpdateRound {
 public:
  explicit MeanRound(tensor::TensorList global) : UpdateRound(std::move(global)) {
    sum_.resize(element_counts().size());
    for (size_t t = 0; t < sum_.size(); ++t) sum_[t].assign(element_counts()[t], 0.0);
  }

  bool dirty() const { return dirty_; }
  const std::string& dirty_node() const { return dirty_node_; }
  const std::vector<std::vector<double>>& sum() const { return sum_; }

 protected:
  void OnStart(UpdateId) override {}

  void Fold(UpdateId, double weight, size_t tensor_index, uint64_t element_offset,
            const float* values, size_t count) override {
    if (dirty_) return;  // the sum is discarded anyway
    double* s = sum_[tensor_index].data() + element_offset;
    for (size_t i = 0; i < count; ++i) s[i] += weight * static_cast<double>(values[i]);
  }

  void OnCommit(UpdateId) override {}

  void OnAbort(UpdateId, const std::string& node, bool folded_any) override {
    if (!folded_any || dirty_) return;
    dirty_ = true;
    dirty_node_ = node;
    std::vector<std::vector<double>>().swap(sum_);  // free it until the rebuild
  }

 private:
  std::vector<std::vector<double>> sum_;
  bool dirty_ = false;
  std::string dirty_node_;
};

}  // namespace internal

MeanAggregator::MeanAggregator(ServerOptimizerParams params, ServerOptimizerState* state)
    : optimizer_(params, state) {}

MeanAggregator::~MeanAggregator() = default;

absl::Status MeanAggregator::Begin(const tensor::TensorList& global) {
  RETURN_IF_ERROR(internal::UpdateRound::CheckGlobal(global));
  RETURN_IF_ERROR(optimizer_.CheckState(tensor::LayoutOf(global)));
  round_.reset();  // free the old sum before allocating the new one
  round_ = std::make_shared<internal::MeanRound>(global);
  layout_ = round_->layout();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UpdateSink>> MeanAggregator::BeginUpdate(const std::string& node,
                                                                        double weight) {
  if (round_ == nullptr) return absl::FailedPreconditionError("no aggregation round in progress");
  return round_->StartUpdate(node, weight);
}

bool MeanAggregator::needs_rebuild() const { return round_ != nullptr && round_->dirty(); }

std::vector<std::string> MeanAggregator::committed_nodes() const {
  return round_ == nullptr ? std::vector<std::string>() : round_->committed_nodes();
}

absl::StatusOr<tensor::TensorList> MeanAggregator::Finish() {
  if (round_ == nullptr) return absl::FailedPreconditionError("no aggregation round in progress");
  if (round_->dirty()) {
    return absl::AbortedError(absl::StrCat(
        "the update from ", round_->dirty_node(),
        " was aborted after part of it had been folded into the running sum; rebuild the "
        "round: Begin() again and re-add the committed updates"));
  }
  RETURN_IF_ERROR(round_->CheckReadyToFinish());
  RETURN_IF_ERROR(optimizer_.Apply(round_->sum(), round_->committed_weight(), &round_->global()));
  tensor::TensorList result = std::move(round_->global());
  round_.reset();
  return result;
}

}  // namespace tverr::coordinator
