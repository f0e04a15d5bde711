// Small TorchScript models built in C++ (no Python): what the demo and the
// tests train. Each is a torch::jit::Module with registered parameters,
// initialised deterministically from a seed the way PyTorch initialises
// Conv2d/Linear (uniform in +-1/sqrt(fan_in) for weights and biases), with
// a forward method defined from TorchScript source, saved with save().
// The files load with torch::jit::load and torch.jit.load alike.
#ifndef TVERR_NODE_TRAINER_DEMO_MODELS_H_
#define TVERR_NODE_TRAINER_DEMO_MODELS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace tverr::node {

// A small CNN for channels x height x width inputs and `classes` outputs
// (logits):
//   conv1 (channels -> 8, 3x3, padding 1) + relu + max_pool 2x2,
//   conv2 (8 -> 16, 3x3, padding 1) + relu + max_pool 2x2,
//   flatten, fc (16 * (height / 4) * (width / 4) -> classes).
// Parameters: conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc.weight,
// fc.bias. INVALID_ARGUMENT unless channels >= 1, height and width in
// 4..4096, classes >= 1; the file system's error when `path` cannot be
// written.
absl::Status WriteSmallCnn(const std::string& path, int channels, int height, int width,
                           int classes, uint64_t seed);

// Logistic regression: flatten, fc (channels * height * width -> classes).
// Parameters: fc.weight [classes, C*H*W], fc.bias [classes]. With
// classes = 1 it is a binary model for LOSS_KIND_BINARY_CROSS_ENTROPY.
// INVALID_ARGUMENT unless all sizes are >= 1 (sides <= 4096).
absl::Status WriteLogisticRegression(const std::string& path, int channels, int height, int width,
                                     int classes, uint64_t seed);

}  // namespace tverr::node

#endif  // TVERR_NODE_TRAINER_DEMO_MODELS_H_
