// A model with BatchNorm buffers, built here with LibTorch (the only test
// file that includes it): running statistics are weights, the integer
// num_batches_tracked is not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"
#include "node/trainer/trainer.h"
#include "tests/node/trainer/fake_data_source.h"

namespace tverr::node {
namespace {

using ::testing::ElementsAre;

constexpr char kForward[] = R"(
def forward(self, x):
    x = torch.linear(torch.flatten(x, 1), self.fc.weight, self.fc.bias)
    if self.training:
        self.bn.num_batches_tracked.add_(1)
    return torch.batch_norm(x, self.bn.weight, self.bn.bias, self.bn.running_mean,
                            self.bn.running_var, self.training, 0.1, 1e-5, False)
)";

// Linear(4 -> 2) then BatchNorm1d(2), saved as TorchScript at `path`.
void WriteLinearBatchNorm(const std::string& path) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module fc(c10::QualifiedName("__torch__.test.Linear"), cu);
  fc.register_attribute("training", c10::BoolType::get(), true);
  fc.register_parameter("weight", torch::full({2, 4}, 0.1).requires_grad_(), false);
  fc.register_parameter("bias", torch::zeros({2}).requires_grad_(), false);
  torch::jit::Module bn(c10::QualifiedName("__torch__.test.BatchNorm1d"), cu);
  bn.register_attribute("training", c10::BoolType::get(), true);
  bn.register_parameter("weight", torch::ones({2}).requires_grad_(), false);
  bn.register_parameter("bias", torch::zeros({2}).requires_grad_(), false);
  bn.register_buffer("running_mean", torch::zeros({2}));
  bn.register_buffer("running_var", torch::ones({2}));
  bn.register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  torch::jit::Module model(c10::QualifiedName("__torch__.test.Model"), cu);
  model.register_attribute("training", c10::BoolType::get(), true);
  model.register_module("fc", fc);
  model.register_module("bn", bn);
  model.define(kForward);
  model.save(path);
}

TEST(TorchTrainerBuffers, RunningStatisticsAreWeightsAndTrain) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/trainer_test_", getpid(), "_batchnorm.pt");
  ASSERT_NO_THROW(WriteLinearBatchNorm(path));
  v1::RunSpec spec;
  spec.mutable_input()->set_channels(1);
  spec.mutable_input()->set_height(2);
  spec.mutable_input()->set_width(2);
  spec.add_labels("dark");
  spec.add_labels("bright");
  spec.set_loss(v1::LOSS_KIND_CROSS_ENTROPY);
  spec.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
  spec.mutable_optimizer()->set_learning_rate(0.1);
  spec.mutable_local()->set_batch_size(8);
  spec.mutable_local()->set_local_epochs(1);
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = LoadTorchScriptTrainer(path, spec);
  ASSERT_TRUE(trainer.ok()) << trainer.status();

  absl::StatusOr<tensor::TensorList> weights = (*trainer)->Weights();
  ASSERT_TRUE(weights.ok());
  std::vector<std::string> names;
  for (const auto& t : *weights) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                 "bn.running_var"));

  FakeDataSource source(BrightDark(32, 1, 2, 2, /*seed=*/1));
  std::vector<size_t> all(32);
  std::iota(all.begin(), all.end(), 0);
  absl::StatusOr<TrainResult> result = (*trainer)->Train(source, all, 5);
  ASSERT_TRUE(result.ok()) << result.status();
  // The running mean moved towards the batch means of the linear outputs.
  const tensor::NamedTensor& mean_delta = result->delta[4];
  ASSERT_EQ(mean_delta.name, "bn.running_mean");
  EXPECT_NE(mean_delta.values[0], 0.0f);

  // Setting the weights back resets the running statistics too.
  ASSERT_TRUE((*trainer)->SetWeights(*weights).ok());
  EXPECT_EQ((*(*trainer)->Weights())[4].values, (*weights)[4].values);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tverr::node
