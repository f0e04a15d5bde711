#include "coordinator/aggregation/aggregator_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace tverr::coordinator {
namespace {

using ::testing::HasSubstr;
using S = v1::AggregationSpec;

constexpr double kNan = NAN;
constexpr double kInf = HUGE_VAL;

struct SpecCase {
  std::string name;
  int strategy;
  double learning_rate, momentum, beta2, tau, trim;
  std::string error;  // empty: accepted
};
void PrintTo(const SpecCase& c, std::ostream* os) { *os << c.name; }

class MakeAggregatorTest : public ::testing::TestWithParam<SpecCase> {};

TEST_P(MakeAggregatorTest, ValidatesTheSpec) {
  const SpecCase& c = GetParam();
  S spec;
  spec.set_strategy(static_cast<S::Strategy>(c.strategy));
  spec.set_server_learning_rate(c.learning_rate);
  spec.set_server_momentum(c.momentum);
  spec.set_server_beta2(c.beta2);
  spec.set_server_tau(c.tau);
  spec.set_trim_fraction(c.trim);
  ServerOptimizerState state;
  absl::StatusOr<std::unique_ptr<Aggregator>> a = MakeAggregator(spec, &state);
  if (c.error.empty()) {
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_NE(*a, nullptr);
  } else {
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(a.status().message()), HasSubstr(c.error));
  }
}

// Columns: strategy, server_learning_rate, server_momentum, server_beta2,
// server_tau, trim_fraction (0 = unset: default).
INSTANTIATE_TEST_SUITE_P(
    Table, MakeAggregatorTest,
    ::testing::Values(
        SpecCase{"FedAvg", S::FEDAVG, 0, 0, 0, 0, 0, ""},
        SpecCase{"FedAvgLr", S::FEDAVG, 0.3, 0, 0, 0, 0, ""},
        SpecCase{"UnspecifiedIsFedAvg", S::STRATEGY_UNSPECIFIED, 0, 0, 0, 0, 0, ""},
        SpecCase{"FedAvgM", S::FEDAVGM, 0, 0.5, 0, 0, 0, ""},
        SpecCase{"FedAdagrad", S::FEDADAGRAD, 0, 0, 0, 1e-2, 0, ""},
        SpecCase{"FedAdam", S::FEDADAM, 0.01, 0.9, 0.999, 1e-3, 0, ""},
        SpecCase{"FedYogi", S::FEDYOGI, 0, 0, 0, 0, 0, ""},
        SpecCase{"Median", S::COORDINATE_MEDIAN, 0, 0, 0, 0, 0, ""},
        SpecCase{"Trimmed", S::TRIMMED_MEAN, 0, 0, 0, 0, 0.49, ""},
        // Run specs carry every default whatever the strategy (WithDefaults),
        // so parameters a strategy does not use are accepted if in range.
        SpecCase{"RunSpecDefaultsForFedAvg", S::FEDAVG, 1.0, 0.9, 0.99, 1e-3, 0, ""},
        SpecCase{"TrimIgnoredForMedian", S::COORDINATE_MEDIAN, 0, 0, 0, 0, 0.1, ""},
        SpecCase{"UnknownStrategy", 99, 0, 0, 0, 0, 0, "aggregation.strategy 99 is unknown"},
        SpecCase{"NegativeLr", S::FEDAVG, -1, 0, 0, 0, 0,
                 "aggregation.server_learning_rate = -1 is out of range (0, inf)"},
        SpecCase{"NanLr", S::FEDADAM, kNan, 0, 0, 0, 0, "server_learning_rate = nan"},
        SpecCase{"InfLr", S::FEDAVG, kInf, 0, 0, 0, 0, "server_learning_rate = inf"},
        SpecCase{"MomentumOne", S::FEDAVGM, 0, 1, 0, 0, 0,
                 "server_momentum = 1 is out of range [0, 1)"},
        SpecCase{"MomentumNegative", S::FEDADAM, 0, -0.1, 0, 0, 0, "server_momentum = -0.1"},
        SpecCase{"Beta2", S::FEDYOGI, 0, 0, 1.5, 0, 0, "server_beta2 = 1.5 is out of range [0, 1)"},
        SpecCase{"Tau", S::FEDADAGRAD, 0, 0, 0, -1e-3, 0, "server_tau = -0.001"},
        SpecCase{"TrimHalf", S::TRIMMED_MEAN, 0, 0, 0, 0, 0.5,
                 "trim_fraction = 0.5 is out of range [0, 0.5)"},
        SpecCase{"TrimNegative", S::TRIMMED_MEAN, 0, 0, 0, 0, -0.1, "trim_fraction = -0.1"},
        SpecCase{"UnusedButOutOfRange", S::FEDAVG, 0, 0, 2, 0, 0, "server_beta2 = 2"}),
    [](const ::testing::TestParamInfo<SpecCase>& info) { return info.param.name; });

TEST(MakeAggregator, ServerOptimizersNeedAState) {
  for (S::Strategy s : {S::FEDAVGM, S::FEDADAGRAD, S::FEDADAM, S::FEDYOGI}) {
    S spec;
    spec.set_strategy(s);
    absl::StatusOr<std::unique_ptr<Aggregator>> a = MakeAggregator(spec, nullptr);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << S::Strategy_Name(s);
    EXPECT_THAT(std::string(a.status().message()), HasSubstr("needs a server optimizer state"));
  }
  for (S::Strategy s : {S::FEDAVG, S::COORDINATE_MEDIAN, S::TRIMMED_MEAN}) {
    S spec;
    spec.set_strategy(s);
    EXPECT_TRUE(MakeAggregator(spec, nullptr).ok()) << S::Strategy_Name(s);
  }
}

}  // namespace
}  // namespace tverr::coordinator
