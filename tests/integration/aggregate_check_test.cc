// The committed aggregate of a networked round equals the sample-weighted
// mean of the nodes' updates computed independently by the test: training
// is deterministic for a seed and thread count, so the test repeats each
// hospital's local training in-process and averages the deltas itself.
#include <gtest/gtest.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "coordinator/runs/run_spec.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "node/data/demo/demo_dataset.h"
#include "node/data/dicom_directory_source.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"
#include "tests/integration/federation_fixture.h"
#include "tests/support/subprocess.h"

namespace tverr::testing {
namespace {

class AggregateCheckTest : public FederationFixture {
 protected:
  // One round with three hospitals; the committed model must equal the
  // weighted mean of their deltas within `tolerance` (plain) or within the
  // quantisation bound of the secure sum (secure).
  void CheckRound(bool secure);
};

TEST_F(AggregateCheckTest, CommittedModelIsTheWeightedMeanOfTheUpdates) { CheckRound(false); }

// With secure aggregation the coordinator sees only masked inputs; the
// unmasked sum still gives the weighted mean, within the fixed-point error.
TEST_F(AggregateCheckTest, SecureRoundCommitsTheWeightedMeanWithinTheQuantisationBound) {
  CheckRound(true);
}

void AggregateCheckTest::CheckRound(bool secure) {
  node::demo::DemoOptions demo;
  demo.out_dir = tmp_.Sub("demo");
  demo.sites = {"oslo-uh", "bergen-hus", "tromso-unn"};
  demo.images_per_site = 150;
  demo.non_iid = true;
  ASSERT_TRUE(node::demo::WriteDemoSites(demo).ok());
  const std::string artifact_path = tmp_.Sub("lr.pt");
  ASSERT_TRUE(node::WriteLogisticRegression(artifact_path, 1, 28, 28, 10, 9).ok());
  const std::string artifact = ReadFileOrEmpty(artifact_path);

  v1::RunSpec spec = DemoSpec(artifact, /*rounds=*/1, /*min_nodes=*/3);
  spec.mutable_local()->set_batch_size(16);
  spec.set_seed(21);
  spec.set_secure_aggregation(secure);
  spec = coordinator::WithDefaults(spec);
  const std::string run_id = *coordinator::RunId(spec);
  auto reference = node::LoadTorchScriptTrainer(artifact_path, spec);
  ASSERT_TRUE(reference.ok());
  const tensor::TensorList initial = *(*reference)->Weights();

  DaemonGroup daemons;
  ASSERT_NO_FATAL_FAILURE(StartTrainingDaemons(daemons, demo.sites, demo.out_dir, run_id));
  ASSERT_TRUE(server_->StartRun(spec, artifact, initial).ok());
  const bool ended =
      WaitFor([&] { return server_->Progress().state != "running"; }, absl::Seconds(120));
  daemons.Stop();
  ASSERT_TRUE(ended);
  ASSERT_EQ(server_->Progress().state, "completed") << server_->Progress().failure;
  const tensor::TensorList committed = server_->GlobalModel();

  // Independently: each hospital's training repeated here, then the
  // sample-weighted mean of the deltas, in double.
  std::vector<double> sum;
  double total_weight = 0;
  const uint64_t round_seed = spec.seed() * 1000003 + 1;  // as the coordinator derives it
  for (const std::string& site : demo.sites) {
    node::DirectorySourceOptions o;
    o.source.set_directory(demo.out_dir + "/" + site + "/dicom");
    o.source.set_manifest(demo.out_dir + "/" + site + "/labels.csv");
    o.input = spec.input();
    o.labels.assign(spec.labels().begin(), spec.labels().end());
    o.fractions = spec.splits();
    o.split_salt = absl::StrCat("seed-", spec.seed());  // as the node salts it
    o.patient_key_secret = "";  // splits depend on the node's secret: read it from its cache
    o.cache_dir = tmp_.Sub(site + "-state") + "/data-cache";
    auto data = node::DicomDirectorySource::Open(o);
    ASSERT_TRUE(data.ok()) << data.status();
    auto trainer = node::LoadTorchScriptTrainer(artifact_path, spec);
    ASSERT_TRUE(trainer.ok());
    ASSERT_TRUE((*trainer)->SetWeights(initial).ok());
    auto result = (*trainer)->Train(**data, (*data)->IndicesOf(node::Split::kTrain), round_seed);
    ASSERT_TRUE(result.ok()) << result.status();
    size_t k = 0;
    for (const tensor::NamedTensor& t : result->delta) {
      for (float v : t.values) {
        if (sum.size() <= k) sum.push_back(0);
        sum[k++] += static_cast<double>(result->samples) * v;
      }
    }
    total_weight += static_cast<double>(result->samples);
  }
  size_t k = 0;
  double max_diff = 0;
  for (size_t t = 0; t < initial.size(); ++t) {
    for (size_t i = 0; i < initial[t].values.size(); ++i, ++k) {
      const float expected = static_cast<float>(initial[t].values[i] + sum[k] / total_weight);
      max_diff = std::max(max_diff, std::abs(static_cast<double>(committed[t].values[i]) - expected));
    }
  }
  EXPECT_EQ(k, sum.size());
  // Secure: each of the 3 inputs is off by less than one fixed-point step
  // (2 clip / (2^bits - 1)) per element, before the division by the total
  // weight; plus float rounding of the model.
  double bound = 1e-6;
  if (secure) {
    const double step = 2 * spec.secure().clip() / (std::ldexp(1.0, spec.secure().bits()) - 1);
    bound += 3 * step / total_weight;
    const coordinator::RunProgress p = server_->Progress();
    ASSERT_EQ(p.history.size(), 1u);
    EXPECT_EQ(p.history[0].samples, static_cast<uint64_t>(total_weight));
    EXPECT_EQ(p.history[0].secure_session.size(), 64u) << "the round was not secure";
  }
  EXPECT_LT(max_diff, bound) << "committed model differs from the independent weighted mean";
}

}  // namespace
}  // namespace tverr::testing
