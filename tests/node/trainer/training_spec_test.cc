#include "node/trainer/training_spec.h"

#include <gtest/gtest.h>

#include <functional>

namespace tverr::node {
namespace {

v1::RunSpec ValidSpec() {
  v1::RunSpec spec;
  spec.mutable_input()->set_channels(1);
  spec.mutable_input()->set_height(28);
  spec.mutable_input()->set_width(28);
  spec.add_labels("negative");
  spec.add_labels("positive");
  spec.set_loss(v1::LOSS_KIND_CROSS_ENTROPY);
  spec.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
  spec.mutable_optimizer()->set_learning_rate(0.1);
  spec.mutable_local()->set_batch_size(32);
  spec.mutable_local()->set_local_epochs(1);
  return spec;
}

TEST(ValidateTrainingSpec, AcceptsAValidSpec) {
  EXPECT_TRUE(ValidateTrainingSpec(ValidSpec()).ok());
}

TEST(ValidateTrainingSpec, RejectsEachBadField) {
  const std::function<void(v1::RunSpec&)> breakers[] = {
      [](v1::RunSpec& s) { s.mutable_input()->set_width(0); },
      [](v1::RunSpec& s) { s.mutable_input()->set_height(5000); },
      [](v1::RunSpec& s) { s.mutable_input()->set_channels(0); },
      [](v1::RunSpec& s) { s.clear_labels(); },
      [](v1::RunSpec& s) { s.set_loss(v1::LOSS_KIND_UNSPECIFIED); },
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_kind(v1::OptimizerSpec::KIND_UNSPECIFIED); },
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_learning_rate(0); },
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_weight_decay(-1); },
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_momentum(1); },
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_nesterov(true); },  // momentum 0
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_beta2(1.5); },
      [](v1::RunSpec& s) { s.mutable_optimizer()->set_epsilon(-1); },
      [](v1::RunSpec& s) { s.mutable_local()->set_batch_size(0); },
      [](v1::RunSpec& s) { s.mutable_local()->set_local_epochs(0); },
      [](v1::RunSpec& s) { s.mutable_local()->set_local_steps(10); },  // and epochs 1
      [](v1::RunSpec& s) { s.mutable_local()->set_fedprox_mu(-0.1); },
  };
  int i = 0;
  for (const auto& breaker : breakers) {
    v1::RunSpec spec = ValidSpec();
    breaker(spec);
    EXPECT_EQ(ValidateTrainingSpec(spec).code(), absl::StatusCode::kInvalidArgument) << i;
    ++i;
  }
}

TEST(ResolveAdamParameters, ZerosMeanTheDefaults) {
  v1::OptimizerSpec opt;
  AdamParameters p = ResolveAdamParameters(opt);
  EXPECT_DOUBLE_EQ(p.beta1, 0.9);
  EXPECT_DOUBLE_EQ(p.beta2, 0.999);
  EXPECT_DOUBLE_EQ(p.epsilon, 1e-8);
  opt.set_beta1(0.5);
  opt.set_epsilon(1e-6);
  p = ResolveAdamParameters(opt);
  EXPECT_DOUBLE_EQ(p.beta1, 0.5);
  EXPECT_DOUBLE_EQ(p.epsilon, 1e-6);
}

TEST(ResolveThreads, ZeroMeansAllCores) {
  v1::LocalTrainingSpec local;
  EXPECT_GE(ResolveThreads(local), 1);
  local.set_threads(2);
  EXPECT_EQ(ResolveThreads(local), 2);
}

}  // namespace
}  // namespace tverr::node
