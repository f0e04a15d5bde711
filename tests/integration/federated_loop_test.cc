// The pieces of a federated round, in one process and without the network:
// three hospitals with non-IID demo DICOM data (Fashion-MNIST written as
// DICOM) train a small CNN with LibTorch, the coordinator's FedAvg folds the
// updates, and the pooled validation accuracy rises round by round. The
// network, the round state machine and persistence come with issue 4's
// remaining parts; this test pins the numerics they will carry.
#include <gtest/gtest.h>

#include <memory>

#include "coordinator/aggregation/aggregator_factory.h"
#include "coordinator/aggregation/server_optimizer.h"
#include "node/data/demo/demo_dataset.h"
#include "node/data/dicom_directory_source.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"
#include "tests/support/temp_dir.h"

namespace tverr::testing {
namespace {

v1::RunSpec Spec(const std::string& artifact) {
  v1::RunSpec spec;
  spec.set_artifact_path(artifact);
  spec.mutable_input()->set_width(28);
  spec.mutable_input()->set_height(28);
  spec.mutable_input()->set_channels(1);
  for (const std::string& l : node::demo::FashionMnistLabels()) spec.add_labels(l);
  spec.set_loss(v1::LOSS_KIND_CROSS_ENTROPY);
  spec.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
  spec.mutable_optimizer()->set_learning_rate(0.05);
  spec.mutable_optimizer()->set_momentum(0.9);
  spec.mutable_local()->set_batch_size(32);
  spec.mutable_local()->set_local_epochs(1);
  spec.mutable_local()->set_threads(1);
  spec.mutable_aggregation()->set_strategy(v1::AggregationSpec::FEDAVG);
  spec.mutable_aggregation()->set_server_learning_rate(1.0);
  return spec;
}

TEST(FederatedLoop, ThreeNonIidHospitalsImproveTheSharedModel) {
  TempDir tmp;
  node::demo::DemoOptions demo;
  demo.out_dir = tmp.Sub("demo");
  demo.sites = {"oslo-uh", "bergen-hus", "tromso-unn"};
  demo.images_per_site = 600;
  demo.non_iid = true;
  demo.dirichlet_alpha = 1.0;
  demo.seed = 11;
  ASSERT_TRUE(node::demo::WriteDemoSites(demo).ok());

  const std::string artifact = tmp.Sub("cnn.pt");
  ASSERT_TRUE(node::WriteSmallCnn(artifact, 1, 28, 28, 10, /*seed=*/5).ok());
  const v1::RunSpec spec = Spec(artifact);

  struct Site {
    std::unique_ptr<node::DicomDirectorySource> data;
    std::unique_ptr<node::Trainer> trainer;
  };
  std::vector<Site> sites;
  for (const std::string& name : demo.sites) {
    node::DirectorySourceOptions o;
    o.source.set_directory(demo.out_dir + "/" + name + "/dicom");
    o.source.set_manifest(demo.out_dir + "/" + name + "/labels.csv");
    o.input = spec.input();
    o.labels = node::demo::FashionMnistLabels();
    o.fractions.set_train(0.8);
    o.fractions.set_validation(0.2);
    o.split_salt = "federated-loop";
    o.cache_dir = tmp.Sub("cache-" + name);
    auto data = node::DicomDirectorySource::Open(o);
    ASSERT_TRUE(data.ok()) << data.status();
    ASSERT_EQ((*data)->report().issues.size(), 0u);
    auto trainer = node::LoadTorchScriptTrainer(artifact, spec);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    sites.push_back({std::move(*data), std::move(*trainer)});
  }

  auto global = sites[0].trainer->Weights();
  ASSERT_TRUE(global.ok());
  auto pooled_accuracy = [&](const tensor::TensorList& weights) {
    int64_t correct = 0, total = 0;
    for (Site& s : sites) {
      EXPECT_TRUE(s.trainer->SetWeights(weights).ok());
      auto eval = s.trainer->Evaluate(*s.data, s.data->IndicesOf(node::Split::kValidation));
      EXPECT_TRUE(eval.ok()) << eval.status();
      correct += static_cast<int64_t>(eval->accuracy * eval->samples + 0.5);
      total += eval->samples;
    }
    return static_cast<double>(correct) / total;
  };

  const double before = pooled_accuracy(*global);
  std::vector<double> accuracy;
  for (int round = 1; round <= 3; ++round) {
    auto aggregator = coordinator::MakeAggregator(spec.aggregation(), nullptr);
    ASSERT_TRUE(aggregator.ok()) << aggregator.status();
    ASSERT_TRUE((*aggregator)->Begin(*global).ok());
    for (size_t i = 0; i < sites.size(); ++i) {
      ASSERT_TRUE(sites[i].trainer->SetWeights(*global).ok());
      auto result = sites[i].trainer->Train(
          *sites[i].data, sites[i].data->IndicesOf(node::Split::kTrain), /*round_seed=*/round);
      ASSERT_TRUE(result.ok()) << result.status();
      ASSERT_TRUE((*aggregator)
                      ->AddUpdate(demo.sites[i], static_cast<double>(result->samples),
                                  result->delta)
                      .ok());
    }
    auto next = (*aggregator)->Finish();
    ASSERT_TRUE(next.ok()) << next.status();
    global = std::move(next);
    accuracy.push_back(pooled_accuracy(*global));
  }
  // Ten classes: chance is 0.1. Three rounds on 1,440 training images lift
  // the shared model well above it, and the last round beats the first.
  std::printf("pooled validation accuracy: before %.3f, rounds %.3f %.3f %.3f\n", before,
              accuracy[0], accuracy[1], accuracy[2]);
  EXPECT_LT(before, 0.2);
  EXPECT_GT(accuracy.back(), 0.5) << "accuracy per round: " << accuracy[0] << " "
                                  << accuracy[1] << " " << accuracy[2];
  EXPECT_GT(accuracy.back(), accuracy.front());
}

}  // namespace
}  // namespace tverr::testing
