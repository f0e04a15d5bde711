// Internal to coordinator/aggregation: the part of a round every aggregation
// rule shares — the copy of the global model, which nodes have open or
// committed updates, and the UpdateSink implementation that checks each
// update's stream order, ranges and finiteness before handing values to the
// rule. A rule subclasses UpdateRound and implements the four hooks.
//
// The aggregator owns its current round through a shared_ptr; sinks hold a
// weak_ptr, so a sink outliving its round (or aggregator) is inert rather
// than dangling. Not thread-safe (see aggregator.h).
#ifndef TVERR_COORDINATOR_AGGREGATION_UPDATE_ROUND_H_
#define TVERR_COORDINATOR_AGGREGATION_UPDATE_ROUND_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tensor/named_tensors.h"
#include "common/tensor/tensor_codec.h"
#include "coordinator/aggregation/aggregator.h"

namespace tverr::coordinator::internal {

class UpdateRound : public std::enable_shared_from_this<UpdateRound> {
 public:
  using UpdateId = uint64_t;

  // OK if `global` may start a round: at least one tensor, within the TVTS
  // limits, all values finite. INVALID_ARGUMENT otherwise.
  static absl::Status CheckGlobal(const tensor::TensorList& global);

  // `global` must have passed CheckGlobal.
  explicit UpdateRound(tensor::TensorList global);
  virtual ~UpdateRound() = default;
  UpdateRound(const UpdateRound&) = delete;
  UpdateRound& operator=(const UpdateRound&) = delete;

  // Aggregator::BeginUpdate (same contract, except "no round").
  absl::StatusOr<std::unique_ptr<UpdateSink>> StartUpdate(const std::string& node, double weight);

  // OK if Finish may aggregate: no update open, at least one committed.
  // FAILED_PRECONDITION otherwise.
  absl::Status CheckReadyToFinish() const;

  const tensor::TensorLayout& layout() const { return layout_; }
  const std::vector<uint64_t>& element_counts() const { return counts_; }
  // The round's model; the rule updates it in place when the round finishes.
  tensor::TensorList& global() { return global_; }
  const std::vector<std::string>& committed_nodes() const { return committed_; }
  // Sum of the committed updates' weights, added in commit order.
  double committed_weight() const { return committed_weight_; }

 protected:
  // A new update was opened.
  virtual void OnStart(UpdateId id) = 0;
  // Values checked as described in UpdateSink::Add (in order, in range,
  // finite, count >= 1).
  virtual void Fold(UpdateId id, double weight, size_t tensor_index, uint64_t element_offset,
                    const float* values, size_t count) = 0;
  virtual void OnCommit(UpdateId id) = 0;
  // `folded_any`: Fold was called at least once for this update.
  virtual void OnAbort(UpdateId id, const std::string& node, bool folded_any) = 0;

 private:
  class Sink;
  struct Update {
    UpdateId id;
    std::string node;
    double weight;
    size_t tensor = 0;    // next expected tensor
    uint64_t offset = 0;  // next expected element within it
    bool folded_any = false;
  };
  absl::Status Add(Update& u, size_t tensor_index, uint64_t element_offset, const float* values,
                   size_t count);
  absl::Status Commit(Update& u);
  void Abort(Update& u);
  void SkipEmptyTensors(Update& u) const;

  tensor::TensorList global_;
  const tensor::TensorLayout layout_;
  std::vector<uint64_t> counts_;
  std::map<std::string, bool> nodes_;  // node -> committed (false: open)
  size_t open_ = 0;
  std::vector<std::string> committed_;
  double committed_weight_ = 0;
  UpdateId next_id_ = 0;
};

}  // namespace tverr::coordinator::internal

#endif  // TVERR_COORDINATOR_AGGREGATION_UPDATE_ROUND_H_
