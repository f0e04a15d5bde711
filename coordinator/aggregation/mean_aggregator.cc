#include "coordinator/aggregation/mean_aggregator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "coordinator/aggregation/update_round.h"

namespace tverr::coordinator {
namespace internal {

// At most this many values of the sum are prefetched ahead of a fold (their
// 64 KiB fit the L2 cache).
constexpr size_t kPrefetchValues = 16384;

// s[i] += w * x[i] for i in [0, 16): one cache line of the sum. The
// restrict qualifiers tell GCC that the sum and the values do not overlap
// (they never do: the values are the decoder's scratch), without which it
// leaves the loop scalar at -O2.
inline void FoldLine(float* __restrict s, const float* __restrict x, float w) {
  for (size_t j = 0; j < 16; ++j) s[j] += w * x[j];
}

// A round of the FedAvg family: the running sum S = Σ w_i Δ_i in float.
class MeanRound final : public UpdateRound {
 public:
  explicit MeanRound(tensor::TensorList global) : UpdateRound(std::move(global)) {
    sum_.resize(element_counts().size());
    for (size_t t = 0; t < sum_.size(); ++t) sum_[t].assign(element_counts()[t], 0.0f);
  }

  bool dirty() const { return dirty_; }
  const std::string& dirty_node() const { return dirty_node_; }
  const std::vector<std::vector<float>>& sum() const { return sum_; }

 protected:
  void OnStart(UpdateId) override {}

  void Fold(UpdateId, double weight, size_t tensor_index, uint64_t element_offset,
            const float* values, size_t count) override {
    if (dirty_) return;  // the sum is discarded anyway
    std::vector<float>& sum = sum_[tensor_index];
    float* s = sum.data() + element_offset;
    const auto w = static_cast<float>(weight);
    // A stream's next call usually continues where this one ends, with as
    // many values: that part of the sum is prefetched (at most
    // kPrefetchValues ahead, inside the tensor) while this part is folded,
    // so memory keeps streaming while the caller decodes and checks the
    // next values. For sums larger than the caches this is worth ~25 %.
    const size_t ahead = std::min(count, kPrefetchValues);
    const size_t prefetch_end = sum.size() - element_offset;
    // Blocks of 16 floats (one cache line) so that GCC vectorises the
    // folding at -O2 (a plain loop stays scalar under GCC 12's -O2 cost
    // model) and prefetches once per line.
    constexpr size_t kBlock = 16;
    size_t i = 0;
    for (; i + kBlock <= count; i += kBlock) {
      if (i + ahead < prefetch_end) __builtin_prefetch(s + i + ahead, /*rw=*/1, /*locality=*/2);
      FoldLine(s + i, values + i, w);
    }
    for (; i < count; ++i) s[i] += w * values[i];
  }

  void OnCommit(UpdateId) override {}

  void OnAbort(UpdateId, const std::string& node, bool folded_any) override {
    if (!folded_any || dirty_) return;
    dirty_ = true;
    dirty_node_ = node;
    std::vector<std::vector<float>>().swap(sum_);  // free it until the rebuild
  }

 private:
  std::vector<std::vector<float>> sum_;
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
