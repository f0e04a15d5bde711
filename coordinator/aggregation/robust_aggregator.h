// Robust aggregation rules for runs WITHOUT secure aggregation (where the
// coordinator sees individual updates anyway): per coordinate, the median or
// the trimmed mean of the nodes' deltas, then x += η · that. Unweighted —
// one node, one vote — since a node could otherwise claim a huge example
// count and outvote the rest; update weights are still validated but ignored.
//
// Both rules need every update at once, so each update is buffered as it
// streams in: memory O(nodes × model) (4 bytes per parameter per update, open
// or committed), plus the global copy and, during Finish(), the aggregated
// delta (8 bytes per parameter). Aborting an update drops its buffer, so
// these rules never need a rebuild. Not thread-safe.
#ifndef TVERR_COORDINATOR_AGGREGATION_ROBUST_AGGREGATOR_H_
#define TVERR_COORDINATOR_AGGREGATION_ROBUST_AGGREGATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/server_optimizer.h"

namespace tverr::coordinator {

namespace internal {
class RobustRound;
}  // namespace internal

class RobustAggregator final : public Aggregator {
 public:
  enum class Rule {
    // Median of the n values; the mean of the two middle ones for even n.
    kMedian,
    // Drops the k = floor(trim_fraction × n) smallest and k largest values
    // and averages the remaining n − 2k.
    kTrimmedMean,
  };

  // `trim_fraction` in [0, 0.5) (only for kTrimmedMean); `learning_rate` η
  // > 0. Parameters are taken as valid (see MakeAggregator).
  RobustAggregator(Rule rule, double trim_fraction, double learning_rate);
  ~RobustAggregator() override;

  absl::Status Begin(const tensor::TensorList& global) override;
  const tensor::TensorLayout& layout() const override { return layout_; }
  absl::StatusOr<std::unique_ptr<UpdateSink>> BeginUpdate(const std::string& node,
                                                          double weight) override;
  bool needs_rebuild() const override { return false; }
  std::vector<std::string> committed_nodes() const override;
  absl::StatusOr<tensor::TensorList> Finish() override;

 private:
  const Rule rule_;
  const double trim_fraction_;
  ServerOptimizer optimizer_;
  tensor::TensorLayout layout_;
  std::shared_ptr<internal::RobustRound> round_;  // null outside a round
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_AGGREGATION_ROBUST_AGGREGATOR_H_
