#include "coordinator/aggregation/streaming_update.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/aggregation/aggregator_factory.h"

namespace tverr::coordinator {
namespace {

using tensor::TensorList;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const TensorList kGlobal = {{"w", {2, 2}, {1, 2, 3, 4}}, {"b", {2}, {0, 0}}};
const TensorList kDelta = {{"w", {2, 2}, {0.5f, 0.5f, 0.5f, 0.5f}}, {"b", {2}, {1, -1}}};

std::unique_ptr<Aggregator> FedAvg() {
  v1::AggregationSpec spec;
  spec.set_strategy(v1::AggregationSpec::FEDAVG);
  return std::move(MakeAggregator(spec, nullptr)).value();
}

TEST(StreamingUpdate, CommitsAStreamedUpdate) {
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(kGlobal).ok());
  auto update = StreamingUpdate::Start(*agg, "a", 10);
  ASSERT_TRUE(update.ok());
  const std::string bytes = tensor::Encode(kDelta);
  for (char c : bytes) ASSERT_TRUE((*update)->Add(absl::string_view(&c, 1)).ok());
  ASSERT_TRUE((*update)->Commit().ok());
  EXPECT_EQ((*update)->Add("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(agg->committed_nodes(), ElementsAre("a"));
  absl::StatusOr<TensorList> r = agg->Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->at(0).values, (std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f}));
  EXPECT_EQ(r->at(1).values, (std::vector<float>{1, -1}));
}

TEST(StreamingUpdate, TruncatedStreamIsNotCommitted) {
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(kGlobal).ok());
  auto update = StreamingUpdate::Start(*agg, "a", 10);
  ASSERT_TRUE(update.ok());
  const std::string bytes = tensor::Encode(kDelta);
  ASSERT_TRUE((*update)->Add(absl::string_view(bytes).substr(0, bytes.size() - 1)).ok());
  absl::Status s = (*update)->Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tensor b has 1 of 2 elements"));
  EXPECT_EQ((*update)->Commit(), s);  // sticky
  EXPECT_TRUE(agg->committed_nodes().empty());
  EXPECT_TRUE(agg->needs_rebuild());  // values had been folded
}

TEST(StreamingUpdate, DestroyedUnfinishedIsAborted) {
  auto agg = FedAvg();
  ASSERT_TRUE(agg->Begin(kGlobal).ok());
  {
    auto update = StreamingUpdate::Start(*agg, "a", 10);
    ASSERT_TRUE(update.ok());
    ASSERT_TRUE((*update)->Add(tensor::Encode(kDelta).substr(0, 20)).ok());  // header only
  }
  EXPECT_FALSE(agg->needs_rebuild());
  auto again = StreamingUpdate::Start(*agg, "a", 10);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Add(tensor::Encode(kDelta)).ok());
  ASSERT_TRUE((*again)->Commit().ok());
  EXPECT_TRUE(agg->Finish().ok());
}

TEST(StreamingUpdate, StartFailsWithoutARound) {
  auto agg = FedAvg();
  EXPECT_EQ(StreamingUpdate::Start(*agg, "a", 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tverr::coordinator
