// The federation trains over the network: an in-process coordinator with
// real mutual TLS pushes TrainTasks to three in-process node daemons, each
// training the demo CNN with LibTorch on its own non-IID demo DICOM data
// and streaming its update back, which the coordinator folds into the
// round as it arrives and commits.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/crypto/sha256.h"
#include "coordinator/runs/run_spec.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "node/data/demo/demo_dataset.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"
#include "tests/integration/federation_fixture.h"
#include "tests/support/subprocess.h"

namespace tverr::testing {
namespace {

class TrainingRoundTest : public FederationFixture {};

TEST_F(TrainingRoundTest, ThreeHospitalsTrainTwoRoundsOverMutualTls) {
  node::demo::DemoOptions demo;
  demo.out_dir = tmp_.Sub("demo");
  demo.sites = {"oslo-uh", "bergen-hus", "tromso-unn"};
  demo.images_per_site = 300;
  demo.non_iid = true;
  demo.dirichlet_alpha = 1.0;
  ASSERT_TRUE(node::demo::WriteDemoSites(demo).ok());
  const std::string artifact_path = tmp_.Sub("cnn.pt");
  ASSERT_TRUE(node::WriteSmallCnn(artifact_path, 1, 28, 28, 10, 5).ok());
  const std::string artifact = ReadFileOrEmpty(artifact_path);

  v1::RunSpec spec = DemoSpec(artifact, /*rounds=*/2, /*min_nodes=*/3);
  spec.set_name("demo-cnn");
  spec.mutable_optimizer()->set_momentum(0.9);
  spec.mutable_rounds()->set_phase_deadline_seconds(120);
  spec.mutable_rounds()->set_evaluate_every(1);
  spec.mutable_splits()->set_train(0.8);
  spec.mutable_splits()->set_validation(0.2);
  spec.set_seed(3);
  spec = coordinator::WithDefaults(spec);
  ASSERT_TRUE(coordinator::ValidateRunSpec(spec).ok()) << coordinator::ValidateRunSpec(spec);
  auto run_id = coordinator::RunId(spec);
  ASSERT_TRUE(run_id.ok());

  auto reference = node::LoadTorchScriptTrainer(artifact_path, spec);
  ASSERT_TRUE(reference.ok()) << reference.status();
  const tensor::TensorList initial = *(*reference)->Weights();

  DaemonGroup daemons;
  ASSERT_NO_FATAL_FAILURE(StartTrainingDaemons(daemons, demo.sites, demo.out_dir, *run_id));

  ASSERT_TRUE(server_->StartRun(spec, artifact, initial).ok());
  // What researchers see while the round runs: the nodes' training steps
  // as they report them (sent at once when a node starts training).
  uint64_t steps_seen = 0;
  const bool done = WaitFor(
      [&] {
        coordinator::RunProgress p = server_->Progress();
        if (p.current) {
          for (const v1::NodeProgress& n : p.current->nodes()) {
            // Kept after training ends, so a fast round is seen too.
            steps_seen = std::max(steps_seen, n.train_total());
          }
        }
        return p.state != "running";
      },
      absl::Seconds(240));
  coordinator::RunProgress progress = server_->Progress();
  daemons.Stop();
  ASSERT_TRUE(done) << "run still " << progress.state << " at round " << progress.committed_round;
  ASSERT_EQ(progress.state, "completed") << progress.failure;
  ASSERT_EQ(progress.history.size(), 2u);
  // About 240 training examples per site in batches of 32.
  EXPECT_GE(steps_seen, 5u) << "no training progress was seen";
  for (const coordinator::RoundRecord& r : progress.history) {
    EXPECT_GT(r.max_train_seconds, 0) << "round " << r.round;
    EXPECT_GT(r.duration_seconds, r.max_train_seconds) << "round " << r.round;
    EXPECT_EQ(r.contributors.size(), 3u) << "round " << r.round;
    EXPECT_TRUE(r.dropped.empty());
    EXPECT_GT(r.samples, 500u);
    EXPECT_EQ(r.global_sha256.size(), 64u);
    // Federated evaluation: every contributor reported on its validation
    // split; the pooled accuracy is the sample-weighted mean.
    EXPECT_TRUE(r.evaluated) << "round " << r.round;
    EXPECT_EQ(r.evaluations.size(), 3u);
    double correct = 0;
    uint64_t n = 0;
    for (const auto& [node, e] : r.evaluations) {
      correct += e.accuracy() * e.samples();
      n += e.samples();
    }
    EXPECT_EQ(n, r.evaluation_samples);
    EXPECT_NEAR(r.pooled_accuracy, correct / n, 1e-9);
  }
  // Ten classes (chance 0.1); two short rounds already do much better.
  EXPECT_GT(progress.history[1].pooled_accuracy, 0.3);
  EXPECT_EQ(progress.history[0].round, 1u);
  EXPECT_EQ(progress.history[1].round, 2u);
  EXPECT_NE(progress.history[0].global_sha256, progress.history[1].global_sha256);
  const tensor::TensorList global = server_->GlobalModel();
  ASSERT_EQ(global.size(), initial.size());
  EXPECT_NE(global[0].values, initial[0].values) << "the model was updated";
}

}  // namespace
}  // namespace tverr::testing
