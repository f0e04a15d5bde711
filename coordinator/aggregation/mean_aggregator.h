// The FedAvg family: FEDAVG (McMahan et al. 2017) and the server optimizers
// FEDAVGM, FEDADAGRAD, FEDADAM, FEDYOGI (server_optimizer.h). Each update is
// folded into a running sum as it streams in:
//   S += w_i · Δ_i   (w_i as double times the float value, summed in double)
// and Finish() applies the server step to the mean delta Δ = S / Σ w_i
// (so FEDAVG with η = 1 gives exactly float(x + S / Σ w_i)).
//
// Memory: the global copy (4 bytes per parameter) plus the double sum (8 bytes
// per parameter) = 3× the float model, independent of the number of nodes;
// the server optimizers' state adds 1× (FEDAVGM) or 2× (adaptive) in the
// caller's ServerOptimizerState. The double sum keeps the mean accurate (one
// rounding to float at the end, practically independent of the order in
// which interleaved streams are folded).
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
