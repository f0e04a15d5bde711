#include "node/trainer/training_spec.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"

namespace tverr::node {
namespace {

constexpr uint32_t kMaxSide = 4096;
// More intra-op threads than this is a configuration mistake, not a machine.
constexpr uint32_t kMaxThreads = 1024;

bool InUnitInterval(double v) { return std::isfinite(v) && v >= 0 && v < 1; }

absl::Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("run spec: ", message));
}

}  // namespace

absl::Status ValidateTrainingSpec(const v1::RunSpec& spec) {
  const v1::InputSpec& in = spec.input();
  if (in.width() < 1 || in.width() > kMaxSide || in.height() < 1 || in.height() > kMaxSide) {
    return Invalid(absl::StrCat("input width and height must be in 1..", kMaxSide, ", got ",
                                in.width(), "x", in.height()));
  }
  if (in.channels() < 1 || in.channels() > kMaxSide) {
    return Invalid(absl::StrCat("input channels must be >= 1, got ", in.channels()));
  }
  if (spec.labels_size() < 2) {
    return Invalid(absl::StrCat("the label set needs at least 2 labels, got ", spec.labels_size()));
  }
  if (spec.loss() != v1::LOSS_KIND_CROSS_ENTROPY &&
      spec.loss() != v1::LOSS_KIND_BINARY_CROSS_ENTROPY) {
    return Invalid("loss must be LOSS_KIND_CROSS_ENTROPY or LOSS_KIND_BINARY_CROSS_ENTROPY");
  }

  const v1::OptimizerSpec& opt = spec.optimizer();
  if (opt.kind() != v1::OptimizerSpec::SGD && opt.kind() != v1::OptimizerSpec::ADAM &&
      opt.kind() != v1::OptimizerSpec::ADAMW) {
    return Invalid("optimizer.kind must be SGD, ADAM or ADAMW");
  }
  if (!std::isfinite(opt.learning_rate()) || opt.learning_rate() <= 0) {
    return Invalid(absl::StrCat("optimizer.learning_rate must be > 0, got ", opt.learning_rate()));
  }
  if (!std::isfinite(opt.weight_decay()) || opt.weight_decay() < 0) {
    return Invalid(absl::StrCat("optimizer.weight_decay must be >= 0, got ", opt.weight_decay()));
  }
  if (!InUnitInterval(opt.momentum())) {
    return Invalid(absl::StrCat("optimizer.momentum must be in [0, 1), got ", opt.momentum()));
  }
  if (opt.nesterov() && (opt.kind() != v1::OptimizerSpec::SGD || opt.momentum() <= 0)) {
    return Invalid("optimizer.nesterov needs SGD with momentum > 0");
  }
  if (!InUnitInterval(opt.beta1()) || !InUnitInterval(opt.beta2())) {
    return Invalid(absl::StrCat("optimizer.beta1 and beta2 must be in [0, 1), got ", opt.beta1(),
                                " and ", opt.beta2()));
  }
  if (!std::isfinite(opt.epsilon()) || opt.epsilon() < 0) {
    return Invalid(absl::StrCat("optimizer.epsilon must be >= 0, got ", opt.epsilon()));
  }

  const v1::LocalTrainingSpec& local = spec.local();
  if (local.batch_size() < 1) return Invalid("local.batch_size must be >= 1");
  if ((local.local_epochs() > 0) == (local.local_steps() > 0)) {
    return Invalid(
        absl::StrCat("exactly one of local.local_epochs and local.local_steps must be "
                     "> 0, got ",
                     local.local_epochs(), " and ", local.local_steps()));
  }
  if (!std::isfinite(local.fedprox_mu()) || local.fedprox_mu() < 0) {
    return Invalid(absl::StrCat("local.fedprox_mu must be >= 0, got ", local.fedprox_mu()));
  }
  return absl::OkStatus();
}

AdamParameters ResolveAdamParameters(const v1::OptimizerSpec& optimizer) {
  AdamParameters p;
  if (optimizer.beta1() > 0) p.beta1 = optimizer.beta1();
  if (optimizer.beta2() > 0) p.beta2 = optimizer.beta2();
  if (optimizer.epsilon() > 0) p.epsilon = optimizer.epsilon();
  return p;
}

int ResolveThreads(const v1::LocalTrainingSpec& local) {
  if (local.threads() > 0)
    return static_cast<int>(std::min<uint32_t>(local.threads(), kMaxThreads));
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

}  // namespace tverr::node
