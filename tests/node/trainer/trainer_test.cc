#include "node/trainer/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/trainer/demo_models.h"
#include "tests/node/trainer/fake_data_source.h"

namespace tverr::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// This process's model files, in a directory removed when the tests end.
class ScratchDir : public ::testing::Environment {
 public:
  static const std::string& Path() {
    static const std::string* path =
        new std::string(absl::StrCat(::testing::TempDir(), "/trainer_test_", getpid()));
    return *path;
  }
  void SetUp() override { std::filesystem::create_directories(Path()); }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(Path(), ignored);
  }
};
[[maybe_unused]] ::testing::Environment* const kScratchDir =
    ::testing::AddGlobalTestEnvironment(new ScratchDir);

std::string TempPath(const std::string& name) { return ScratchDir::Path() + "/" + name; }

std::vector<size_t> Range(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

struct SpecOptions {
  int channels = 1, height = 28, width = 28;
  int labels = 2;
  v1::LossKind loss = v1::LOSS_KIND_CROSS_ENTROPY;
  v1::OptimizerSpec::Kind optimizer = v1::OptimizerSpec::ADAM;
  double learning_rate = 0.01;
  uint32_t batch_size = 16;
  uint32_t epochs = 1;
  uint32_t steps = 0;
  double mu = 0;
  uint32_t threads = 1;
};

v1::RunSpec Spec(const SpecOptions& o) {
  v1::RunSpec spec;
  spec.mutable_input()->set_channels(o.channels);
  spec.mutable_input()->set_height(o.height);
  spec.mutable_input()->set_width(o.width);
  for (int i = 0; i < o.labels; ++i) spec.add_labels(absl::StrCat("label", i));
  spec.set_loss(o.loss);
  spec.mutable_optimizer()->set_kind(o.optimizer);
  spec.mutable_optimizer()->set_learning_rate(o.learning_rate);
  spec.mutable_local()->set_batch_size(o.batch_size);
  spec.mutable_local()->set_local_epochs(o.epochs);
  spec.mutable_local()->set_local_steps(o.steps);
  spec.mutable_local()->set_fedprox_mu(o.mu);
  spec.mutable_local()->set_threads(o.threads);
  return spec;
}

std::unique_ptr<Trainer> LoadOrDie(const std::string& path, const v1::RunSpec& spec) {
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = LoadTorchScriptTrainer(path, spec);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  return trainer.ok() ? std::move(*trainer) : nullptr;
}

std::string SmallCnnFile(int side, int classes, uint64_t seed = 7) {
  const std::string path = TempPath(absl::StrCat("cnn_", side, "_", classes, "_", seed, ".pt"));
  absl::Status s = WriteSmallCnn(path, /*channels=*/1, side, side, classes, seed);
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

std::string LogisticFile(int channels, int height, int width, int classes, uint64_t seed = 3) {
  const std::string path =
      TempPath(absl::StrCat("logreg_", channels, height, width, "_", classes, "_", seed, ".pt"));
  absl::Status s = WriteLogisticRegression(path, channels, height, width, classes, seed);
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

std::vector<std::string> Names(const tensor::TensorList& list) {
  std::vector<std::string> names;
  for (const auto& t : list) names.push_back(t.name);
  return names;
}

double DeltaNorm(const tensor::TensorList& delta) {
  double sum = 0;
  for (const auto& t : delta) {
    for (float v : t.values) sum += double{v} * v;
  }
  return std::sqrt(sum);
}

bool SameBytes(const tensor::TensorList& a, const tensor::TensorList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].shape != b[i].shape ||
        a[i].values.size() != b[i].values.size() ||
        std::memcmp(a[i].values.data(), b[i].values.data(), a[i].values.size() * sizeof(float)) !=
            0) {
      return false;
    }
  }
  return true;
}

TEST(DemoModels, SmallCnnLoadsWithPyTorchStyleNames) {
  auto trainer = LoadOrDie(SmallCnnFile(28, 10), Spec({.labels = 10}));
  ASSERT_NE(trainer, nullptr);
  absl::StatusOr<tensor::TensorList> weights = trainer->Weights();
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_THAT(Names(*weights), ElementsAre("conv1.weight", "conv1.bias", "conv2.weight",
                                           "conv2.bias", "fc.weight", "fc.bias"));
  EXPECT_THAT((*weights)[0].shape, ElementsAre(8, 1, 3, 3));
  EXPECT_THAT((*weights)[2].shape, ElementsAre(16, 8, 3, 3));
  EXPECT_THAT((*weights)[4].shape, ElementsAre(10, 16 * 7 * 7));
  EXPECT_THAT((*weights)[5].shape, ElementsAre(10));
  // Uniform in +-1/sqrt(fan_in), fan_in = 9 for conv1.
  for (float v : (*weights)[0].values) EXPECT_LE(std::abs(v), 1.0f / 3.0f);
  EXPECT_EQ((*weights)[4].values.size(), 10u * 784u);
}

TEST(DemoModels, InitialisationFollowsTheSeed) {
  auto a = LoadOrDie(SmallCnnFile(16, 2, /*seed=*/1), Spec({.height = 16, .width = 16}));
  auto b = LoadOrDie(SmallCnnFile(16, 2, /*seed=*/1), Spec({.height = 16, .width = 16}));
  auto c = LoadOrDie(SmallCnnFile(16, 2, /*seed=*/2), Spec({.height = 16, .width = 16}));
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(SameBytes(*a->Weights(), *b->Weights()));
  EXPECT_FALSE(SameBytes(*a->Weights(), *c->Weights()));
}

TEST(DemoModels, RejectsBadSizesAndUnwritablePaths) {
  EXPECT_EQ(WriteSmallCnn(TempPath("x.pt"), 1, 3, 28, 2, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteLogisticRegression(TempPath("x.pt"), 1, 1, 1, 0, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(WriteSmallCnn("/nonexistent-dir/model.pt", 1, 28, 28, 2, 1).ok());
}

TEST(TorchTrainer, LogisticRegressionWeights) {
  auto trainer =
      LoadOrDie(LogisticFile(3, 4, 5, 2), Spec({.channels = 3, .height = 4, .width = 5}));
  ASSERT_NE(trainer, nullptr);
  absl::StatusOr<tensor::TensorList> weights = trainer->Weights();
  ASSERT_TRUE(weights.ok());
  EXPECT_THAT(Names(*weights), ElementsAre("fc.weight", "fc.bias"));
  EXPECT_THAT((*weights)[0].shape, ElementsAre(2, 60));
  EXPECT_THAT((*weights)[1].shape, ElementsAre(2));
}

TEST(TorchTrainer, SetWeightsRoundTrips) {
  auto trainer = LoadOrDie(LogisticFile(1, 2, 2, 2), Spec({.height = 2, .width = 2}));
  ASSERT_NE(trainer, nullptr);
  tensor::TensorList weights = *trainer->Weights();
  for (auto& t : weights) {
    for (size_t i = 0; i < t.values.size(); ++i) t.values[i] = 0.25f * static_cast<float>(i) - 1;
  }
  ASSERT_TRUE(trainer->SetWeights(weights).ok());
  EXPECT_TRUE(SameBytes(*trainer->Weights(), weights));
}

TEST(TorchTrainer, SetWeightsRejectsMismatchesAndChangesNothing) {
  auto trainer = LoadOrDie(LogisticFile(1, 2, 2, 2), Spec({.height = 2, .width = 2}));
  ASSERT_NE(trainer, nullptr);
  const tensor::TensorList original = *trainer->Weights();

  tensor::TensorList missing = original;
  missing.pop_back();
  tensor::TensorList renamed = original;
  renamed[1].name = "fc.b";
  tensor::TensorList reshaped = original;
  reshaped[0].shape = {4, 2};
  tensor::TensorList short_values = original;
  short_values[0].values.pop_back();
  tensor::TensorList swapped = {original[1], original[0]};
  // The first tensor is valid and would be applied by a non-atomic setter.
  renamed[0].values.assign(renamed[0].values.size(), 9.0f);

  for (const auto* bad : {&missing, &renamed, &reshaped, &short_values, &swapped}) {
    absl::Status s = trainer->SetWeights(*bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  EXPECT_THAT(trainer->SetWeights(renamed).message(), HasSubstr("fc.b"));
  EXPECT_THAT(trainer->SetWeights(reshaped).message(), HasSubstr("[4,2]"));
  EXPECT_TRUE(SameBytes(*trainer->Weights(), original));
}

TEST(TorchTrainer, SmallCnnLearnsBrightVersusDark) {
  const SpecOptions o{.height = 16, .width = 16, .batch_size = 16, .epochs = 3};
  auto trainer = LoadOrDie(SmallCnnFile(16, 2), Spec(o));
  ASSERT_NE(trainer, nullptr);
  std::vector<Example> examples = BrightDark(128, 1, 16, 16, /*seed=*/1);
  for (Example& e : BrightDark(64, 1, 16, 16, /*seed=*/2, Split::kValidation)) {
    examples.push_back(std::move(e));
  }
  FakeDataSource source(std::move(examples));
  const std::vector<size_t> train = source.IndicesOf(Split::kTrain);
  const std::vector<size_t> validation = source.IndicesOf(Split::kValidation);

  absl::StatusOr<EvalResult> before = trainer->Evaluate(source, validation);
  ASSERT_TRUE(before.ok()) << before.status();
  std::vector<std::pair<int64_t, int64_t>> calls;
  absl::StatusOr<TrainResult> result =
      trainer->Train(source, train, /*round_seed=*/11,
                     [&calls](int64_t done, int64_t total) { calls.emplace_back(done, total); });
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<EvalResult> after = trainer->Evaluate(source, validation);
  ASSERT_TRUE(after.ok()) << after.status();

  EXPECT_EQ(result->samples, 128);
  EXPECT_EQ(result->steps, 3 * 8);
  ASSERT_EQ(calls.size(), 24u);
  EXPECT_EQ(calls.front(), std::make_pair(int64_t{1}, int64_t{24}));
  EXPECT_EQ(calls.back(), std::make_pair(int64_t{24}, int64_t{24}));
  EXPECT_TRUE(std::isfinite(result->mean_loss));
  EXPECT_LT(after->loss, before->loss);
  EXPECT_GE(after->accuracy, 0.9);
  EXPECT_EQ(after->samples, 64);
  ASSERT_TRUE(after->roc_auc.has_value());
  EXPECT_GE(*after->roc_auc, 0.95);
}

// Trains from `start` with `seed` and returns the delta.
tensor::TensorList DeltaFrom(Trainer& trainer, const tensor::TensorList& start,
                             const DataSource& source, uint64_t seed) {
  EXPECT_TRUE(trainer.SetWeights(start).ok());
  absl::StatusOr<TrainResult> result = trainer.Train(source, Range(source.Size()), seed);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->delta : tensor::TensorList{};
}

void ExpectDeterministic(uint32_t threads) {
  const SpecOptions o{.batch_size = 32, .epochs = 1, .threads = threads};
  const std::string path = SmallCnnFile(28, 2);
  auto trainer = LoadOrDie(path, Spec(o));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(96, 1, 28, 28, /*seed=*/5));
  const tensor::TensorList start = *trainer->Weights();

  const tensor::TensorList first = DeltaFrom(*trainer, start, source, 42);
  ASSERT_FALSE(first.empty());
  EXPECT_GT(DeltaNorm(first), 0);
  // Same process, later calls (past the JIT's profiling runs), and a second
  // trainer loaded from the file.
  for (int repeat = 0; repeat < 3; ++repeat) {
    EXPECT_TRUE(SameBytes(first, DeltaFrom(*trainer, start, source, 42))) << repeat;
  }
  auto other = LoadOrDie(path, Spec(o));
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(SameBytes(first, DeltaFrom(*other, start, source, 42)));
  EXPECT_FALSE(SameBytes(first, DeltaFrom(*trainer, start, source, 43)));
}

TEST(TorchTrainer, SameSeedGivesIdenticalDeltasWithOneThread) { ExpectDeterministic(1); }

TEST(TorchTrainer, SameSeedGivesIdenticalDeltasWithTwoThreads) { ExpectDeterministic(2); }

TEST(TorchTrainer, DeltaIsAfterMinusBeforeAndTheModelKeepsTheTrainedWeights) {
  const SpecOptions o{.height = 16, .width = 16, .batch_size = 8, .epochs = 1};
  auto trainer = LoadOrDie(SmallCnnFile(16, 2), Spec(o));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(40, 1, 16, 16, /*seed=*/3));
  const tensor::TensorList before = *trainer->Weights();
  absl::StatusOr<TrainResult> result = trainer->Train(source, Range(40), /*round_seed=*/1);
  ASSERT_TRUE(result.ok()) << result.status();
  const tensor::TensorList after = *trainer->Weights();
  ASSERT_EQ(Names(result->delta), Names(before));
  for (size_t t = 0; t < before.size(); ++t) {
    ASSERT_EQ(result->delta[t].shape, before[t].shape);
    for (size_t i = 0; i < before[t].values.size(); ++i) {
      ASSERT_EQ(result->delta[t].values[i], after[t].values[i] - before[t].values[i])
          << before[t].name << "[" << i << "]";
    }
  }
  EXPECT_GT(DeltaNorm(result->delta), 0);
}

TEST(TorchTrainer, OneSgdStepMatchesTheHandComputation) {
  // Two inputs, two classes, one full batch, plain SGD.
  const SpecOptions o{.height = 1,
                      .width = 2,
                      .optimizer = v1::OptimizerSpec::SGD,
                      .learning_rate = 0.5,
                      .batch_size = 2,
                      .epochs = 0,
                      .steps = 1};
  auto trainer = LoadOrDie(LogisticFile(1, 1, 2, 2), Spec(o));
  ASSERT_NE(trainer, nullptr);
  const double w[2][2] = {{0.1, -0.2}, {0.3, 0.4}};
  const double b[2] = {0.05, -0.05};
  tensor::TensorList weights = {
      {"fc.weight", {2, 2}, {0.1f, -0.2f, 0.3f, 0.4f}},
      {"fc.bias", {2}, {0.05f, -0.05f}},
  };
  ASSERT_TRUE(trainer->SetWeights(weights).ok());
  const double x[2][2] = {{1.0, 2.0}, {-1.0, 0.5}};
  const int y[2] = {0, 1};
  FakeDataSource source({MakeExample({1.0f, 2.0f}, 0), MakeExample({-1.0f, 0.5f}, 1)});

  // d(mean CE)/dz = (softmax(z) - onehot) / batch.
  double grad_w[2][2] = {}, grad_b[2] = {};
  double loss = 0;
  for (int n = 0; n < 2; ++n) {
    double z[2];
    for (int k = 0; k < 2; ++k) z[k] = w[k][0] * x[n][0] + w[k][1] * x[n][1] + b[k];
    const double m = std::max(z[0], z[1]);
    const double denom = std::exp(z[0] - m) + std::exp(z[1] - m);
    loss += (std::log(denom) + m - z[y[n]]) / 2;
    for (int k = 0; k < 2; ++k) {
      const double g = (std::exp(z[k] - m) / denom - (k == y[n] ? 1 : 0)) / 2;
      grad_b[k] += g;
      for (int j = 0; j < 2; ++j) grad_w[k][j] += g * x[n][j];
    }
  }
  absl::StatusOr<TrainResult> result = trainer->Train(source, {0, 1}, /*round_seed=*/9);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->steps, 1);
  EXPECT_NEAR(result->mean_loss, loss, 1e-6);
  for (int k = 0; k < 2; ++k) {
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(result->delta[0].values[k * 2 + j], -0.5 * grad_w[k][j], 1e-6);
    }
    EXPECT_NEAR(result->delta[1].values[k], -0.5 * grad_b[k], 1e-6);
  }
}

TEST(TorchTrainer, FedProxKeepsTheWeightsCloserToTheStart) {
  FakeDataSource source(BrightDark(64, 1, 4, 4, /*seed=*/8));
  const std::string path = LogisticFile(1, 4, 4, 2);
  SpecOptions o{.height = 4,
                .width = 4,
                .optimizer = v1::OptimizerSpec::SGD,
                .learning_rate = 0.1,
                .batch_size = 8,
                .epochs = 5};
  auto plain = LoadOrDie(path, Spec(o));
  o.mu = 5;
  auto prox = LoadOrDie(path, Spec(o));
  ASSERT_TRUE(plain && prox);
  absl::StatusOr<TrainResult> a = plain->Train(source, Range(64), 1);
  absl::StatusOr<TrainResult> b = prox->Train(source, Range(64), 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(DeltaNorm(b->delta), 0.5 * DeltaNorm(a->delta));
  EXPECT_GT(DeltaNorm(b->delta), 0);
}

TEST(TorchTrainer, EveryOptimizerTrains) {
  FakeDataSource source(BrightDark(32, 1, 4, 4, /*seed=*/4));
  const std::string path = LogisticFile(1, 4, 4, 2);
  for (auto kind : {v1::OptimizerSpec::SGD, v1::OptimizerSpec::ADAM, v1::OptimizerSpec::ADAMW}) {
    v1::RunSpec spec = Spec({.height = 4, .width = 4, .optimizer = kind, .batch_size = 8});
    spec.mutable_optimizer()->set_weight_decay(0.01);
    if (kind == v1::OptimizerSpec::SGD) {
      spec.mutable_optimizer()->set_momentum(0.9);
      spec.mutable_optimizer()->set_nesterov(true);
    }
    auto trainer = LoadOrDie(path, spec);
    ASSERT_NE(trainer, nullptr);
    absl::StatusOr<TrainResult> result = trainer->Train(source, Range(32), 1);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_GT(DeltaNorm(result->delta), 0) << kind;
  }
}

TEST(TorchTrainer, LocalStepsRepeatPassesAsNeeded) {
  const SpecOptions o{.height = 4, .width = 4, .batch_size = 4, .epochs = 0, .steps = 5};
  auto trainer = LoadOrDie(LogisticFile(1, 4, 4, 2), Spec(o));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(8, 1, 4, 4, /*seed=*/4));
  int64_t last_total = 0, calls = 0;
  absl::StatusOr<TrainResult> result =
      trainer->Train(source, Range(8), 1, [&](int64_t, int64_t total) {
        ++calls;
        last_total = total;
      });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->steps, 5);
  EXPECT_EQ(result->samples, 8);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(last_total, 5);
}

TEST(TorchTrainer, BinaryCrossEntropyWithOneOutput) {
  const SpecOptions o{.height = 4,
                      .width = 4,
                      .loss = v1::LOSS_KIND_BINARY_CROSS_ENTROPY,
                      .learning_rate = 0.05,
                      .batch_size = 8,
                      .epochs = 5};
  auto trainer = LoadOrDie(LogisticFile(1, 4, 4, /*classes=*/1), Spec(o));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(64, 1, 4, 4, /*seed=*/6));
  absl::StatusOr<EvalResult> before = trainer->Evaluate(source, Range(64));
  absl::StatusOr<TrainResult> result = trainer->Train(source, Range(64), 3);
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<EvalResult> after = trainer->Evaluate(source, Range(64));
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(after->loss, before->loss);
  EXPECT_GE(after->accuracy, 0.9);
  EXPECT_GE(result->accuracy, 0.5);
  ASSERT_TRUE(after->roc_auc.has_value());
  EXPECT_GE(*after->roc_auc, 0.99);
  ASSERT_EQ(after->confusion.size(), 2u);
}

TEST(TorchTrainer, BinaryCrossEntropyWithOneOutputPerLabel) {
  const SpecOptions o{.height = 4,
                      .width = 4,
                      .loss = v1::LOSS_KIND_BINARY_CROSS_ENTROPY,
                      .learning_rate = 0.05,
                      .batch_size = 8,
                      .epochs = 5};
  auto trainer = LoadOrDie(LogisticFile(1, 4, 4, /*classes=*/2), Spec(o));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(64, 1, 4, 4, /*seed=*/6));
  ASSERT_TRUE(trainer->Train(source, Range(64), 3).ok());
  absl::StatusOr<EvalResult> after = trainer->Evaluate(source, Range(64));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GE(after->accuracy, 0.9);
}

// fc: logit(1) - logit(0) = x - 0.5 on a single pixel x.
std::unique_ptr<Trainer> ThresholdModel(bool constant) {
  auto trainer = LoadOrDie(LogisticFile(1, 1, 1, 2), Spec({.height = 1, .width = 1}));
  if (trainer == nullptr) return nullptr;
  tensor::TensorList weights = {{"fc.weight", {2, 1}, {0.0f, constant ? 0.0f : 1.0f}},
                                {"fc.bias", {2}, {0.0f, constant ? 0.0f : -0.5f}}};
  EXPECT_TRUE(trainer->SetWeights(weights).ok());
  return trainer;
}

TEST(TorchTrainer, EvaluateCraftedCase) {
  auto trainer = ThresholdModel(/*constant=*/false);
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source({MakeExample({0.1f}, 0), MakeExample({0.2f}, 0), MakeExample({0.9f}, 0),
                         MakeExample({0.8f}, 1), MakeExample({0.7f}, 1), MakeExample({0.3f}, 1)});
  absl::StatusOr<EvalResult> r = trainer->Evaluate(source, Range(6));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples, 6);
  EXPECT_THAT(r->confusion, ElementsAre(ElementsAre(2, 1), ElementsAre(1, 2)));
  EXPECT_DOUBLE_EQ(r->accuracy, 4.0 / 6);
  EXPECT_THAT(r->sensitivity,
              ElementsAre(::testing::DoubleEq(2.0 / 3), ::testing::DoubleEq(2.0 / 3)));
  EXPECT_THAT(r->specificity,
              ElementsAre(::testing::DoubleEq(2.0 / 3), ::testing::DoubleEq(2.0 / 3)));
  ASSERT_TRUE(r->roc_auc.has_value());
  EXPECT_NEAR(*r->roc_auc, 6.0 / 9, 1e-12);
}

TEST(TorchTrainer, EvaluateRocAucPerfectAndConstant) {
  FakeDataSource source({MakeExample({0.1f}, 0), MakeExample({0.2f}, 0), MakeExample({0.8f}, 1),
                         MakeExample({0.9f}, 1), MakeExample({0.7f}, 1)});
  auto separating = ThresholdModel(/*constant=*/false);
  auto constant = ThresholdModel(/*constant=*/true);
  ASSERT_TRUE(separating && constant);
  absl::StatusOr<EvalResult> perfect = separating->Evaluate(source, Range(5));
  absl::StatusOr<EvalResult> flat = constant->Evaluate(source, Range(5));
  ASSERT_TRUE(perfect.ok() && flat.ok());
  EXPECT_DOUBLE_EQ(*perfect->roc_auc, 1.0);
  EXPECT_DOUBLE_EQ(perfect->accuracy, 1.0);
  EXPECT_DOUBLE_EQ(*flat->roc_auc, 0.5);
  EXPECT_NEAR(flat->loss, std::log(2.0), 1e-6);
  // Equal logits: argmax picks class 0.
  EXPECT_THAT(flat->confusion, ElementsAre(ElementsAre(2, 0), ElementsAre(3, 0)));
  EXPECT_DOUBLE_EQ(flat->sensitivity[1], 0.0);
  EXPECT_DOUBLE_EQ(flat->specificity[1], 1.0);
}

TEST(TorchTrainer, EvaluateDoesNotChangeTheWeights) {
  auto trainer = LoadOrDie(SmallCnnFile(16, 2), Spec({.height = 16, .width = 16}));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(20, 1, 16, 16, /*seed=*/3));
  const tensor::TensorList before = *trainer->Weights();
  ASSERT_TRUE(trainer->Evaluate(source, Range(20)).ok());
  EXPECT_TRUE(SameBytes(before, *trainer->Weights()));
}

TEST(LoadTorchScriptTrainer, GarbageFileIsNotATorchScriptModel) {
  const std::string path = TempPath("garbage.pt");
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not a zip archive, let alone a TorchScript model";
  }
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = LoadTorchScriptTrainer(path, Spec({}));
  EXPECT_EQ(trainer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(trainer.status().message(), HasSubstr("not a TorchScript model"));
  // The message is one line: no C++ backtrace.
  EXPECT_EQ(trainer.status().message().find('\n'), absl::string_view::npos)
      << trainer.status().message();

  const std::string empty = TempPath("empty.pt");
  { std::ofstream out(empty, std::ios::binary); }
  EXPECT_EQ(LoadTorchScriptTrainer(empty, Spec({})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LoadTorchScriptTrainer, MissingFileIsNotFound) {
  EXPECT_EQ(LoadTorchScriptTrainer(TempPath("missing.pt"), Spec({})).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LoadTorchScriptTrainer, RejectsAnInvalidSpec) {
  const std::string path = LogisticFile(1, 4, 4, 2);
  v1::RunSpec both = Spec({.height = 4, .width = 4, .epochs = 1, .steps = 3});
  v1::RunSpec one_label = Spec({.height = 4, .width = 4, .labels = 1});
  v1::RunSpec no_batch = Spec({.height = 4, .width = 4, .batch_size = 0});
  for (const auto* spec : {&both, &one_label, &no_batch}) {
    EXPECT_EQ(LoadTorchScriptTrainer(path, *spec).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(LoadTorchScriptTrainer, InputSizeTheModelCannotTake) {
  // A CNN built for 28x28 run on 27x27 inputs: the linear layer does not fit.
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      LoadTorchScriptTrainer(SmallCnnFile(28, 2), Spec({.height = 27, .width = 27}));
  EXPECT_EQ(trainer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(trainer.status().message(),
              HasSubstr("model forward failed on a batch of shape [1,1,27,27]: RuntimeError: "
                        "mat1 and mat2 shapes cannot be multiplied (1x576 and 784x2)"));
  EXPECT_EQ(trainer.status().message().find('\n'), absl::string_view::npos);
}

TEST(LoadTorchScriptTrainer, OutputShapeThatDoesNotFitTheLabels) {
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      LoadTorchScriptTrainer(SmallCnnFile(16, 3), Spec({.height = 16, .width = 16, .labels = 2}));
  EXPECT_EQ(trainer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(trainer.status().message(), HasSubstr("[1,3]"));
  EXPECT_THAT(trainer.status().message(), HasSubstr("expected [1,2]"));
  // One output only works with binary cross-entropy.
  EXPECT_EQ(LoadTorchScriptTrainer(LogisticFile(1, 4, 4, 1), Spec({.height = 4, .width = 4}))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(TorchTrainer, ExamplesOfTheWrongSizeAreAnErrorNotACrash) {
  auto trainer = LoadOrDie(SmallCnnFile(28, 2), Spec({}));
  ASSERT_NE(trainer, nullptr);
  FakeDataSource source(BrightDark(8, 1, 27, 27, /*seed=*/1));
  absl::StatusOr<TrainResult> result = trainer->Train(source, Range(8), 1);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("729 pixel values"));
  EXPECT_THAT(result.status().message(), HasSubstr("1x28x28 = 784"));
  EXPECT_EQ(trainer->Evaluate(source, Range(8)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TorchTrainer, BadExamplesFailAndRestoreTheStartingWeights) {
  const SpecOptions o{.height = 4, .width = 4, .batch_size = 1, .epochs = 1};
  auto trainer = LoadOrDie(LogisticFile(1, 4, 4, 2), Spec(o));
  ASSERT_NE(trainer, nullptr);
  std::vector<Example> examples = BrightDark(16, 1, 4, 4, /*seed=*/2);
  examples.push_back(MakeExample(std::vector<float>(16, 0.5f), /*label=*/2));
  FakeDataSource source(std::move(examples));
  const tensor::TensorList before = *trainer->Weights();
  // Batches of one: some steps are taken before the bad example comes.
  int64_t steps_before_failure = 0;
  absl::StatusOr<TrainResult> result = trainer->Train(
      source, Range(17), 1, [&](int64_t done, int64_t) { steps_before_failure = done; });
  EXPECT_GT(steps_before_failure, 0);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("label 2"));
  EXPECT_TRUE(SameBytes(before, *trainer->Weights()));

  EXPECT_EQ(trainer->Train(source, {99}, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(trainer->Train(source, {}, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(trainer->Evaluate(source, {}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tverr::node
