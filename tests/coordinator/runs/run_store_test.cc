#include "coordinator/runs/run_store.h"

#include <gmock/gmock.h>
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
    v1::RoundSummary round;
    round.set_round(1);
    round.set_global_sha256("g1");
    round.set_samples(10);
    round.set_mean_train_loss(0.5);
    round.add_contributors("fl://c/node/a");
    round.add_dropped("fl://c/node/b: missed the deadline");
    round.set_evaluated(true);
    round.set_pooled_accuracy(0.75);
    round.set_duration_seconds(3.5);
    v1::SiteMetrics* site = round.add_sites();
    site->set_site("fl://c/node/a");
    site->set_samples(40);
    site->set_accuracy(0.75);
    site->add_sensitivity(0.5);
    ASSERT_TRUE((*runs)->CommitRound("r1", round, "o1").ok());
    EXPECT_EQ((*runs)->CommitRound("r1", round, "o1").code(),
              absl::StatusCode::kFailedPrecondition) << "never twice";
    round.set_round(3);
    EXPECT_EQ((*runs)->CommitRound("r1", round, "o3").code(),
              absl::StatusCode::kFailedPrecondition) << "no gaps";
    round.set_round(2);
    round.set_global_sha256("g2");
    round.clear_sites();
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
  // The whole round comes back, per-site metrics and timings included.
  EXPECT_EQ((*rounds)[0].round(), 1u);
  EXPECT_DOUBLE_EQ((*rounds)[0].mean_train_loss(), 0.5);
  EXPECT_DOUBLE_EQ((*rounds)[0].duration_seconds(), 3.5);
  ASSERT_EQ((*rounds)[0].dropped_size(), 1);
  EXPECT_EQ((*rounds)[0].dropped(0), "fl://c/node/b: missed the deadline");
  ASSERT_EQ((*rounds)[0].sites_size(), 1);
  EXPECT_EQ((*rounds)[0].sites(0).site(), "fl://c/node/a");
  EXPECT_EQ((*rounds)[0].sites(0).samples(), 40u);
  EXPECT_DOUBLE_EQ((*rounds)[0].sites(0).sensitivity(0), 0.5);
  EXPECT_EQ((*rounds)[1].round(), 2u);
  EXPECT_EQ((*rounds)[1].global_sha256(), "g2");
  EXPECT_EQ((*rounds)[1].sites_size(), 0);
}

// Rounds committed by a coordinator from before the round summaries: the
// figures in the rounds table's columns come back.
// A store on a fresh database, and the database for writing rows by hand.
struct OpenedStore {
  std::shared_ptr<store::SqliteDb> db;
  std::unique_ptr<RunStore> runs;
};

OpenedStore OpenStore(const testing::TempDir& tmp) {
  auto db = store::SqliteDb::Open(tmp.Sub("c.db"));
  EXPECT_TRUE(db.ok()) << db.status();
  OpenedStore s{std::move(*db), nullptr};
  auto runs = RunStore::Open(s.db);
  EXPECT_TRUE(runs.ok()) << runs.status();
  s.runs = std::move(*runs);
  return s;
}

TEST(RunStore, RoundsWithoutSummaryComeBackFromTheColumns) {
  testing::TempDir tmp;
  auto [shared, runs] = OpenStore(tmp);
  ASSERT_TRUE(shared
                  ->Exec("INSERT INTO rounds VALUES ('r1', 1, 'fl://c/node/a,fl://c/node/b', 30, "
                         "'0.25', 'g1', 1, '0.5', 20);")
                  .ok());
  auto rounds = runs->Rounds("r1");
  ASSERT_TRUE(rounds.ok()) << rounds.status();
  ASSERT_EQ(rounds->size(), 1u);
  const v1::RoundSummary& r = (*rounds)[0];
  EXPECT_EQ(r.round(), 1u);
  ASSERT_EQ(r.contributors_size(), 2);
  EXPECT_EQ(r.contributors(1), "fl://c/node/b");
  EXPECT_EQ(r.samples(), 30u);
  EXPECT_DOUBLE_EQ(r.mean_train_loss(), 0.25);
  EXPECT_EQ(r.global_sha256(), "g1");
  EXPECT_TRUE(r.evaluated());
  EXPECT_DOUBLE_EQ(r.pooled_accuracy(), 0.5);
  EXPECT_EQ(r.evaluation_samples(), 20u);
}

TEST(RunStore, DamagedSummaryIsDataLoss) {
  testing::TempDir tmp;
  auto [shared, runs] = OpenStore(tmp);
  ASSERT_TRUE(shared
                  ->Exec("INSERT INTO rounds VALUES ('r1', 1, '', 30, '0.25', 'g1', 0, '0', 0);"
                         "INSERT INTO round_summaries VALUES ('r1', 1, x'ffffffff');")
                  .ok());
  auto rounds = runs->Rounds("r1");
  EXPECT_EQ(rounds.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(rounds.status().message()),
              ::testing::HasSubstr("summary of round 1 of run r1 is damaged"));
}

}  // namespace
}  // namespace tverr::coordinator
