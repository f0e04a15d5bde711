// The node's round work in-process: approval before any data is read,
// run-id and digest checks, then real training on demo DICOM data.
#include "node/worker/round_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "common/crypto/sha256.h"
#include "common/runs/run_id.h"
#include "common/tensor/tensor_codec.h"
#include "node/data/demo/demo_dataset.h"
#include "node/trainer/demo_models.h"
#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

using ::testing::HasSubstr;

class FakeFetcher final : public PayloadFetcher {
 public:
  absl::StatusOr<std::string> Fetch(const std::string& hex, v1::PayloadKind kind) override {
    ++fetches;
    auto it = payloads.find(hex);
    if (it == payloads.end() || it->second.first != kind) {
      return absl::NotFoundError("no such payload");
    }
    return it->second.second;
  }
  std::string Add(v1::PayloadKind kind, std::string bytes) {
    std::string hex = crypto::ToHex(crypto::Sha256(bytes));
    payloads[hex] = {kind, std::move(bytes)};
    return hex;
  }
  std::map<std::string, std::pair<v1::PayloadKind, std::string>> payloads;
  int fetches = 0;
};

class RoundWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    demo::DemoOptions demo;
    demo.out_dir = tmp_.Sub("demo");
    demo.sites = {"oslo-uh"};
    demo.images_per_site = 200;
    ASSERT_TRUE(demo::WriteDemoSites(demo).ok());
    ASSERT_TRUE(WriteSmallCnn(tmp_.Sub("cnn.pt"), 1, 28, 28, 10, 3).ok());
    std::ifstream in(tmp_.Sub("cnn.pt"), std::ios::binary);
    std::stringstream artifact;
    artifact << in.rdbuf();
    spec_.mutable_input()->set_width(28);
    spec_.mutable_input()->set_height(28);
    spec_.mutable_input()->set_channels(1);
    for (const std::string& l : demo::FashionMnistLabels()) spec_.add_labels(l);
    spec_.set_loss(v1::LOSS_KIND_CROSS_ENTROPY);
    spec_.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
    spec_.mutable_optimizer()->set_learning_rate(0.05);
    spec_.mutable_local()->set_batch_size(32);
    spec_.mutable_local()->set_local_epochs(1);
    spec_.mutable_local()->set_threads(1);
    spec_.mutable_splits()->set_train(0.8);
    spec_.mutable_splits()->set_validation(0.2);
    spec_.set_artifact_sha256(fetcher_.Add(v1::PAYLOAD_KIND_MODEL_ARTIFACT, artifact.str()));
    run_id_ = *runs::RunId(spec_);

    // The initial global weights, as the coordinator would publish them.
    auto trainer = LoadTorchScriptTrainer(tmp_.Sub("cnn.pt"), spec_);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    initial_ = *(*trainer)->Weights();
    weights_hex_ = fetcher_.Add(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, tensor::Encode(initial_));
  }

  RoundWorkerOptions Options(bool approve) {
    RoundWorkerOptions o;
    o.data.mutable_directory()->set_directory(tmp_.Sub("demo/oslo-uh/dicom"));
    o.data.mutable_directory()->set_manifest(tmp_.Sub("demo/oslo-uh/labels.csv"));
    o.data.set_cache_dir(tmp_.Sub("cache"));
    if (approve) o.approved_runs.insert(run_id_);
    o.work_dir = tmp_.Sub("work");
    return o;
  }

  v1::TrainTask Task() {
    v1::TrainTask t;
    t.set_run_id(run_id_);
    *t.mutable_spec() = spec_;
    t.set_round(1);
    t.set_round_seed(1);
    std::string digest = absl::HexStringToBytes(weights_hex_);
    t.mutable_global_weights()->set_digest(digest);
    return t;
  }

  testing::TempDir tmp_;
  FakeFetcher fetcher_;
  v1::RunSpec spec_;
  std::string run_id_;
  std::string weights_hex_;
  tensor::TensorList initial_;
};

TEST_F(RoundWorkerTest, TrainsAnApprovedRunAndReturnsADeltaOfTheModelsLayout) {
  RoundWorker worker(Options(/*approve=*/true), &fetcher_);
  auto outcome = worker.Train(Task());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  auto delta = tensor::Decode(outcome->update);
  ASSERT_TRUE(delta.ok()) << delta.status();
  EXPECT_TRUE(tensor::SameLayout(tensor::LayoutOf(*delta), tensor::LayoutOf(initial_)).ok());
  EXPECT_GT(outcome->info.samples(), 100u);
  EXPECT_LT(outcome->info.samples(), 200u);
  EXPECT_GT(outcome->info.steps(), 0u);
  bool changed = false;
  for (const auto& t : *delta) {
    for (float v : t.values) changed |= v != 0.0f;
  }
  EXPECT_TRUE(changed);
  auto eval = worker.Evaluate([&] {
    v1::EvaluateTask e;
    e.set_run_id(run_id_);
    *e.mutable_spec() = spec_;
    e.set_round(1);
    *e.mutable_global_weights() = Task().global_weights();
    return e;
  }());
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_GT(eval->samples, 0);
}

TEST_F(RoundWorkerTest, EmptyValidationSplitEvaluatesToZeroExamples) {
  spec_.mutable_splits()->set_train(1.0);
  spec_.mutable_splits()->set_validation(0.0);
  run_id_ = *runs::RunId(spec_);
  RoundWorker worker(Options(/*approve=*/true), &fetcher_);
  v1::EvaluateTask e;
  e.set_run_id(run_id_);
  *e.mutable_spec() = spec_;
  e.set_round(1);
  *e.mutable_global_weights() = Task().global_weights();
  auto eval = worker.Evaluate(e);
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(eval->samples, 0);
}

TEST_F(RoundWorkerTest, UnapprovedRunIsRefusedBeforeAnythingIsRead) {
  RoundWorker worker(Options(/*approve=*/false), &fetcher_);
  auto outcome = worker.Train(Task());
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(outcome.status().message()), HasSubstr("not approved"));
  EXPECT_EQ(fetcher_.fetches, 0);
  EXPECT_FALSE(std::filesystem::exists(tmp_.Sub("cache"))) << "no data was touched";
}

TEST_F(RoundWorkerTest, TaskWhoseSpecIsNotItsRunIsRefused) {
  RoundWorker worker(Options(/*approve=*/true), &fetcher_);
  v1::TrainTask task = Task();
  task.mutable_spec()->mutable_optimizer()->set_learning_rate(5.0);  // not what was approved
  auto outcome = worker.Train(task);
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outcome.status().message()), HasSubstr("carries the spec of run"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.Sub("cache")));
}

TEST_F(RoundWorkerTest, PayloadsThatDoNotMatchTheirDigestAreRefused) {
  // A coordinator that serves different bytes under the approved digest.
  fetcher_.payloads[spec_.artifact_sha256()].second = "not the approved model";
  RoundWorker worker(Options(/*approve=*/true), &fetcher_);
  auto outcome = worker.Train(Task());
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(outcome.status().message()), HasSubstr("MODEL_ARTIFACT"));
}

}  // namespace
}  // namespace tverr::node
