#include "coordinator/aggregation/server_optimizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "coordinator/aggregation/aggregator_factory.h"

namespace tverr::coordinator {
namespace {

using tensor::TensorList;
using ::testing::HasSubstr;

// A one-tensor model, x0 = (1, -2), two nodes, two rounds:
//   round 1: a (weight 1) (0.3, -0.1), b (weight 3) (0.1, 0.3) → Δ1 = (0.15, 0.2)
//   round 2: a (weight 2) (-0.2, 0.4), b (weight 2) (0.0, 0.2) → Δ2 = (-0.1, 0.3)
// Expected values below were computed by hand (in double) from the formulas
// of Reddi et al. 2021, Algorithm 2, with m0 = 0 and v0 = τ² = 1e-6.
const TensorList kX0 = {{"w", {2}, {1.0f, -2.0f}}};

struct Round {
  double weight_a;
  std::vector<float> delta_a;
  double weight_b;
  std::vector<float> delta_b;
};
const Round kRounds[2] = {{1, {0.3f, -0.1f}, 3, {0.1f, 0.3f}}, {2, {-0.2f, 0.4f}, 2, {0.0f, 0.2f}}};

struct Expected {
  std::vector<double> x, m, v;  // v empty: no second moment
};

struct OptimizerCase {
  std::string name;
  v1::AggregationSpec spec;
  Expected after[2];
};
void PrintTo(const OptimizerCase& c, std::ostream* os) { *os << c.name; }

v1::AggregationSpec Spec(v1::AggregationSpec::Strategy s, double lr, double momentum,
                         double beta2 = 0, double tau = 0) {
  v1::AggregationSpec spec;
  spec.set_strategy(s);
  spec.set_server_learning_rate(lr);
  spec.set_server_momentum(momentum);
  spec.set_server_beta2(beta2);
  spec.set_server_tau(tau);
  return spec;
}

absl::StatusOr<TensorList> RunRound(const v1::AggregationSpec& spec, ServerOptimizerState* state,
                                    const TensorList& global, const Round& r) {
  absl::StatusOr<std::unique_ptr<Aggregator>> agg = MakeAggregator(spec, state);
  if (!agg.ok()) return agg.status();
  if (absl::Status s = (*agg)->Begin(global); !s.ok()) return s;
  if (absl::Status s = (*agg)->AddUpdate("a", r.weight_a, {{"w", {2}, r.delta_a}}); !s.ok()) {
    return s;
  }
  if (absl::Status s = (*agg)->AddUpdate("b", r.weight_b, {{"w", {2}, r.delta_b}}); !s.ok()) {
    return s;
  }
  return (*agg)->Finish();
}

void ExpectValues(const std::vector<float>& actual, const std::vector<double>& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-6 + 1e-5 * std::fabs(expected[i]))
        << what << "[" << i << "]";
  }
}

class ServerOptimizerTest : public ::testing::TestWithParam<OptimizerCase> {};

TEST_P(ServerOptimizerTest, TwoRoundsMatchTheHandComputation) {
  const OptimizerCase& c = GetParam();
  ServerOptimizerState state;
  TensorList x = kX0;
  for (int r = 0; r < 2; ++r) {
    absl::StatusOr<TensorList> next = RunRound(c.spec, &state, x, kRounds[r]);
    ASSERT_TRUE(next.ok()) << next.status();
    x = *next;
    const Expected& e = c.after[r];
    const std::string round = "round " + std::to_string(r + 1);
    ExpectValues(x[0].values, e.x, round + " x");
    ASSERT_EQ(state.m.size(), 1u);
    EXPECT_EQ(state.m[0].name, "w");
    ExpectValues(state.m[0].values, e.m, round + " m");
    if (e.v.empty()) {
      EXPECT_TRUE(state.v.empty());
    } else {
      ASSERT_EQ(state.v.size(), 1u);
      ExpectValues(state.v[0].values, e.v, round + " v");
    }
  }
}

TEST_P(ServerOptimizerTest, CheckpointedStateContinuesIdentically) {
  const OptimizerCase& c = GetParam();
  ServerOptimizerState state;
  absl::StatusOr<TensorList> x1 = RunRound(c.spec, &state, kX0, kRounds[0]);
  ASSERT_TRUE(x1.ok()) << x1.status();
  absl::StatusOr<std::string> checkpoint = EncodeServerOptimizerState(state);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  absl::StatusOr<ServerOptimizerState> restored = DecodeServerOptimizerState(*checkpoint);
  ASSERT_TRUE(restored.ok()) << restored.status();

  absl::StatusOr<TensorList> continued = RunRound(c.spec, &state, *x1, kRounds[1]);
  absl::StatusOr<TensorList> resumed = RunRound(c.spec, &*restored, *x1, kRounds[1]);
  ASSERT_TRUE(continued.ok() && resumed.ok());
  EXPECT_EQ(continued->at(0).values, resumed->at(0).values);
  EXPECT_EQ(state.m[0].values, restored->m[0].values);
  if (!state.v.empty()) {
    EXPECT_EQ(state.v[0].values, restored->v[0].values);
  }
}

using S = v1::AggregationSpec;
INSTANTIATE_TEST_SUITE_P(
    Rules, ServerOptimizerTest,
    ::testing::Values(
        // m = β m + Δ; x += η m   (η 0.5, β 0.9)
        OptimizerCase{"FedAvgM",
                      Spec(S::FEDAVGM, 0.5, 0.9),
                      {{{1.075, -1.9}, {0.15, 0.2}, {}}, {{1.0925, -1.66}, {0.035, 0.48}, {}}}},
        // m = β1 m + (1-β1) Δ; v = v + Δ²; x += η m / (√v + τ)   (η 0.1, β1 0.9, τ 1e-3)
        OptimizerCase{"FedAdagrad",
                      Spec(S::FEDADAGRAD, 0.1, 0.9, 0, 1e-3),
                      {{{1.00993356, -1.99004988}, {0.015, 0.02}, {0.022501, 0.040001}},
                       {{1.01186427, -1.97677394}, {0.0035, 0.048}, {0.032501, 0.130001}}}},
        // v = β2 v + (1-β2) Δ²   (β2 0.99)
        OptimizerCase{"FedAdam",
                      Spec(S::FEDADAM, 0.1, 0.9, 0.99, 1e-3),
                      {{{1.09355725, -1.90487395}, {0.015, 0.02}, {0.00022599, 0.00040099}},
                       {{1.11198558, -1.77519192}, {0.0035, 0.048}, {0.0003237301, 0.0012969801}}}},
        // v = v - (1-β2) Δ² sign(v - Δ²)
        OptimizerCase{"FedYogi",
                      Spec(S::FEDYOGI, 0.1, 0.9, 0.99, 1e-3),
                      {{{1.09355531, -1.90487508}, {0.015, 0.02}, {0.000226, 0.000401}},
                       {{1.11192274, -1.77538815}, {0.0035, 0.048}, {0.000326, 0.001301}}}}),
    [](const ::testing::TestParamInfo<OptimizerCase>& info) { return info.param.name; });

TEST(ServerOptimizer, DefaultsAreTheDocumentedOnes) {
  for (S::Strategy s : {S::FEDAVGM, S::FEDADAGRAD, S::FEDADAM, S::FEDYOGI}) {
    const bool beta2 = s == S::FEDADAM || s == S::FEDYOGI;
    const bool tau = s != S::FEDAVGM;
    ServerOptimizerState defaults, explicit_values;
    TensorList a = kX0, b = kX0;
    for (const Round& r : kRounds) {
      absl::StatusOr<TensorList> x = RunRound(Spec(s, 0, 0), &defaults, a, r);
      // η: 1 for FEDAVGM, 0.01 for the adaptive rules.
      absl::StatusOr<TensorList> y = RunRound(
          Spec(s, tau ? 0.01 : 1.0, 0.9, beta2 ? 0.99 : 0, tau ? 1e-3 : 0), &explicit_values, b, r);
      ASSERT_TRUE(x.ok() && y.ok()) << x.status() << y.status();
      a = *x;
      b = *y;
    }
    EXPECT_EQ(a[0].values, b[0].values) << S::Strategy_Name(s);
  }
}

TEST(ServerOptimizer, StateMustMatchTheModel) {
  ServerOptimizerState state;
  state.m = {{"w", {3}, {0, 0, 0}}};
  absl::StatusOr<TensorList> r = RunRound(Spec(S::FEDAVGM, 1, 0.9), &state, kX0, kRounds[0]);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "server optimizer state m does not match the model: tensor w has shape [3], "
            "expected [2]");

  state.m = {{"w", {2}, {0, 0}}};
  state.v = {{"w", {2}, {1, 1}}};
  r = RunRound(Spec(S::FEDAVGM, 1, 0.9), &state, kX0, kRounds[0]);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("FEDAVGM does not use"));

  state.v.clear();
  r = RunRound(Spec(S::FEDADAM, 1, 0.9), &state, kX0, kRounds[0]);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("only one of its two moments"));

  state.v = {{"w", {2}, {1, -1}}};
  r = RunRound(Spec(S::FEDADAM, 1, 0.9), &state, kX0, kRounds[0]);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("state v tensor w element 1 is invalid"));
}

TEST(ServerOptimizer, OverflowChangesNeitherModelNorState) {
  ServerOptimizerState state;
  state.m = {{"w", {2}, {0, std::numeric_limits<float>::max()}}};
  const ServerOptimizerState before = state;
  absl::StatusOr<std::unique_ptr<Aggregator>> agg =
      MakeAggregator(Spec(S::FEDAVGM, 1, 0.9), &state);
  ASSERT_TRUE(agg.ok());
  ASSERT_TRUE((*agg)->Begin(kX0).ok());
  ASSERT_TRUE((*agg)->AddUpdate("a", 1, {{"w", {2}, {1, std::numeric_limits<float>::max()}}}).ok());
  absl::StatusOr<TensorList> r = (*agg)->Finish();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(state.m[0].values, before.m[0].values);
}

TEST(ServerOptimizerState, EncodingRejectsWhatItCannotRepresent) {
  ServerOptimizerState state;
  state.m = {{std::string(1023, 'x'), {}, {0}}};  // "m/" + 1023 bytes > 1024
  EXPECT_EQ(EncodeServerOptimizerState(state).status().code(), absl::StatusCode::kInvalidArgument);
  state.m = {{"a", {}, {0}}};
  state.v = {{"b", {}, {0}}};
  EXPECT_THAT(std::string(EncodeServerOptimizerState(state).status().message()),
              HasSubstr("v differs from m"));
  state.v.clear();
  absl::StatusOr<std::string> bytes = EncodeServerOptimizerState(state);
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<ServerOptimizerState> decoded = DecodeServerOptimizerState(*bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->m[0].name, "a");
  EXPECT_TRUE(decoded->v.empty());
}

TEST(ServerOptimizerState, DecodingRejectsForeignLists) {
  EXPECT_THAT(
      std::string(DecodeServerOptimizerState(tensor::Encode({{"w", {}, {0}}})).status().message()),
      HasSubstr("tensor w is neither m/ nor v/"));
  EXPECT_THAT(
      std::string(DecodeServerOptimizerState(tensor::Encode({{"v/w", {}, {0}}, {"m/w", {}, {0}}}))
                      .status()
                      .message()),
      HasSubstr("after the v tensors"));
  EXPECT_THAT(
      std::string(DecodeServerOptimizerState(tensor::Encode({{"m/w", {}, {0}}, {"v/w", {1}, {0}}}))
                      .status()
                      .message()),
      HasSubstr("tensor w has shape [1], expected []"));
  EXPECT_EQ(DecodeServerOptimizerState("junk").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tverr::coordinator
