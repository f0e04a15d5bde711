#include "coordinator/round/commit_reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/audit/record_json.h"
#include "coordinator/round/round_audit.h"
#include "tests/support/temp_dir.h"

namespace tverr::coordinator {
namespace {

using ::testing::ElementsAre;

class CommitReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::SqliteDb::Open(tmp_.Sub("c.db"));
    ASSERT_TRUE(db.ok());
    auto runs = RunStore::Open(std::move(*db));
    ASSERT_TRUE(runs.ok());
    runs_ = std::move(*runs);
    auto log = audit::AuditLog::Open(tmp_.Sub("audit"), audit::AuditLogOptions());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  void CreateRun(const std::string& id) {
    StoredRun run;
    run.run_id = id;
    run.spec.mutable_aggregation()->set_strategy(v1::AggregationSpec::FEDAVG);
    run.spec.mutable_aggregation()->set_server_learning_rate(1);
    run.state = "running";
    run.initial_weights_sha256 = "g0";
    run.global_sha256 = "g0";
    ASSERT_TRUE(runs_->Create(run).ok());
  }

  // Commits `round` in the store; with `logged` also its audit record, as
  // the round manager writes it.
  void Commit(const std::string& run, uint64_t round, bool logged) {
    v1::RoundSummary s;
    s.set_round(round);
    s.set_global_sha256(absl::StrCat("g", round));
    s.add_contributors("fl://c/node/a");
    s.add_contributors("fl://c/node/b");
    s.set_samples(70);
    s.set_evaluated(true);
    s.set_pooled_accuracy(0.625);
    v1::SiteMetrics* m = s.add_sites();
    m->set_site("fl://c/node/a");
    m->set_samples(8);
    m->set_accuracy(0.625);
    ASSERT_TRUE(runs_->CommitRound(run, s, "").ok());
    if (logged) {
      v1::RunSpec spec;
      ASSERT_TRUE(log_->AppendDurable(round_audit::AggregateCommitted(
                                          run, round, absl::StrCat("g", round - 1),
                                          s.global_sha256(), {"fl://c/node/a"}, 70, spec, true,
                                          0.625, {}))
                      .ok());
    }
  }

  std::vector<v1::AuditRecord> Records() {
    std::vector<v1::AuditRecord> out;
    auto lines = log_->Read(0, 1000);
    EXPECT_TRUE(lines.ok());
    for (const std::string& line : *lines) out.push_back(*audit::ParseCanonicalRecord(line));
    return out;
  }

  testing::TempDir tmp_;
  std::unique_ptr<RunStore> runs_;
  std::unique_ptr<audit::AuditLog> log_;
};

TEST_F(CommitReconcilerTest, RecordsTheLastCommitTheLogMissesOnce) {  // the crash window
  CreateRun("r1");
  Commit("r1", 1, /*logged=*/true);
  Commit("r1", 2, /*logged=*/false);  // the coordinator stopped in between
  auto recorded = RecordMissingCommits(*runs_, *log_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->size(), 1u);
  EXPECT_EQ((*recorded)[0].run_id, "r1");
  EXPECT_EQ((*recorded)[0].round, 2u);

  const std::vector<v1::AuditRecord> records = Records();
  ASSERT_EQ(records.size(), 2u);
  const v1::AuditRecord& r = records[1];
  EXPECT_EQ(r.event(), v1::AGGREGATE_COMMITTED);
  EXPECT_EQ(r.run_id(), "r1");
  EXPECT_EQ(r.round(), 2u);
  EXPECT_EQ(r.hashes().global_before(), "g1");
  EXPECT_EQ(r.hashes().global_after(), "g2");
  EXPECT_EQ(r.samples(), 70u);
  EXPECT_EQ(r.parameters().at("recorded_at_start"), "true");
  EXPECT_EQ(r.parameters().at("pooled_accuracy"), "0.625");
  ASSERT_EQ(r.metrics_size(), 1);
  EXPECT_EQ(r.metrics(0).site(), "fl://c/node/a");

  // Idempotent: a second start finds it.
  recorded = RecordMissingCommits(*runs_, *log_);
  ASSERT_TRUE(recorded.ok());
  EXPECT_TRUE(recorded->empty());
  EXPECT_EQ(Records().size(), 2u);
}

TEST_F(CommitReconcilerTest, FirstRoundUsesTheInitialModelAndRunsWithoutRoundsAreLeftAlone) {
  CreateRun("r1");
  CreateRun("r2");  // never committed a round
  Commit("r1", 1, /*logged=*/false);
  auto recorded = RecordMissingCommits(*runs_, *log_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->size(), 1u);
  const std::vector<v1::AuditRecord> records = Records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].hashes().global_before(), "g0");
}

TEST_F(CommitReconcilerTest, EveryMissingCommitIsRecordedInRoundOrder) {
  CreateRun("r1");
  Commit("r1", 1, /*logged=*/false);
  Commit("r1", 2, /*logged=*/true);
  Commit("r1", 3, /*logged=*/false);
  auto recorded = RecordMissingCommits(*runs_, *log_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  ASSERT_EQ(recorded->size(), 2u);
  EXPECT_EQ((*recorded)[0].round, 1u);
  EXPECT_EQ((*recorded)[1].round, 3u);
  const std::vector<v1::AuditRecord> records = Records();
  ASSERT_EQ(records.size(), 3u);  // round 2's, then 1's and 3's
  EXPECT_EQ(records[1].round(), 1u);
  EXPECT_EQ(records[1].hashes().global_before(), "g0");
  EXPECT_EQ(records[1].hashes().global_after(), "g1");
  EXPECT_EQ(records[2].round(), 3u);
  EXPECT_EQ(records[2].hashes().global_before(), "g2");
  EXPECT_EQ(records[2].hashes().global_after(), "g3");
}

TEST_F(CommitReconcilerTest, LoggedCommitsNeedNothing) {
  CreateRun("r1");
  Commit("r1", 1, /*logged=*/true);
  Commit("r1", 2, /*logged=*/true);
  auto recorded = RecordMissingCommits(*runs_, *log_);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_TRUE(recorded->empty());
  EXPECT_EQ(Records().size(), 2u);
}

}  // namespace
}  // namespace tverr::coordinator
