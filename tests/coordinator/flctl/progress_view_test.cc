#include "coordinator/flctl/progress_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "absl/time/clock.h"

namespace tverr::flctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::RunStatus Status() {
  v1::RunStatus status;
  status.set_total_rounds(5);
  v1::RoundProgress* round = status.mutable_current();
  round->set_round(2);
  round->set_phase("training");
  round->set_deadline_unix_millis(absl::ToUnixMillis(absl::FromUnixSeconds(1000) + absl::Seconds(90)));
  v1::NodeProgress* a = round->add_nodes();
  a->set_site("fl://nordic/node/bergen");
  a->set_state("training");
  a->set_train_done(30);
  a->set_train_total(120);
  v1::NodeProgress* b = round->add_nodes();
  b->set_site("fl://nordic/node/oslo-uh");
  b->set_state("uploading");
  b->set_upload_done(3000000);
  b->set_upload_total(4000000);
  v1::NodeProgress* c = round->add_nodes();
  c->set_site("fl://nordic/node/tromso");
  c->set_state("submitted");
  v1::NodeProgress* d = round->add_nodes();
  d->set_site("fl://nordic/node/stavanger");
  d->set_state("dropped");
  d->set_reason("disconnected");
  return status;
}

TEST(ProgressView, BarIsFilledInProportion) {
  EXPECT_EQ(Bar(0, 4), "[----]");
  EXPECT_EQ(Bar(0.5, 4), "[##--]");
  EXPECT_EQ(Bar(1, 4), "[####]");
  EXPECT_EQ(Bar(7, 4), "[####]");
  EXPECT_EQ(Bar(-1, 4), "[----]");
  EXPECT_EQ(Bar(std::numeric_limits<double>::quiet_NaN(), 4), "[----]");
}

TEST(ProgressView, RendersTheRoundAndEveryNode) {
  const std::vector<std::string> lines =
      RenderRoundProgress(Status(), absl::FromUnixSeconds(1000));
  ASSERT_EQ(lines.size(), 5u);
  // One of three nodes still in the round has submitted; the dropped one
  // does not count.
  EXPECT_THAT(lines[0], HasSubstr("round 2/5"));
  EXPECT_THAT(lines[0], HasSubstr("1/3 updates"));
  EXPECT_THAT(lines[0], HasSubstr("deadline in 1m30s"));
  EXPECT_THAT(lines[1], HasSubstr("bergen"));
  EXPECT_THAT(lines[1], HasSubstr(" 25%  30/120 steps"));
  EXPECT_THAT(lines[1], HasSubstr("[######------------------]"));
  EXPECT_THAT(lines[2], HasSubstr(" 75%  3.0/4.0 MB"));
  EXPECT_THAT(lines[3], HasSubstr("submitted"));
  EXPECT_THAT(lines[3], HasSubstr("100%"));
  EXPECT_THAT(lines[4], HasSubstr("dropped"));
  EXPECT_THAT(lines[4], HasSubstr("disconnected"));
  EXPECT_THAT(lines[1], ::testing::Not(HasSubstr("fl://")));
}

TEST(ProgressView, NothingWithoutARoundInProgress) {
  v1::RunStatus status;
  status.set_state("completed");
  EXPECT_THAT(RenderRoundProgress(status, absl::Now()), IsEmpty());
  std::map<std::string, std::string> seen;
  EXPECT_THAT(StateChanges(status, &seen), IsEmpty());
}

TEST(ProgressView, StateChangesAreReportedOnce) {
  std::map<std::string, std::string> seen;
  v1::RunStatus status = Status();
  EXPECT_EQ(StateChanges(status, &seen).size(), 4u);
  EXPECT_THAT(StateChanges(status, &seen), IsEmpty());
  status.mutable_current()->mutable_nodes(0)->set_train_done(60);  // same state
  EXPECT_THAT(StateChanges(status, &seen), IsEmpty());
  status.mutable_current()->mutable_nodes(0)->set_state("uploading");
  EXPECT_THAT(StateChanges(status, &seen), ElementsAre("round 2: bergen uploading"));
  // The same state in the next round is news again.
  status.mutable_current()->set_round(3);
  EXPECT_EQ(StateChanges(status, &seen).size(), 4u);
}

}  // namespace
}  // namespace tverr::flctl
