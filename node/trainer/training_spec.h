// The parts of a RunSpec the local trainer uses, checked once when a model
// is loaded, with proto3's zero values replaced by the documented defaults.
// LibTorch-free: pure functions.
#ifndef TVERR_NODE_TRAINER_TRAINING_SPEC_H_
#define TVERR_NODE_TRAINER_TRAINING_SPEC_H_

#include <cstdint>

#include "absl/status/status.h"
#include "tverr/v1/run.pb.h"

namespace tverr::node {

// OK when the trainer can run `spec`: input width, height and channels in
// 1..4096; at least two labels; a loss kind; an optimizer kind with a finite
// learning rate > 0, weight_decay >= 0, momentum in [0, 1) (> 0 with
// nesterov), beta1/beta2 in [0, 1), epsilon >= 0; batch_size >= 1; exactly
// one of local_epochs and local_steps > 0; finite fedprox_mu >= 0.
// INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateTrainingSpec(const v1::RunSpec& spec);

// Adam/AdamW hyperparameters with proto3 zeros replaced by the defaults
// (0.9, 0.999, 1e-8). A beta of exactly 0 therefore cannot be asked for.
struct AdamParameters {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};
AdamParameters ResolveAdamParameters(const v1::OptimizerSpec& optimizer);

// Intra-op threads to use: local.threads (at most 1024), or the hardware
// concurrency (at least 1) when it is 0.
int ResolveThreads(const v1::LocalTrainingSpec& local);

}  // namespace tverr::node

#endif  // TVERR_NODE_TRAINER_TRAINING_SPEC_H_
