#include "coordinator/runs/run_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tverr::coordinator {
namespace {

using ::testing::HasSubstr;

constexpr char kSpec[] = R"pb(
  name: "fashion-cnn"
  artifact_path: "/home/alice/model.pt"
  artifact_sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  input { width: 28 height: 28 channels: 1 }
  labels: [ "T-shirt/top", "Trouser", "Pullover" ]
  optimizer { kind: SGD learning_rate: 0.05 momentum: 0.9 }
  local { batch_size: 32 local_epochs: 1 }
  aggregation { strategy: FEDADAM }
  rounds { rounds: 10 min_nodes: 2 }
  seed: 7
)pb";

v1::RunSpec Spec() {
  auto spec = ParseRunSpec(kSpec);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return WithDefaults(*spec);
}

TEST(RunSpec, DefaultsMakeAValidSpec) {
  v1::RunSpec spec = Spec();
  EXPECT_TRUE(ValidateRunSpec(spec).ok()) << ValidateRunSpec(spec);
  EXPECT_DOUBLE_EQ(spec.aggregation().server_learning_rate(), 0.01);  // FEDADAM
  EXPECT_DOUBLE_EQ(spec.aggregation().server_tau(), 1e-3);
  EXPECT_EQ(spec.rounds().phase_deadline_seconds(), 600u);
  EXPECT_DOUBLE_EQ(spec.splits().train(), 0.8);
  EXPECT_EQ(spec.loss(), v1::LOSS_KIND_CROSS_ENTROPY);
}

TEST(RunSpec, AdaptiveServerOptimizersDefaultToASmallServerLearningRate) {
  for (auto strategy : {v1::AggregationSpec::FEDADAM, v1::AggregationSpec::FEDYOGI,
                        v1::AggregationSpec::FEDADAGRAD, v1::AggregationSpec::FEDAVGM}) {
    auto spec = ParseRunSpec(kSpec);
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec->mutable_aggregation()->set_strategy(strategy);
    spec->mutable_aggregation()->clear_server_learning_rate();
    const v1::RunSpec filled = WithDefaults(*spec);
    EXPECT_DOUBLE_EQ(filled.aggregation().server_learning_rate(),
                     strategy == v1::AggregationSpec::FEDAVGM ? 1.0 : 0.01)
        << v1::AggregationSpec::Strategy_Name(strategy);
    // An explicit rate is kept.
    spec->mutable_aggregation()->set_server_learning_rate(0.5);
    EXPECT_DOUBLE_EQ(WithDefaults(*spec).aggregation().server_learning_rate(), 0.5);
  }
}

TEST(RunSpec, EveryProblemIsNamed) {
  v1::RunSpec spec = Spec();
  spec.set_artifact_sha256("abc");
  spec.mutable_input()->set_channels(2);
  spec.mutable_local()->set_local_steps(5);  // with local_epochs
  spec.mutable_optimizer()->set_learning_rate(0);
  spec.mutable_rounds()->set_nodes_per_round(1);  // < min_nodes
  absl::Status s = ValidateRunSpec(spec);
  std::string msg(s.message());
  for (const char* field : {"artifact_sha256", "input.channels", "'local'",
                            "optimizer.learning_rate", "rounds.nodes_per_round"}) {
    EXPECT_THAT(msg, HasSubstr(field));
  }
}

TEST(RunSpec, RobustRulesAreRefusedForSecureRuns) {
  v1::RunSpec spec = Spec();
  spec.mutable_aggregation()->set_strategy(v1::AggregationSpec::TRIMMED_MEAN);
  EXPECT_TRUE(ValidateRunSpec(spec).ok());
  spec.set_secure_aggregation(true);
  absl::Status s = ValidateRunSpec(spec);
  EXPECT_THAT(std::string(s.message()), HasSubstr("aggregation.strategy"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("secure aggregation"));
  spec.mutable_aggregation()->set_strategy(v1::AggregationSpec::FEDYOGI);
  spec.mutable_rounds()->set_min_nodes(3);
  spec = WithDefaults(spec);
  EXPECT_TRUE(ValidateRunSpec(spec).ok()) << ValidateRunSpec(spec);
}

TEST(RunSpec, SecureAggregationDefaultsAndLimits) {
  v1::RunSpec spec = Spec();
  spec.set_secure_aggregation(true);
  spec.mutable_rounds()->set_min_nodes(3);
  spec = WithDefaults(spec);
  EXPECT_TRUE(ValidateRunSpec(spec).ok()) << ValidateRunSpec(spec);
  EXPECT_NEAR(spec.secure().threshold_fraction(), 2.0 / 3.0, 1e-12);
  EXPECT_EQ(spec.secure().max_nodes(), 64u);
  EXPECT_EQ(spec.secure().bits(), 26u);  // 32 - log2(64)
  EXPECT_DOUBLE_EQ(spec.secure().clip(), 1e4);

  spec.mutable_secure()->set_bits(27);  // the sum of 64 inputs could wrap
  spec.mutable_secure()->set_clip(-1);
  spec.mutable_secure()->set_threshold_fraction(1.5);
  spec.mutable_rounds()->set_min_nodes(2);
  std::string msg(ValidateRunSpec(spec).message());
  for (const char* field : {"secure.bits", "8 .. 26", "secure.clip", "secure.threshold_fraction",
                            "rounds.min_nodes"}) {
    EXPECT_THAT(msg, HasSubstr(field));
  }
}

TEST(RunSpec, SecureAggregationNeighboursAreZeroOrEvenAndAtLeastFour) {
  v1::RunSpec spec = Spec();
  spec.set_secure_aggregation(true);
  spec.mutable_rounds()->set_min_nodes(3);
  spec = WithDefaults(spec);
  EXPECT_EQ(spec.secure().neighbours(), 0u);  // the full graph by default
  for (uint32_t k : {4u, 6u, 8u, 40u}) {
    spec.mutable_secure()->set_neighbours(k);
    EXPECT_TRUE(ValidateRunSpec(spec).ok()) << k << ": " << ValidateRunSpec(spec);
  }
  for (uint32_t k : {1u, 2u, 3u, 5u, 7u}) {
    spec.mutable_secure()->set_neighbours(k);
    EXPECT_THAT(std::string(ValidateRunSpec(spec).message()), HasSubstr("secure.neighbours"))
        << k;
  }
}

TEST(RunId, DependsOnSpecAndArtifactButNotWhereTheFileWas) {
  v1::RunSpec spec = Spec();
  auto id = RunId(spec);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 64u);
  v1::RunSpec moved = spec;
  moved.set_artifact_path("/tmp/elsewhere.pt");
  EXPECT_EQ(*RunId(moved), *id);
  v1::RunSpec other = spec;
  other.set_seed(8);
  EXPECT_NE(*RunId(other), *id);
  other = spec;
  other.set_artifact_sha256(std::string(64, 'f'));
  EXPECT_NE(*RunId(other), *id);
  other.set_artifact_sha256("nothex");
  EXPECT_FALSE(RunId(other).ok());
}

TEST(ParseRunSpec, ErrorsNameLineAndColumn) {
  auto spec = ParseRunSpec("name: \"x\"\n  roundz { rounds: 1 }\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("line 2:"));
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("roundz"));
}

}  // namespace
}  // namespace tverr::coordinator
