// The FedAvg family: FEDAVG (McMahan et al. 2017) and the server optimizers
// FEDAVGM, FEDADAGRAD, FEDADAM, FEDYOGI (server_optimizer.h). Each update is
// folded into a running sum as it streams in:
//   S += float(w_i) · Δ_i   (in float, in the order the values arrive)
// and Finish() applies the server step, in double, to the mean delta
// Δ = S / Σ w_i (so FEDAVG with η = 1 gives float(x + S / Σ w_i)).
//
// Memory: the global copy plus the float sum = 2× the float model,
// independent of the number of nodes; the server optimizers' state adds 1×
// (FEDAVGM) or 2× (adaptive) in the caller's ServerOptimizerState.
//
// Why float: folding is bound by memory traffic, and a float sum moves half
// the bytes of a double one (docs/benchmarks.md, aggregation). The price is
// rounding: the float sum of n updates differs from the exact one by at most
// about n·2⁻²⁴·Σ|w_i Δ_i| (typically √n·2⁻²⁴·…), far below one float step of the model's values
// for the deltas training produces, but the last bit of a value can depend
// on the order in which interleaved uploads were folded. The same updates
// folded in the same order give the same bits (no FMA contraction at the
// project's -O2 for x86-64 baseline). docs/rounds.md says more.
//
// Aborting an update after part of it was folded marks the round as needing
// a rebuild (aggregator.h); the sum is not touched again until the next
// Begin(). Not thread-safe.
#ifndef TVERR_COORDINATOR_AGGREGATION_MEAN_AGGREGATOR_H_
#define TVERR_COORDINATOR_AGGREGATION_MEAN_AGGREGATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/server_optimizer.h"

namespace tverr::coordinator {

namespace internal {
class MeanRound;
}  // namespace internal

class MeanAggregator final : public Aggregator {
 public:
  // `state` may be null for ServerStepRule::kPlain; otherwise it must outlive
  // the aggregator. Parameters are taken as valid (see MakeAggregator).
  MeanAggregator(ServerOptimizerParams params, ServerOptimizerState* state);
  ~MeanAggregator() override;

  absl::Status Begin(const tensor::TensorList& global) override;
  const tensor::TensorLayout& layout() const override { return layout_; }
  absl::StatusOr<std::unique_ptr<UpdateSink>> BeginUpdate(const std::string& node,
                                                          double weight) override;
  bool needs_rebuild() const override;
  std::vector<std::string> committed_nodes() const override;
  absl::StatusOr<tensor::TensorList> Finish() override;

 private:
  ServerOptimizer optimizer_;
  tensor::TensorLayout layout_;
  std::shared_ptr<internal::MeanRound> round_;  // null outside a round
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_AGGREGATION_MEAN_AGGREGATOR_H_
