// The server-side step that turns a round's aggregated delta Δ into the new
// global model x, after Reddi et al. 2021, "Adaptive Federated Optimization"
// (Algorithm 2), element-wise:
//   plain      x += η Δ                       (FEDAVG and the robust rules)
//   momentum   m = β1 m + Δ;              x += η m            (FEDAVGM)
//   adagrad    m = β1 m + (1-β1) Δ;  v = v + Δ²;               (FEDADAGRAD)
//              x += η m / (√v + τ)
//   adam       m as adagrad;  v = β2 v + (1-β2) Δ²;  x as adagrad  (FEDADAM)
//   yogi       m as adagrad;  v = v - (1-β2) Δ² sign(v - Δ²); x as adagrad
//                                                                  (FEDYOGI)
// State starts at m = 0 and v = τ² (the paper requires v_{-1} ≥ τ²); there
// is no bias correction, as in the paper. Arithmetic is in double; the
// state is kept (and checkpointed) as float32, so a coordinator resumed from
// a checkpoint continues bit-identically.
//
// ServerOptimizerState persists across rounds; the round manager owns it and
// checkpoints it together with the global model it belongs to (encoded as a
// TVTS list). Not thread-safe.
#ifndef TVERR_COORDINATOR_AGGREGATION_SERVER_OPTIMIZER_H_
#define TVERR_COORDINATOR_AGGREGATION_SERVER_OPTIMIZER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tensor/named_tensors.h"
#include "common/tensor/tensor_codec.h"

namespace tverr::coordinator {

struct ServerOptimizerState {
  // First moment (the momentum buffer for FEDAVGM): the model's names and
  // shapes. Empty before the first round.
  tensor::TensorList m;
  // Second moment (FEDADAGRAD, FEDADAM, FEDYOGI); empty before the first
  // round and for FEDAVGM.
  tensor::TensorList v;
};

// One TVTS list: "m/<name>" for every tensor of m, then "v/<name>" for
// every tensor of v. INVALID_ARGUMENT if a list is invalid, a prefixed name
// exceeds the TVTS name limit, or m and v (both non-empty) differ in layout.
absl::StatusOr<std::string> EncodeServerOptimizerState(const ServerOptimizerState& state);
// The inverse. INVALID_ARGUMENT for malformed TVTS, names without an "m/" or
// "v/" prefix, v before m, or m and v differing in layout.
absl::StatusOr<ServerOptimizerState> DecodeServerOptimizerState(absl::string_view bytes);

enum class ServerStepRule { kPlain, kMomentum, kAdagrad, kAdam, kYogi };

// Validated parameters (aggregator_factory.cc maps AggregationSpec here).
struct ServerOptimizerParams {
  ServerStepRule rule = ServerStepRule::kPlain;
  // η. Default: 1.0.
  double learning_rate = 1.0;
  // β1 (momentum for kMomentum). Default: 0.9.
  double beta1 = 0.9;
  // β2 (kAdam, kYogi). Default: 0.99.
  double beta2 = 0.99;
  // τ (kAdagrad, kAdam, kYogi). Default: 1e-3.
  double tau = 1e-3;
};

class ServerOptimizer {
 public:
  // `state` may be null only for kPlain; it must outlive the optimizer.
  ServerOptimizer(ServerOptimizerParams params, ServerOptimizerState* state)
      : params_(params), state_(state) {}

  // OK if the state can be used with a model of `layout`: each moment the
  // rule uses is empty or has exactly that layout, and moments the rule does
  // not use are empty. FAILED_PRECONDITION (with SameLayout's message)
  // otherwise.
  absl::Status CheckState(const tensor::TensorLayout& layout) const;

  // Applies one step with Δ = numerator / divisor (element-wise, per tensor
  // in `model` order) to `model`, and advances the state. Preconditions:
  // CheckState(LayoutOf(*model)) is OK and `numerator` has the model's
  // shape. OK: model and state updated. OUT_OF_RANGE: some new model or
  // state value would not be finite in float; then neither was changed.
  // The numerator in float (the FedAvg family's running sum) or in double
  // (robust rules, the secure sum); the step itself is computed in double.
  absl::Status Apply(const std::vector<std::vector<float>>& numerator, double divisor,
                     tensor::TensorList* model);
  absl::Status Apply(const std::vector<std::vector<double>>& numerator, double divisor,
                     tensor::TensorList* model);

 private:
  template <typename Number>
  absl::Status ApplyStep(const std::vector<std::vector<Number>>& numerator, double divisor,
                         tensor::TensorList* model);

  const ServerOptimizerParams params_;
  ServerOptimizerState* const state_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_AGGREGATION_SERVER_OPTIMIZER_H_
