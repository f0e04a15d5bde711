#include "coordinator/aggregation/mean_aggregator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "coordinator/aggregation/aggregator_factory.h"
#include "coordinator/aggregation/streaming_update.h"

namespace tverr::coordinator {
namespace {

using tensor::TensorList;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const tensor::TensorLayout& Layout() {
  static const tensor::TensorLayout* layout =
      new tensor::TensorLayout{{"conv.weight", {4, 1, 3, 3}},
                               {"conv.bias", {4}},
                               {"unused", {0}},
                               {"scale", {}},
                               {"fc.weight", {3, 36}}};
  return *layout;
}

TensorList Random(uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, scale);
  TensorList list;
  for (const tensor::TensorSpec& s : Layout()) {
    list.push_back({s.name, s.shape, std::vector<float>(tensor::NumElements(s.shape))});
    for (float& v : list.back().values) v = normal(rng);
  }
  return list;
}

struct Update {
  std::string node;
  double weight;
  TensorList delta;
};

std::vector<Update> RandomUpdates(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> examples(1, 1000);
  std::vector<Update> updates;
  for (int i = 0; i < n; ++i) {
    updates.push_back({"node-" + std::to_string(i), static_cast<double>(examples(rng)),
                       Random(seed * 100 + i, 0.01f)});
  }
  return updates;
}

// global + η Σ w Δ / Σ w with the sum kept in `Sum`, nodes in the given
// order, one rounding to float at the end.
template <typename Sum>
TensorList MeanWithSumIn(const TensorList& global, const std::vector<Update>& updates,
                         double learning_rate) {
  double total = 0;
  for (const Update& u : updates) total += u.weight;
  TensorList out = global;
  for (size_t t = 0; t < out.size(); ++t) {
    for (size_t i = 0; i < out[t].values.size(); ++i) {
      Sum sum = 0;
      for (const Update& u : updates) {
        sum += static_cast<Sum>(u.weight) * static_cast<Sum>(u.delta[t].values[i]);
      }
      out[t].values[i] = static_cast<float>(
          global[t].values[i] + learning_rate * (static_cast<double>(sum) / total));
    }
  }
  return out;
}

// The weighted mean as the aggregator specifies it (mean_aggregator.h):
// S = Σ float(w) · Δ in float, in the updates' order.
TensorList FoldedMean(const TensorList& global, const std::vector<Update>& updates,
                      double learning_rate = 1.0) {
  return MeanWithSumIn<float>(global, updates, learning_rate);
}

// The weighted mean with the sum in double, nearly exact: the reference the
// float sum is measured against.
TensorList WeightedMean(const TensorList& global, const std::vector<Update>& updates,
                        double learning_rate = 1.0) {
  return MeanWithSumIn<double>(global, updates, learning_rate);
}

void ExpectNear(const TensorList& actual, const TensorList& expected, double rel) {
  ASSERT_EQ(tensor::LayoutOf(actual), tensor::LayoutOf(expected));
  for (size_t t = 0; t < actual.size(); ++t) {
    for (size_t i = 0; i < actual[t].values.size(); ++i) {
      const double e = expected[t].values[i];
      EXPECT_NEAR(actual[t].values[i], e, rel * std::max(1.0, std::fabs(e)))
          << actual[t].name << "[" << i << "]";
    }
  }
}

std::unique_ptr<Aggregator> FedAvg(double learning_rate = 0) {
  v1::AggregationSpec spec;
  spec.set_strategy(v1::AggregationSpec::FEDAVG);
  spec.set_server_learning_rate(learning_rate);
  absl::StatusOr<std::unique_ptr<Aggregator>> a = MakeAggregator(spec, nullptr);
  EXPECT_TRUE(a.ok()) << a.status();
  return std::move(a).value();
}

TEST(MeanAggregator, FedAvgEqualsTheFoldedWeightedMean) {
  const TensorList global = Random(1, 1.0f);
  for (uint32_t seed : {2u, 3u, 4u}) {
    const std::vector<Update> updates = RandomUpdates(6, seed);
    std::unique_ptr<Aggregator> agg = FedAvg();
    ASSERT_TRUE(agg->Begin(global).ok());
    for (const Update& u : updates) ASSERT_TRUE(agg->AddUpdate(u.node, u.weight, u.delta).ok());
    EXPECT_THAT(agg->committed_nodes(),
                ElementsAre("node-0", "node-1", "node-2", "node-3", "node-4", "node-5"));
    absl::StatusOr<TensorList> result = agg->Finish();
    ASSERT_TRUE(result.ok()) << result.status();
    const TensorList expected = FoldedMean(global, updates);
    for (size_t t = 0; t < expected.size(); ++t) {
      EXPECT_EQ(result->at(t).values, expected[t].values) << expected[t].name;
    }
  }
}

// The float sum's rounding, bounded: for n updates each value of the mean
// delta is within n·2⁻²⁴·Σ|w Δ| / Σ w of the exact one (recursive summation
// plus the product's rounding), and the model value within that plus one
// float step of the exactly computed one. Checked on 50 updates whose
// weights span six orders of magnitude and deltas of mixed sign.
TEST(MeanAggregator, FloatSumStaysWithinItsBoundOfTheExactMean) {
  const TensorList global = Random(1, 1.0f);
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> log_weight(0, 6);
  std::vector<Update> updates;
  for (int i = 0; i < 50; ++i) {
    updates.push_back({"node-" + std::to_string(i), std::round(std::pow(10.0, log_weight(rng))),
                       Random(500 + i, i % 2 == 0 ? 0.01f : 1.0f)});
  }
  std::unique_ptr<Aggregator> agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  // Reverse order, so the fold order differs from the reference's.
  for (auto u = updates.rbegin(); u != updates.rend(); ++u) {
    ASSERT_TRUE(agg->AddUpdate(u->node, u->weight, u->delta).ok());
  }
  absl::StatusOr<TensorList> result = agg->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  const TensorList exact = WeightedMean(global, updates);
  double total = 0;
  for (const Update& u : updates) total += u.weight;
  for (size_t t = 0; t < exact.size(); ++t) {
    for (size_t i = 0; i < exact[t].values.size(); ++i) {
      double magnitude = 0;
      for (const Update& u : updates) magnitude += u.weight * std::fabs(u.delta[t].values[i]);
      const float e = exact[t].values[i];
      const double step = std::fabs(std::nextafter(e, 2 * e + 1) - e);
      const double bound = 50 * std::ldexp(1.0, -24) * magnitude / total + step;
      EXPECT_LE(std::fabs(result->at(t).values[i] - e), bound) << exact[t].name << "[" << i << "]";
    }
  }
}

TEST(MeanAggregator, ServerLearningRateScalesTheMeanDelta) {
  const TensorList global = Random(1, 1.0f);
  const std::vector<Update> updates = RandomUpdates(3, 5);
  std::unique_ptr<Aggregator> agg = FedAvg(/*learning_rate=*/0.5);
  ASSERT_TRUE(agg->Begin(global).ok());
  for (const Update& u : updates) ASSERT_TRUE(agg->AddUpdate(u.node, u.weight, u.delta).ok());
  absl::StatusOr<TensorList> result = agg->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  const TensorList expected = FoldedMean(global, updates, /*learning_rate=*/0.5);
  for (size_t t = 0; t < expected.size(); ++t) EXPECT_EQ(result->at(t).values, expected[t].values);
}

TEST(MeanAggregator, InterleavedStreamsGiveTheWeightedMean) {
  const TensorList global = Random(1, 1.0f);
  const std::vector<Update> updates = RandomUpdates(4, 6);
  std::unique_ptr<Aggregator> agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  std::vector<std::unique_ptr<StreamingUpdate>> streams;
  std::vector<std::string> bytes;
  std::vector<size_t> sent(updates.size(), 0);
  for (const Update& u : updates) {
    auto s = StreamingUpdate::Start(*agg, u.node, u.weight);
    ASSERT_TRUE(s.ok()) << s.status();
    streams.push_back(std::move(s).value());
    bytes.push_back(tensor::Encode(u.delta));
  }
  std::mt19937 rng(9);
  std::uniform_int_distribution<size_t> piece(1, 97);
  for (bool more = true; more;) {
    more = false;
    for (size_t i = 0; i < updates.size(); ++i) {
      if (sent[i] == bytes[i].size()) continue;
      const size_t n = std::min(piece(rng), bytes[i].size() - sent[i]);
      ASSERT_TRUE(streams[i]->Add(absl::string_view(bytes[i]).substr(sent[i], n)).ok());
      sent[i] += n;
      more = true;
    }
  }
  for (auto& s : streams) ASSERT_TRUE(s->Commit().ok());
  absl::StatusOr<TensorList> result = agg->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectNear(*result, WeightedMean(global, updates), 1e-6);
}

TEST(MeanAggregator, UpdateRejectedBeforeFoldingLeavesTheRoundClean) {
  const TensorList global = Random(1, 1.0f);
  const std::vector<Update> updates = RandomUpdates(3, 7);
  std::unique_ptr<Aggregator> agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  ASSERT_TRUE(agg->AddUpdate(updates[0].node, updates[0].weight, updates[0].delta).ok());

  // Wrong layout: refused at the header.
  TensorList wrong = updates[1].delta;
  wrong[4].name = "fc.weight2";
  auto stream = StreamingUpdate::Start(*agg, "bad-layout", 10);
  ASSERT_TRUE(stream.ok());
  absl::Status s = (*stream)->Add(tensor::Encode(wrong));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown tensor fc.weight2");

  // Non-finite value in the first piece: refused before that piece is folded.
  TensorList nan = updates[1].delta;
  nan[0].values[3] = std::numeric_limits<float>::quiet_NaN();
  stream = StreamingUpdate::Start(*agg, "bad-value", 10);
  ASSERT_TRUE(stream.ok());
  s = (*stream)->Add(tensor::Encode(nan));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tensor conv.weight element 3 is not finite"));

  // In memory: checked completely before anything is folded.
  nan[4].values.back() = std::numeric_limits<float>::infinity();
  nan[0].values[3] = 0;
  s = agg->AddUpdate("bad-memory", 10, nan);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tensor fc.weight element 107 is not finite"));

  EXPECT_FALSE(agg->needs_rebuild());
  for (size_t i = 1; i < updates.size(); ++i) {
    ASSERT_TRUE(agg->AddUpdate(updates[i].node, updates[i].weight, updates[i].delta).ok());
  }
  absl::StatusOr<TensorList> result = agg->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  const TensorList expected = FoldedMean(global, updates);
  for (size_t t = 0; t < expected.size(); ++t) EXPECT_EQ(result->at(t).values, expected[t].values);
}

TEST(MeanAggregator, UpdateAbortedAfterFoldingIsRemovedByARebuild) {
  const TensorList global = Random(1, 1.0f);
  const std::vector<Update> updates = RandomUpdates(3, 8);
  std::unique_ptr<Aggregator> agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  ASSERT_TRUE(agg->AddUpdate(updates[0].node, updates[0].weight, updates[0].delta).ok());

  // Node "late-nan" has a NaN after its first piece was folded.
  TensorList late = updates[1].delta;
  late[4].values[50] = std::numeric_limits<float>::quiet_NaN();
  auto late_nan = StreamingUpdate::Start(*agg, "late-nan", 5);
  ASSERT_TRUE(late_nan.ok());
  const std::string late_bytes = tensor::Encode(late);
  // The header is 186 bytes: 200 bytes carry three and a half values.
  ASSERT_TRUE((*late_nan)->Add(absl::string_view(late_bytes).substr(0, 200)).ok());
  EXPECT_FALSE(agg->needs_rebuild());
  EXPECT_EQ((*late_nan)->Add(absl::string_view(late_bytes).substr(200)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(agg->needs_rebuild());

  // Node "broken" sends huge (finite) values, then its stream breaks.
  TensorList huge = Random(99, 1e30f);
  const std::string bytes = tensor::Encode(huge);
  auto broken = StreamingUpdate::Start(*agg, "broken", 1000);
  ASSERT_TRUE(broken.ok());
  ASSERT_TRUE((*broken)->Add(absl::string_view(bytes).substr(0, bytes.size() / 2)).ok());
  (*broken)->Abort();
  EXPECT_TRUE(agg->needs_rebuild());

  // The round goes on; only Finish insists on the rebuild.
  for (size_t i = 1; i < updates.size(); ++i) {
    ASSERT_TRUE(agg->AddUpdate(updates[i].node, updates[i].weight, updates[i].delta).ok());
  }
  absl::StatusOr<TensorList> result = agg->Finish();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("late-nan"));

  // Rebuild from the committed updates.
  const std::vector<std::string> committed = agg->committed_nodes();
  EXPECT_THAT(committed, ElementsAre("node-0", "node-1", "node-2"));
  ASSERT_TRUE(agg->Begin(global).ok());
  EXPECT_FALSE(agg->needs_rebuild());
  for (const Update& u : updates) ASSERT_TRUE(agg->AddUpdate(u.node, u.weight, u.delta).ok());
  result = agg->Finish();
  ASSERT_TRUE(result.ok()) << result.status();
  // Equal to never having seen the aborted updates: close to the exact mean,
  // and bit for bit what folding just the committed updates gives.
  ExpectNear(*result, WeightedMean(global, updates), 1e-6);
  const TensorList expected = FoldedMean(global, updates);
  for (size_t t = 0; t < expected.size(); ++t) EXPECT_EQ(result->at(t).values, expected[t].values);
}

TEST(MeanAggregator, AbortedNodeMayRetry) {
  const TensorList global = Random(1, 1.0f);
  const std::vector<Update> updates = RandomUpdates(1, 9);
  std::unique_ptr<Aggregator> agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  {
    auto sink = agg->BeginUpdate("node-0", 3);
    ASSERT_TRUE(sink.ok());
    EXPECT_EQ(agg->BeginUpdate("node-0", 3).status().code(), absl::StatusCode::kAlreadyExists);
  }  // destroyed unfinished: aborted, nothing folded
  ASSERT_TRUE(agg->AddUpdate("node-0", updates[0].weight, updates[0].delta).ok());
  EXPECT_EQ(agg->AddUpdate("node-0", updates[0].weight, updates[0].delta).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(agg->needs_rebuild());
  absl::StatusOr<TensorList> result = agg->Finish();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->at(0).values, FoldedMean(global, updates)[0].values);
}

TEST(MeanAggregator, SinkChecksOrderRangeAndCompleteness) {
  const TensorList global = Random(1, 1.0f);
  const TensorList delta = Random(2, 0.1f);
  std::unique_ptr<Aggregator> agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  const float* v = delta[0].values.data();

  auto sink = agg->BeginUpdate("a", 1);
  ASSERT_TRUE(sink.ok());
  absl::Status s = (*sink)->Add(0, 1, v, 2);  // must start at element 0
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("out of order"));
  EXPECT_EQ((*sink)->Add(0, 0, v, 2).code(), absl::StatusCode::kFailedPrecondition);  // aborted

  sink = agg->BeginUpdate("b", 1);
  ASSERT_TRUE(sink.ok());
  EXPECT_THAT(std::string((*sink)->Add(9, 0, v, 1).message()), HasSubstr("out of range"));

  sink = agg->BeginUpdate("c", 1);
  ASSERT_TRUE(sink.ok());
  EXPECT_THAT(std::string((*sink)->Add(0, 0, v, 37).message()),
              HasSubstr("37 values at element 0 overrun tensor conv.weight (36 elements)"));

  sink = agg->BeginUpdate("d", 1);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Add(0, 0, v, 36).ok());
  ASSERT_TRUE((*sink)->Add(1, 0, delta[1].values.data(), 3).ok());
  ASSERT_TRUE((*sink)->Add(1, 3, delta[1].values.data() + 3, 1).ok());
  // "unused" has no elements: "scale" comes next.
  sink = agg->BeginUpdate("e", 1);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Add(0, 0, v, 36).ok());
  ASSERT_TRUE((*sink)->Add(1, 0, delta[1].values.data(), 4).ok());
  EXPECT_THAT(std::string((*sink)->Add(2, 0, v, 1).message()),
              HasSubstr("expected tensor scale at element 0"));
  sink = agg->BeginUpdate("f", 1);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Add(0, 0, v, 36).ok());
  ASSERT_TRUE((*sink)->Add(1, 0, delta[1].values.data(), 4).ok());
  s = (*sink)->Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("incomplete: tensor scale has 0 of 1 values"));
  EXPECT_TRUE(agg->needs_rebuild());  // "d" had folded values before it was aborted
}

// The sink's finiteness check tests the exponent bits without branches, in
// blocks of 8 values and a tail: every kind of value at every kind of
// position (first, inside and last of a block, in the tail).
TEST(MeanAggregator, SinkRefusesExactlyTheNonFiniteValuesWhereverTheyAre) {
  struct Case {
    uint32_t bits;
    bool finite;
  };
  const Case cases[] = {
      {0x00000000, true},   // +0
      {0x80000000, true},   // -0
      {0x00000001, true},   // smallest subnormal
      {0x807fffff, true},   // largest subnormal, negative
      {0x3f800000, true},   // 1
      {0x7f7fffff, true},   // FLT_MAX
      {0xff7fffff, true},   // -FLT_MAX
      {0x7f800000, false},  // +inf
      {0xff800000, false},  // -inf
      {0x7fc00000, false},  // quiet NaN
      {0x7f800001, false},  // signalling NaN
      {0xffffffff, false},  // negative NaN, all bits set
  };
  const TensorList global = Random(1, 1.0f);
  for (const Case& c : cases) {
    float odd;
    std::memcpy(&odd, &c.bits, sizeof(odd));
    for (size_t position : {0, 5, 7, 8, 15, 16, 20}) {
      std::vector<float> values(21, 0.5f);  // two blocks of 8 and a tail of 5
      values[position] = odd;
      std::unique_ptr<Aggregator> agg = FedAvg();
      ASSERT_TRUE(agg->Begin(global).ok());
      auto sink = agg->BeginUpdate("n", 1);
      ASSERT_TRUE(sink.ok());
      absl::Status s = (*sink)->Add(0, 0, values.data(), values.size());
      if (c.finite) {
        EXPECT_TRUE(s.ok()) << std::hex << c.bits << " at " << std::dec << position << ": " << s;
      } else {
        EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << std::hex << c.bits;
        EXPECT_THAT(std::string(s.message()),
                    HasSubstr(absl::StrCat("tensor conv.weight element ", position,
                                           " is not finite")));
        EXPECT_FALSE(agg->needs_rebuild()) << "nothing of a refused call may be folded";
      }
    }
  }
}

TEST(MeanAggregator, SinksOfAnEndedRoundAreInert) {
  const TensorList global = Random(1, 1.0f);
  const TensorList delta = Random(2, 0.1f);
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  auto stale = agg->BeginUpdate("stale", 1);
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(agg->Begin(global).ok());  // a new round
  EXPECT_THAT(std::string((*stale)->Add(0, 0, delta[0].values.data(), 1).message()),
              HasSubstr("has ended"));
  ASSERT_TRUE(agg->AddUpdate("a", 1, delta).ok());
  auto committed = agg->BeginUpdate("b", 1);
  ASSERT_TRUE(committed.ok());
  for (size_t t = 0; t < delta.size(); ++t) {
    if (!delta[t].values.empty()) {
      ASSERT_TRUE((*committed)->Add(t, 0, delta[t].values.data(), delta[t].values.size()).ok());
    }
  }
  ASSERT_TRUE((*committed)->Commit().ok());
  EXPECT_THAT(std::string((*committed)->Commit().message()), HasSubstr("already committed"));
  ASSERT_TRUE(agg->Finish().ok());
  EXPECT_THAT(std::string((*stale)->Commit().message()), HasSubstr("already aborted"));
  auto outlives = agg->BeginUpdate("x", 1);
  EXPECT_EQ(outlives.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(agg->Begin(global).ok());
  outlives = agg->BeginUpdate("x", 1);
  ASSERT_TRUE(outlives.ok());
  agg.reset();  // the sink outlives its aggregator
  EXPECT_EQ((*outlives)->Commit().code(), absl::StatusCode::kFailedPrecondition);
  (*outlives)->Abort();
}

TEST(MeanAggregator, FinishPreconditions) {
  const TensorList global = Random(1, 1.0f);
  const TensorList delta = Random(2, 0.1f);
  auto agg = FedAvg();
  EXPECT_EQ(agg->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(agg->BeginUpdate("a", 1).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(agg->Begin(global).ok());
  absl::StatusOr<TensorList> r = agg->Finish();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no update was committed"));
  ASSERT_TRUE(agg->AddUpdate("a", 1, delta).ok());
  auto open = agg->BeginUpdate("b", 1);
  ASSERT_TRUE(open.ok());
  r = agg->Finish();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("1 update(s) still open (e.g. from b)"));
  (*open)->Abort();
  EXPECT_TRUE(agg->Finish().ok());
}

TEST(MeanAggregator, RejectsBadWeightsAndGlobals) {
  const TensorList global = Random(1, 1.0f);
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  for (double w : {0.0, -1.0, std::nan(""), HUGE_VAL, 1e17}) {
    EXPECT_EQ(agg->BeginUpdate("a", w).status().code(), absl::StatusCode::kInvalidArgument) << w;
  }
  EXPECT_EQ(agg->BeginUpdate("", 1).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(agg->Begin({}).code(), absl::StatusCode::kInvalidArgument);
  TensorList bad = global;
  bad[1].values[2] = std::numeric_limits<float>::infinity();
  EXPECT_THAT(std::string(agg->Begin(bad).message()),
              HasSubstr("global model tensor conv.bias element 2 is not finite"));
  bad = global;
  bad[1].values.pop_back();
  EXPECT_EQ(agg->Begin(bad).code(), absl::StatusCode::kInvalidArgument);
  // A failed Begin leaves the current round alone.
  EXPECT_TRUE(agg->AddUpdate("a", 1, global).ok());
}

TEST(MeanAggregator, OverflowIsReportedAndChangesNothing) {
  TensorList global = {{"w", {2}, {std::numeric_limits<float>::max(), 1.0f}}};
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  ASSERT_TRUE(agg->AddUpdate("a", 1, {{"w", {2}, {std::numeric_limits<float>::max(), 1.0f}}}).ok());
  absl::StatusOr<TensorList> r = agg->Finish();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("tensor w element 0"));
  EXPECT_EQ(agg->Finish().status().code(), absl::StatusCode::kOutOfRange);  // still in progress
}

TEST(MeanAggregator, OverflowInsideABlockOfALaterTensorIsFound) {
  // FEDAVG's step checks results in blocks of 8: an overflow at element 13
  // of the second tensor (second block) after a first tensor that is fine.
  TensorList global = {{"a", {20}, std::vector<float>(20, 1.0f)},
                       {"b", {20}, std::vector<float>(20, 1.0f)}};
  TensorList delta = {{"a", {20}, std::vector<float>(20, 0.5f)},
                      {"b", {20}, std::vector<float>(20, 0.5f)}};
  global[1].values[13] = std::numeric_limits<float>::max();
  delta[1].values[13] = std::numeric_limits<float>::max();
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(global).ok());
  ASSERT_TRUE(agg->AddUpdate("n", 3, delta).ok());
  absl::StatusOr<TensorList> r = agg->Finish();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("tensor b element 13"));
}

}  // namespace
}  // namespace tverr::coordinator
