#include "coordinator/runs/run_store.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace tverr::coordinator {
namespace {

TEST(RunStore, RoundsCommitInOrderAndNeverTwiceAndSurviveReopen) {
  testing::TempDir tmp;
  {
    auto db = store::SqliteDb::Open(tmp.Sub("c.db"));
    ASSERT_TRUE(db.ok());
    auto runs = RunStore::Open(std::move(*db));
    ASSERT_TRUE(runs.ok());
    StoredRun run;
    run.run_id = "r1";
    run.spec.set_name("demo");
    run.state = "created";
    run.global_sha256 = "g0";
    ASSERT_TRUE((*runs)->Create(run).ok());
    ASSERT_TRUE((*runs)->SetState("r1", "running", "").ok());
    StoredRound round;
    round.round = 1;
    round.global_sha256 = "g1";
    round.samples = 10;
    round.mean_train_loss = 0.5;
    ASSERT_TRUE((*runs)->CommitRound("r1", round, "o1").ok());
    EXPECT_EQ((*runs)->CommitRound("r1", round, "o1").code(),
              absl::StatusCode::kFailedPrecondition) << "never twice";
    round.round = 3;
    EXPECT_EQ((*runs)->CommitRound("r1", round, "o3").code(),
              absl::StatusCode::kFailedPrecondition) << "no gaps";
    round.round = 2;
    round.global_sha256 = "g2";
    ASSERT_TRUE((*runs)->CommitRound("r1", round, "o2").ok());
    EXPECT_EQ((*runs)->SetState("nope", "failed", "x").code(), absl::StatusCode::kNotFound);
  }
  auto db = store::SqliteDb::Open(tmp.Sub("c.db"));
  ASSERT_TRUE(db.ok());
  auto runs = RunStore::Open(std::move(*db));
  ASSERT_TRUE(runs.ok());
  auto list = (*runs)->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state, "running");
  EXPECT_EQ((*list)[0].committed_round, 2u);
  EXPECT_EQ((*list)[0].global_sha256, "g2");
  EXPECT_EQ((*list)[0].optimizer_sha256, "o2");
  EXPECT_EQ((*list)[0].spec.name(), "demo");
  auto rounds = (*runs)->Rounds("r1");
  ASSERT_TRUE(rounds.ok());
  ASSERT_EQ(rounds->size(), 2u);
  EXPECT_EQ((*rounds)[0].round, 1u);
  EXPECT_DOUBLE_EQ((*rounds)[0].mean_train_loss, 0.5);
  EXPECT_EQ((*rounds)[1].round, 2u);
}

}  // namespace
}  // namespace tverr::coordinator
