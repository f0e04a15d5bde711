#include "coordinator/aggregation/robust_aggregator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/aggregation/aggregator_factory.h"
#include "coordinator/aggregation/streaming_update.h"

namespace tverr::coordinator {
namespace {

using tensor::TensorList;

// Global: "w" = (10, 20, 30), "s" scalar 0. Updates give per-coordinate
// columns; coordinate 0 has an outlier, coordinate 2 is negative.
const TensorList kGlobal = {{"w", {3}, {10, 20, 30}}, {"s", {}, {0}}};

TensorList Delta(float a, float b, float c, float s) {
  return {{"w", {3}, {a, b, c}}, {"s", {}, {s}}};
}

std::unique_ptr<Aggregator> Make(v1::AggregationSpec::Strategy strategy, double trim = 0,
                                 double learning_rate = 0) {
  v1::AggregationSpec spec;
  spec.set_strategy(strategy);
  spec.set_trim_fraction(trim);
  spec.set_server_learning_rate(learning_rate);
  absl::StatusOr<std::unique_ptr<Aggregator>> a = MakeAggregator(spec, nullptr);
  EXPECT_TRUE(a.ok()) << a.status();
  return std::move(a).value();
}

TensorList RunRound(Aggregator& agg, const std::vector<TensorList>& deltas) {
  EXPECT_TRUE(agg.Begin(kGlobal).ok());
  for (size_t i = 0; i < deltas.size(); ++i) {
    // Wildly different weights: the robust rules must ignore them.
    EXPECT_TRUE(agg.AddUpdate("node-" + std::to_string(i), i == 0 ? 1e9 : 1, deltas[i]).ok());
  }
  absl::StatusOr<TensorList> r = agg.Finish();
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : TensorList{};
}

TEST(CoordinateMedian, OddNumberOfNodes) {
  auto agg = Make(v1::AggregationSpec::COORDINATE_MEDIAN);
  const TensorList r = RunRound(*agg, {Delta(1e6f, 1, -1, 5), Delta(1, 2, -2, 4),
                                       Delta(2, 3, -3, 3), Delta(3, 4, -4, 2), Delta(4, 5, -5, 1)});
  EXPECT_EQ(r[0].values, (std::vector<float>{10 + 3, 20 + 3, 30 - 3}));
  EXPECT_EQ(r[1].values, (std::vector<float>{3}));
}

TEST(CoordinateMedian, EvenNumberOfNodesAveragesTheMiddlePair) {
  auto agg = Make(v1::AggregationSpec::COORDINATE_MEDIAN);
  const TensorList r = RunRound(
      *agg, {Delta(-1e6f, 1, 0, 0), Delta(1, 2, 0, 0), Delta(2, 4, 0, 1), Delta(1e6f, 8, 0, 1)});
  EXPECT_EQ(r[0].values, (std::vector<float>{10 + 1.5f, 20 + 3, 30}));
  EXPECT_EQ(r[1].values, (std::vector<float>{0.5f}));
}

TEST(CoordinateMedian, LearningRateScalesTheStep) {
  auto agg = Make(v1::AggregationSpec::COORDINATE_MEDIAN, 0, /*learning_rate=*/0.5);
  const TensorList r = RunRound(*agg, {Delta(2, 2, 2, 2), Delta(4, 4, 4, 4), Delta(6, 6, 6, 6)});
  EXPECT_EQ(r[0].values, (std::vector<float>{12, 22, 32}));
}

TEST(TrimmedMean, DropsTheExtremesByCount) {
  // trim 0.2 of 5 nodes: one value dropped at each end.
  auto agg = Make(v1::AggregationSpec::TRIMMED_MEAN, 0.2);
  const TensorList r =
      RunRound(*agg, {Delta(1e6f, 1, -100, 0), Delta(1, 2, 1, 0), Delta(2, 3, 2, 0),
                      Delta(3, 4, 3, 0), Delta(-1e6f, 100, 4, 9)});
  EXPECT_EQ(r[0].values, (std::vector<float>{10 + 2, 20 + 3, 30 + 2}));
  EXPECT_EQ(r[1].values, (std::vector<float>{0}));
}

TEST(TrimmedMean, FractionBelowOneNodeTrimsNothing) {
  // trim 0.1 of 5 nodes: floor(0.5) = 0, the plain (unweighted) mean.
  auto agg = Make(v1::AggregationSpec::TRIMMED_MEAN, 0.1);
  const TensorList r = RunRound(*agg, {Delta(1, 0, 0, 0), Delta(2, 0, 0, 0), Delta(3, 0, 0, 0),
                                       Delta(4, 0, 0, 0), Delta(15, 0, 0, 0)});
  EXPECT_EQ(r[0].values[0], 10 + 5);
}

TEST(TrimmedMean, CountIsRobustToRounding) {
  // 0.29 × 100 is 28.999999999999996 in double; 29 must be trimmed per end.
  auto agg = Make(v1::AggregationSpec::TRIMMED_MEAN, 0.29);
  std::vector<TensorList> deltas;
  for (int i = 0; i < 100; ++i) {
    // 0..99 with 28 replaced by -500: sorted -500, 0..27, 29..99.
    deltas.push_back(Delta(i == 28 ? -500.0f : static_cast<float>(i), 0, 0, 0));
  }
  const TensorList r = RunRound(*agg, deltas);
  // Trimming 29 per end keeps 29..70: mean 49.5. (Trimming 28 would keep 27
  // and 29..71: mean 49.477.)
  EXPECT_FLOAT_EQ(r[0].values[0], 10 + 49.5f);
}

TEST(RobustAggregator, AbortedUpdateLeavesNoTrace) {
  auto agg = Make(v1::AggregationSpec::COORDINATE_MEDIAN);
  ASSERT_TRUE(agg->Begin(kGlobal).ok());
  ASSERT_TRUE(agg->AddUpdate("a", 1, Delta(1, 1, 1, 1)).ok());
  auto outlier = StreamingUpdate::Start(*agg, "outlier", 1);
  ASSERT_TRUE(outlier.ok());
  const std::string bytes = tensor::Encode(Delta(1e9f, 1e9f, 1e9f, 1e9f));
  ASSERT_TRUE((*outlier)->Add(absl::string_view(bytes).substr(0, bytes.size() - 2)).ok());
  (*outlier)->Abort();
  EXPECT_FALSE(agg->needs_rebuild());
  ASSERT_TRUE(agg->AddUpdate("b", 1, Delta(3, 3, 3, 3)).ok());
  absl::StatusOr<TensorList> r = agg->Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->at(0).values, (std::vector<float>{12, 22, 32}));
}

TEST(RobustAggregator, FinishNeedsACommittedUpdate) {
  auto agg = Make(v1::AggregationSpec::TRIMMED_MEAN, 0.25);
  EXPECT_EQ(agg->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(agg->Begin(kGlobal).ok());
  EXPECT_EQ(agg->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(agg->AddUpdate("a", 1, Delta(1, 2, 3, 4)).ok());
  absl::StatusOr<TensorList> r = agg->Finish();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at(0).values, (std::vector<float>{11, 22, 33}));
}

}  // namespace
}  // namespace tverr::coordinator
