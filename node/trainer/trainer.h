// The node's local trainer: holds one model of a run, trains it on the
// node's examples, evaluates it, and exchanges its weights as LibTorch-free
// named tensors (common/tensor/named_tensors.h). The LibTorch implementation
// is behind LoadTorchScriptTrainer; no LibTorch type appears here, so code
// that includes this header does not pay for <torch/torch.h>.
//
// Thread-safety: a Trainer is not thread-safe; one caller at a time. Train
// and Evaluate also set LibTorch's process-wide intra-op thread count.
// LibTorch's OpenMP threads spin while waiting: on a machine whose cores are
// busy with other work, more than one thread can be many times slower
// unless the process runs with OMP_WAIT_POLICY=passive.
#ifndef TVERR_NODE_TRAINER_TRAINER_H_
#define TVERR_NODE_TRAINER_TRAINER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tensor/named_tensors.h"
#include "node/data/data_source.h"
#include "tverr/v1/run.pb.h"

namespace tverr::node {

// What one Train call did.
struct TrainResult {
  // weights_after - weights_before, in Weights() order and naming.
  tensor::TensorList delta;
  // Examples per epoch: indices.size(). This is the FedAvg weight, also
  // when the run counts local steps instead of epochs.
  int64_t samples = 0;
  // Mean data loss (without the FedProx term) over every example seen, and
  // training accuracy over the same examples (model in training mode).
  double mean_loss = 0;
  double accuracy = 0;
  // Optimizer steps taken (mini-batches).
  int64_t steps = 0;
};

// Metrics of one model on a set of examples. The number of classes K is the
// size of the run's label set (a single-output binary model has K = 2).
struct EvalResult {
  int64_t samples = 0;
  // Mean loss per example, as training defines it (LossKind).
  double loss = 0;
  double accuracy = 0;
  // Per class, one-vs-rest: TP / (TP + FN) and TN / (TN + FP). NaN when the
  // denominator is 0 (no examples of the class, or only of the class).
  std::vector<double> sensitivity;
  std::vector<double> specificity;
  // Binary tasks (K = 2) only: area under the ROC curve of the positive
  // class (label index 1) score, ties counted as 1/2. Unset when K != 2,
  // when one of the two classes has no example, or a score is NaN.
  std::optional<double> roc_auc;
  // confusion[true label][predicted label], K x K.
  std::vector<std::vector<int64_t>> confusion;
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  // The model's floating-point state as float32 named tensors: first every
  // floating parameter in named_parameters() order, then every floating
  // buffer (for example BatchNorm running_mean / running_var) in
  // named_buffers() order; names are the dotted module paths
  // ("conv1.weight"). Integer buffers (num_batches_tracked) are not part of
  // the weights: SetWeights leaves them alone. Models with float64 or
  // float16 parameters are converted (and rounded back on SetWeights).
  virtual absl::StatusOr<tensor::TensorList> Weights() const = 0;

  // Replaces the weights. `weights` must have exactly Weights()'s names,
  // order and shapes, and every tensor as many values as its shape; else
  // INVALID_ARGUMENT naming the first mismatch, and nothing is changed.
  virtual absl::Status SetWeights(const tensor::TensorList& weights) = 0;

  // Trains from the current weights on `source` examples `indices` as the
  // run's LocalTrainingSpec says: local_epochs passes, or local_steps
  // mini-batches (passes repeated as needed), of batch_size examples (the
  // last batch of a pass may be smaller). Each pass is shuffled from
  // `round_seed`, which also seeds LibTorch's generator (dropout and the
  // like): callers derive it from the run seed and the round. The optimizer
  // is created fresh for each call. With fedprox_mu > 0 the loss gets
  // (mu / 2) * ||w - w_start||^2 over the trained parameters, w_start being
  // the weights at the start of this call. `progress(done, total)` is called
  // after every step when set.
  //
  // On success the model keeps the trained weights. Errors:
  // INVALID_ARGUMENT for bad examples (pixel count that is not the run's
  // input size, label outside the label set) or indices out of range;
  // FAILED_PRECONDITION when the model does not fit the data or the label
  // set (forward failure, output shape), or with no indices; errors of
  // DataSource::Get as they are. On error the weights are restored to what
  // they were at the start of the call.
  virtual absl::StatusOr<TrainResult> Train(
      const DataSource& source, const std::vector<size_t>& indices, uint64_t round_seed,
      const std::function<void(int64_t done, int64_t total)>& progress = {}) = 0;

  // Evaluates the current weights on `indices` (in eval mode, without
  // gradients, batches of batch_size, in the given order). Errors as Train.
  virtual absl::StatusOr<EvalResult> Evaluate(const DataSource& source,
                                              const std::vector<size_t>& indices) = 0;
};

// Loads the TorchScript model at `artifact_path` for `spec` (the input size,
// label set, loss, optimizer and local training settings are taken from
// it), on CUDA when LibTorch sees a GPU and on the CPU otherwise.
//
// Determinism: on the CPU, with the same weights, data, indices, spec
// (including local.threads) and round_seed, Train produces bit-identical
// deltas. A different thread count may change the last bits (reduction
// order). CUDA gives no such guarantee.
//
// Errors: INVALID_ARGUMENT for a spec the trainer cannot run (see
// ValidateTrainingSpec) or a file that is not a TorchScript model
// ("not a TorchScript model: ..."); NOT_FOUND when the file does not exist;
// FAILED_PRECONDITION when the model has no forward method or no floating
// point parameter.
absl::StatusOr<std::unique_ptr<Trainer>> LoadTorchScriptTrainer(const std::string& artifact_path,
                                                                const v1::RunSpec& spec);

}  // namespace tverr::node

#endif  // TVERR_NODE_TRAINER_TRAINER_H_
