#include "coordinator/round/round_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tverr::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

RoundOptions Options(uint32_t min_nodes, bool evaluate = false) {
  RoundOptions o;
  o.round = 4;
  o.min_nodes = min_nodes;
  o.phase_deadline = absl::Seconds(60);
  o.evaluate = evaluate;
  return o;
}

TEST(RoundState, AllUpdatesThenAggregateAndCommit) {
  RoundState r(Options(2), {"a", "b", "c"}, kT0);
  EXPECT_EQ(r.phase(), RoundPhase::kTraining);
  ASSERT_TRUE(r.UpdateCommitted("a", kT0 + absl::Seconds(1)).ok());
  ASSERT_TRUE(r.UpdateCommitted("b", kT0 + absl::Seconds(2)).ok());
  EXPECT_EQ(r.phase(), RoundPhase::kTraining) << "c may still come before the deadline";
  ASSERT_TRUE(r.UpdateCommitted("c", kT0 + absl::Seconds(3)).ok());
  EXPECT_EQ(r.phase(), RoundPhase::kAggregating);
  ASSERT_TRUE(r.Aggregated(kT0 + absl::Seconds(4)).ok());
  EXPECT_EQ(r.phase(), RoundPhase::kCommitting);
  ASSERT_TRUE(r.Committed().ok());
  EXPECT_EQ(r.phase(), RoundPhase::kCommitted);
  EXPECT_THAT(r.contributors(), ElementsAre("a", "b", "c"));
  EXPECT_FALSE(r.Committed().ok()) << "never commit twice";
}

TEST(RoundState, DropoutsAreToleratedDownToTheMinimum) {
  RoundState r(Options(2), {"a", "b", "c"}, kT0);
  r.Drop("c", "disconnected", kT0 + absl::Seconds(1));
  EXPECT_EQ(r.phase(), RoundPhase::kTraining);
  ASSERT_TRUE(r.UpdateCommitted("a", kT0 + absl::Seconds(2)).ok());
  ASSERT_TRUE(r.UpdateCommitted("b", kT0 + absl::Seconds(3)).ok());
  EXPECT_EQ(r.phase(), RoundPhase::kAggregating);
  EXPECT_EQ(r.dropped().at("c"), "disconnected");
  EXPECT_FALSE(r.UpdateCommitted("c", kT0 + absl::Seconds(4)).ok());
}

TEST(RoundState, OneDropoutTooManyFailsCleanly) {
  RoundState r(Options(2), {"a", "b", "c"}, kT0);
  ASSERT_TRUE(r.UpdateCommitted("a", kT0).ok());
  r.Drop("b", "update rejected: tensor fc.weight element 3 is not finite", kT0);
  EXPECT_EQ(r.phase(), RoundPhase::kTraining);
  r.Drop("c", "disconnected", kT0);
  EXPECT_EQ(r.phase(), RoundPhase::kFailed);
  EXPECT_THAT(r.failure(), HasSubstr("only 1 node(s) can still contribute"));
  EXPECT_FALSE(r.Aggregated(kT0).ok());
}

TEST(RoundState, DeadlineDropsLateNodes) {
  RoundState r(Options(2), {"a", "b", "c"}, kT0);
  ASSERT_TRUE(r.UpdateCommitted("a", kT0).ok());
  ASSERT_TRUE(r.UpdateCommitted("b", kT0).ok());
  r.Tick(kT0 + absl::Seconds(59));
  EXPECT_EQ(r.phase(), RoundPhase::kTraining);
  r.Tick(kT0 + absl::Seconds(60));
  EXPECT_EQ(r.phase(), RoundPhase::kAggregating);
  EXPECT_EQ(r.dropped().at("c"), "missed the training deadline");
  EXPECT_FALSE(r.ExpectsUpdate("c"));
}

TEST(RoundState, DeadlineWithTooFewUpdatesFails) {
  RoundState r(Options(2), {"a", "b"}, kT0);
  ASSERT_TRUE(r.UpdateCommitted("a", kT0).ok());
  r.Tick(kT0 + absl::Minutes(5));
  EXPECT_EQ(r.phase(), RoundPhase::kFailed);
  EXPECT_THAT(r.failure(), HasSubstr("deadline passed with 1 update(s)"));
}

TEST(RoundState, UnexpectedUpdatesAreRefusedWithAReason) {
  RoundState r(Options(1), {"a", "b"}, kT0);
  EXPECT_THAT(std::string(r.UpdateCommitted("zz", kT0).message()), HasSubstr("not a participant"));
  ASSERT_TRUE(r.UpdateCommitted("a", kT0).ok());
  EXPECT_THAT(std::string(r.UpdateCommitted("a", kT0).message()), HasSubstr("already sent"));
  r.Drop("b", "disconnected", kT0);
  EXPECT_EQ(r.phase(), RoundPhase::kAggregating);
  // Closed round: no more updates, whoever sends them.
  EXPECT_THAT(std::string(r.UpdateCommitted("b", kT0).message()), HasSubstr("takes no more"));
}

TEST(RoundState, EvaluationPhaseWaitsForContributorsOrItsDeadline) {
  RoundState r(Options(1, /*evaluate=*/true), {"a", "b"}, kT0);
  ASSERT_TRUE(r.UpdateCommitted("a", kT0).ok());
  ASSERT_TRUE(r.UpdateCommitted("b", kT0).ok());
  ASSERT_TRUE(r.Aggregated(kT0 + absl::Seconds(10)).ok());
  EXPECT_EQ(r.phase(), RoundPhase::kEvaluating);
  ASSERT_TRUE(r.EvaluationReceived("a", kT0 + absl::Seconds(11)).ok());
  EXPECT_FALSE(r.EvaluationReceived("a", kT0).ok());
  EXPECT_FALSE(r.EvaluationReceived("zz", kT0).ok());
  r.Tick(kT0 + absl::Seconds(69));
  EXPECT_EQ(r.phase(), RoundPhase::kEvaluating);
  r.Tick(kT0 + absl::Seconds(70));  // evaluation deadline: 60 s after aggregation
  EXPECT_EQ(r.phase(), RoundPhase::kCommitting);
  EXPECT_THAT(r.evaluated(), ElementsAre("a"));
}

TEST(RoundState, TooFewParticipantsFailAtOnce) {
  RoundState r(Options(3), {"a", "b"}, kT0);
  EXPECT_EQ(r.phase(), RoundPhase::kFailed);
}

TEST(SelectParticipants, DeterministicSampleThatChangesPerRound) {
  std::vector<std::string> nodes = {"e", "d", "c", "b", "a", "a"};
  auto all = SelectParticipants(nodes, 0, 2, 7, 1);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre("a", "b", "c", "d", "e"));
  auto r1 = SelectParticipants(nodes, 3, 2, 7, 1);
  auto r1_again = SelectParticipants({"a", "b", "c", "d", "e"}, 3, 2, 7, 1);
  ASSERT_TRUE(r1.ok() && r1_again.ok());
  EXPECT_EQ(r1->size(), 3u);
  EXPECT_EQ(*r1, *r1_again) << "independent of connection order";
  bool differs = false;
  for (uint64_t round = 2; round < 10; ++round) {
    differs |= *SelectParticipants(nodes, 3, 2, 7, round) != *r1;
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(SelectParticipants({"a"}, 0, 2, 7, 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tverr::coordinator
