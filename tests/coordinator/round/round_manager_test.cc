// RoundManager with in-memory hooks: rounds driven by hand (Step, uploads
// as byte pieces), no network. The networked rounds are covered by the
// integration tests.
#include "coordinator/round/round_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "coordinator/runs/run_spec.h"
#include "common/tensor/tensor_codec.h"
#include "tests/support/temp_dir.h"

namespace tverr::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kArtifact[] = "a model artifact";
const std::vector<std::string> kNodes = {"a", "b", "c"};

tensor::TensorList Weights(float value) {
  return {{"w", {50, 20}, std::vector<float>(1000, value)}, {"b", {20}, std::vector<float>(20, value)}};
}

class RoundManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<RoundManager> Manager(bool spool) {
    RoundManagerHooks hooks;
    hooks.online_nodes = [] { return kNodes; };
    hooks.send_task = [this](const std::string& node, v1::Task task) {
      tasks_[node].push_back(task);
      return absl::OkStatus();
    };
    hooks.publish = [](v1::PayloadKind, absl::string_view data) {
      return absl::StatusOr<crypto::Sha256Digest>(crypto::Sha256(data));
    };
    hooks.audit = [this](v1::AuditRecord record, bool durable) {
      if (record.event() == v1::AGGREGATE_COMMITTED) {
        commit_audited_after_persist_ = persisted_.size();
        if (fail_commit_audit_) return absl::InternalError("disk full");
      }
      audit_.push_back({record, durable});
      return absl::OkStatus();
    };
    hooks.close_round = [](const std::string& run_id, uint64_t round) {
      v1::AuditTreeHead head;
      head.set_run_id(run_id);
      head.set_round(round);
      head.set_tree_size(7);
      return absl::StatusOr<v1::AuditTreeHead>(head);
    };
    hooks.persist_commit = [this](const std::string& run_id, const RoundRecord& record,
                                  const std::string&) {
      persisted_.push_back({run_id, record});
      return absl::OkStatus();
    };
    std::unique_ptr<UpdateSpool> s;
    if (spool) s = std::move(UpdateSpool::Open(tmp_.Sub("spool"))).value();
    return std::make_unique<RoundManager>(std::move(hooks), std::move(s));
  }

  v1::RunSpec Spec() {
    v1::RunSpec spec;
    spec.set_artifact_sha256(crypto::ToHex(crypto::Sha256(kArtifact)));
    spec.mutable_rounds()->set_rounds(2);
    spec.mutable_rounds()->set_min_nodes(2);
    spec.mutable_rounds()->set_max_retries(0);
    spec.mutable_rounds()->set_evaluate_every(0);
    return WithDefaults(spec);
  }

  static v1::TransferHeader Header(uint64_t samples, double train_seconds = 0) {
    v1::TransferHeader header;
    header.set_kind(v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    header.set_run_id(std::string(64, 'f'));
    header.set_round(1);
    header.mutable_update()->set_samples(samples);
    header.mutable_update()->set_train_seconds(train_seconds);
    return header;
  }

  // Uploads `delta` in pieces of 1000 bytes; stops (the upload breaks off)
  // after `stop_after` bytes if that is smaller than the whole.
  static void Upload(RoundManager& m, const std::string& node, uint64_t samples,
                     const tensor::TensorList& delta, size_t stop_after = SIZE_MAX) {
    auto upload = m.BeginUpdate(node, Header(samples));
    ASSERT_TRUE(upload.ok()) << upload.status();
    const std::string bytes = tensor::Encode(delta);
    for (size_t i = 0; i < bytes.size() && i < stop_after; i += 1000) {
      ASSERT_TRUE((*upload)->Add(absl::string_view(bytes).substr(i, 1000)).ok());
    }
    if (stop_after >= bytes.size()) ASSERT_TRUE((*upload)->Finish().ok());
  }

  tverr::testing::TempDir tmp_;
  std::map<std::string, std::vector<v1::Task>> tasks_;
  std::vector<std::pair<v1::AuditRecord, bool>> audit_;  // record, durable
  std::vector<std::pair<std::string, RoundRecord>> persisted_;  // run id, record
  bool fail_commit_audit_ = false;
  // Commits persisted when the last AGGREGATE_COMMITTED record was written.
  size_t commit_audited_after_persist_ = 0;
};

// The round is committed in the store first, then recorded in the audit
// log. If the log refuses the record, the round stays committed (the store
// has it), no receipt goes out and nothing else happens until the log takes
// the record; then the run goes on.
TEST_F(RoundManagerTest, CommitIsPersistedBeforeItsAuditRecordAndWaitsForTheLog) {
  auto m = Manager(/*spool=*/false);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), now).ok());
  fail_commit_audit_ = true;
  Upload(*m, "a", 10, Weights(0.5f));
  Upload(*m, "b", 30, Weights(-1));
  Upload(*m, "c", 20, Weights(0));  // the last update: the round commits
  m->Step(now);
  auto count = [&](auto predicate) {
    size_t n = 0;
    for (const auto& [node, tasks] : tasks_) {
      for (const v1::Task& t : tasks) n += predicate(t) ? 1 : 0;
    }
    return n;
  };
  auto receipts = [](const v1::Task& t) { return t.has_receipt(); };
  auto round2 = [](const v1::Task& t) { return t.has_train() && t.train().round() == 2; };
  RunProgress p = m->Progress();
  EXPECT_EQ(p.committed_round, 1u);
  ASSERT_EQ(persisted_.size(), 1u);
  EXPECT_EQ(commit_audited_after_persist_, 1u) << "the audit record comes after the commit";
  EXPECT_EQ(count(receipts), 0u) << "no receipt for a round the log does not show";
  EXPECT_EQ(count(round2), 0u);
  EXPECT_THAT(p.failure, HasSubstr("waiting for the audit log to record round 1"));

  m->Step(now + absl::Seconds(6));  // the log still refuses: still nothing
  EXPECT_EQ(count(round2), 0u);

  fail_commit_audit_ = false;  // the disk has room again
  m->Step(now + absl::Seconds(12));
  p = m->Progress();
  EXPECT_TRUE(p.failure.empty()) << p.failure;
  EXPECT_EQ(count(round2), 3u) << "round 2 starts once round 1 is in the log";
  size_t commits = 0;
  for (const auto& [record, durable] : audit_) {
    if (record.event() == v1::AGGREGATE_COMMITTED) {
      ++commits;
      EXPECT_EQ(record.round(), 1u);
      EXPECT_TRUE(durable);
    }
  }
  EXPECT_EQ(commits, 1u);
}

// A run that ends on a round whose commit record the log refused: its end
// record follows the commit record, and no new run starts before both are
// written.
TEST_F(RoundManagerTest, RunEndWaitsBehindARefusedCommitRecord) {
  auto m = Manager(/*spool=*/false);
  v1::RunSpec spec = Spec();
  spec.mutable_rounds()->set_rounds(1);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), spec, kArtifact, Weights(1), now).ok());
  fail_commit_audit_ = true;
  Upload(*m, "a", 10, Weights(0.5f));
  Upload(*m, "b", 30, Weights(-1));
  Upload(*m, "c", 20, Weights(0));
  m->Step(now);
  for (const std::string& node : kNodes) {  // the last round evaluates
    v1::EvaluationReport report;
    report.set_run_id(std::string(64, 'f'));
    report.set_round(1);
    report.set_samples(4);
    report.set_accuracy(0.5);
    ASSERT_TRUE(m->EvaluationReceived(node, report).ok());
  }
  m->Step(now);
  RunProgress p = m->Progress();
  EXPECT_EQ(p.state, "completed");
  EXPECT_THAT(p.failure, HasSubstr("waiting for the audit log"));
  auto events = [&] {
    std::vector<v1::AuditEvent> out;
    for (const auto& [record, durable] : audit_) out.push_back(record.event());
    return out;
  };
  EXPECT_THAT(events(), ::testing::Not(::testing::Contains(v1::RUN_COMPLETED)));
  const absl::Status refused =
      m->StartRun(std::string(64, 'e'), spec, kArtifact, Weights(1), now + absl::Seconds(6));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("waiting for the audit log"));

  fail_commit_audit_ = false;
  m->Step(now + absl::Seconds(12));
  EXPECT_TRUE(m->Progress().failure.empty()) << m->Progress().failure;
  const std::vector<v1::AuditEvent> written = events();
  ASSERT_GE(written.size(), 2u);
  EXPECT_EQ(written[written.size() - 2], v1::AGGREGATE_COMMITTED);
  EXPECT_EQ(written.back(), v1::RUN_COMPLETED);
  EXPECT_TRUE(
      m->StartRun(std::string(64, 'e'), spec, kArtifact, Weights(1), now + absl::Seconds(13)).ok());
}

// What is made durable at the commit is the whole round, as the history
// keeps it: per-site evaluation, dropped nodes, timings.
TEST_F(RoundManagerTest, CommitPersistsTheWholeRoundRecord) {
  auto m = Manager(/*spool=*/false);
  v1::RunSpec spec = Spec();
  spec.mutable_rounds()->set_evaluate_every(1);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), spec, kArtifact, Weights(1), start).ok());
  Upload(*m, "a", 10, Weights(0.5f));
  Upload(*m, "b", 30, Weights(-1));
  // c never answers: dropped at the deadline.
  const absl::Time late = start + absl::Seconds(spec.rounds().phase_deadline_seconds() + 1);
  m->Step(late);
  ASSERT_EQ(m->Progress().phase, RoundPhase::kEvaluating) << m->Progress().failure;
  for (const auto& [node, accuracy] : {std::pair<std::string, double>{"a", 0.5}, {"b", 1.0}}) {
    v1::EvaluationReport report;
    report.set_run_id(std::string(64, 'f'));
    report.set_round(1);
    report.set_samples(node == "a" ? 4 : 12);
    report.set_accuracy(accuracy);
    report.add_sensitivity(0.25);
    ASSERT_TRUE(m->EvaluationReceived(node, report).ok());
  }
  m->Step(late);
  const RunProgress p = m->Progress();
  ASSERT_EQ(p.committed_round, 1u) << p.failure;
  ASSERT_EQ(persisted_.size(), 1u);
  const RoundRecord& stored = persisted_[0].second;
  const RoundRecord& kept = p.history[0];
  EXPECT_EQ(stored.round, 1u);
  EXPECT_EQ(stored.global_sha256, kept.global_sha256);
  EXPECT_EQ(stored.dropped, kept.dropped);
  EXPECT_EQ(stored.dropped.count("c"), 1u);
  EXPECT_EQ(stored.samples, 40u);
  EXPECT_DOUBLE_EQ(stored.pooled_accuracy, (4 * 0.5 + 12 * 1.0) / 16);
  EXPECT_DOUBLE_EQ(stored.duration_seconds, kept.duration_seconds);
  ASSERT_EQ(stored.evaluations.size(), 2u);
  EXPECT_EQ(stored.evaluations.at("b").samples(), 12u);
  EXPECT_DOUBLE_EQ(stored.evaluations.at("a").sensitivity(0), 0.25);
}

TEST_F(RoundManagerTest, UpdateBrokenOffAfterPartialFoldIsRebuiltFromTheSpool) {
  auto m = Manager(/*spool=*/true);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), now).ok());
  ASSERT_EQ(tasks_.size(), 3u);
  Upload(*m, "a", 10, Weights(0.5f));
  // b's upload breaks off half-way: part of it is already in the sum.
  Upload(*m, "b", 1000, Weights(100), /*stop_after=*/2000);
  Upload(*m, "c", 30, Weights(-1));
  m->Step(now);
  RunProgress p = m->Progress();
  ASSERT_EQ(p.committed_round, 1u) << p.failure;
  ASSERT_EQ(p.history.size(), 1u);
  EXPECT_THAT(p.history[0].contributors, UnorderedElementsAre("a", "c"));
  EXPECT_THAT(p.history[0].dropped.at("b"), HasSubstr("broke off"));
  EXPECT_EQ(p.history[0].samples, 40u);
  // FedAvg: 1 + (10 * 0.5 + 30 * -1) / 40.
  const float expected = 1.0f + (10 * 0.5f + 30 * -1.0f) / 40;
  for (const tensor::NamedTensor& t : m->Global()) {
    for (float v : t.values) ASSERT_NEAR(v, expected, 1e-6) << t.name;
  }
  // Round 2 starts on the committed model; the spool is empty again.
  m->Step(now);
  EXPECT_EQ(m->Progress().phase, RoundPhase::kTraining);
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.Sub("spool")));
}

TEST_F(RoundManagerTest, WithoutASpoolTheSpoiltRoundFails) {
  auto m = Manager(/*spool=*/false);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), now).ok());
  Upload(*m, "a", 10, Weights(0.5f));
  Upload(*m, "b", 1000, Weights(100), /*stop_after=*/2000);
  Upload(*m, "c", 30, Weights(-1));
  m->Step(now);
  RunProgress p = m->Progress();
  EXPECT_EQ(p.committed_round, 0u);
  EXPECT_EQ(p.state, "failed");
  EXPECT_THAT(p.failure, HasSubstr("rebuild"));
}

TEST_F(RoundManagerTest, UpdateRejectedInItsFirstPieceNeedsNoRebuild) {
  auto m = Manager(/*spool=*/false);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), now).ok());
  Upload(*m, "a", 10, Weights(0.5f));
  tensor::TensorList nan = Weights(0);
  nan[0].values[0] = std::numeric_limits<float>::quiet_NaN();
  auto upload = m->BeginUpdate("b", Header(10));
  ASSERT_TRUE(upload.ok());
  EXPECT_THAT((*upload)->Add(tensor::Encode(nan)).message(), HasSubstr("not finite"));
  Upload(*m, "c", 10, Weights(1.5f));
  m->Step(now);
  RunProgress p = m->Progress();
  ASSERT_EQ(p.committed_round, 1u) << p.failure;
  EXPECT_THAT(p.history[0].dropped.at("b"), HasSubstr("not finite"));
  for (const tensor::NamedTensor& t : m->Global()) {
    for (float v : t.values) ASSERT_NEAR(v, 2.0f, 1e-6);
  }
}

TEST_F(RoundManagerTest, DuplicateAndOversizedUpdatesAreRefused) {
  auto m = Manager(/*spool=*/true);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), now).ok());
  Upload(*m, "a", 10, Weights(0.5f));
  // A second update from a node that has contributed.
  auto again = m->BeginUpdate("a", Header(10));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("expects no update from a"));
  // More bytes than the model's layout: refused, b is dropped.
  auto upload = m->BeginUpdate("b", Header(10));
  ASSERT_TRUE(upload.ok());
  const std::string oversized = tensor::Encode(Weights(0)) + std::string(4096, '\0');
  absl::Status s = (*upload)->Add(oversized);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("after the end of the tensor data"));
  Upload(*m, "c", 10, Weights(1.5f));
  m->Step(now);
  RunProgress p = m->Progress();
  ASSERT_EQ(p.committed_round, 1u) << p.failure;
  EXPECT_THAT(p.history[0].contributors, UnorderedElementsAre("a", "c"));
  EXPECT_THAT(p.history[0].dropped.at("b"), HasSubstr("after the end of the tensor data"));
  for (const tensor::NamedTensor& t : m->Global()) {
    for (float v : t.values) ASSERT_NEAR(v, 2.0f, 1e-6);
  }
}

TEST_F(RoundManagerTest, EveryDecisionIsAuditedAndContributorsGetTheirReceipt) {
  auto m = Manager(/*spool=*/true);
  const absl::Time now = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), now).ok());
  Upload(*m, "a", 10, Weights(0.5f));
  auto nan_upload = m->BeginUpdate("b", Header(10));
  ASSERT_TRUE(nan_upload.ok());
  tensor::TensorList nan = Weights(0);
  nan[0].values[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE((*nan_upload)->Add(tensor::Encode(nan)).ok());
  Upload(*m, "c", 30, Weights(-1));  // the last update: the round commits at once
  ASSERT_EQ(m->Progress().committed_round, 1u);

  std::vector<v1::AuditEvent> events;
  for (const auto& [record, durable] : audit_) events.push_back(record.event());
  EXPECT_THAT(events, ::testing::ElementsAre(v1::PRIVACY_PARAMETERS, v1::ROUND_OPENED,
                                             v1::UPDATE_ACCEPTED, v1::UPDATE_REJECTED,
                                             v1::NODE_DROPPED, v1::UPDATE_ACCEPTED,
                                             v1::AGGREGATE_COMMITTED));
  const v1::AuditRecord& accepted = audit_[2].first;
  EXPECT_TRUE(audit_[2].second) << "an accepted update is durable before it is acknowledged";
  EXPECT_EQ(accepted.actor().identity(), "a");
  EXPECT_EQ(accepted.bytes(), tensor::Encode(Weights(0.5f)).size());
  EXPECT_THAT(audit_[3].first.reason(), HasSubstr("not finite"));
  const v1::AuditRecord& committed = audit_.back().first;
  EXPECT_TRUE(audit_.back().second);
  EXPECT_THAT(committed.nodes(), UnorderedElementsAre("a", "c"));
  EXPECT_EQ(committed.samples(), 40u);
  EXPECT_EQ(committed.hashes().global_before(),
            crypto::ToHex(crypto::Sha256(tensor::Encode(Weights(1)))));
  EXPECT_EQ(committed.hashes().global_after().size(), 64u);
  EXPECT_NE(committed.hashes().global_after(), committed.hashes().global_before());
  // Receipts: to the contributors only.
  for (const std::string node : {"a", "c"}) {
    ASSERT_FALSE(tasks_[node].empty());
    EXPECT_TRUE(tasks_[node].back().has_receipt()) << node;
    EXPECT_EQ(tasks_[node].back().receipt().round(), 1u);
  }
  EXPECT_FALSE(tasks_["b"].back().has_receipt());
  // The next round opens on the next step.
  m->Step(now);
  EXPECT_EQ(audit_.back().first.event(), v1::ROUND_OPENED);
  EXPECT_EQ(audit_.back().first.round(), 2u);
}

v1::TaskProgress Report(uint64_t round, v1::TaskProgress::Stage stage, uint64_t done,
                        uint64_t total) {
  v1::TaskProgress p;
  p.set_run_id(std::string(64, 'f'));
  p.set_round(round);
  p.set_stage(stage);
  p.set_done(done);
  p.set_total(total);
  return p;
}

TEST_F(RoundManagerTest, ProgressShowsWhatEachParticipantIsDoing) {
  auto m = Manager(/*spool=*/false);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(m->StartRun(std::string(64, 'f'), Spec(), kArtifact, Weights(1), start).ok());
  ASSERT_TRUE(m->ProgressReceived("a", Report(1, v1::TaskProgress::STAGE_TRAINING, 3, 10)).ok());
  EXPECT_EQ(m->ProgressReceived("x", Report(1, v1::TaskProgress::STAGE_TRAINING, 3, 10)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->ProgressReceived("a", Report(2, v1::TaskProgress::STAGE_TRAINING, 3, 10)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->ProgressReceived("a", Report(1, v1::TaskProgress::STAGE_TRAINING, 11, 10)).code(),
            absl::StatusCode::kInvalidArgument);
  // b trained 10 of 10 steps and is half-way through its upload; c has
  // submitted.
  ASSERT_TRUE(m->ProgressReceived("b", Report(1, v1::TaskProgress::STAGE_TRAINING, 10, 10)).ok());
  ASSERT_TRUE(m->ProgressReceived("b", Report(1, v1::TaskProgress::STAGE_UPLOADING, 0, 0)).ok());
  v1::TransferHeader header = Header(10, /*train_seconds=*/1.5);
  const std::string bytes = tensor::Encode(Weights(0));
  header.set_total_size(bytes.size());
  auto upload = m->BeginUpdate("b", header);
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Add(absl::string_view(bytes).substr(0, 2000)).ok());
  Upload(*m, "c", 10, Weights(0));

  RunProgress p = m->Progress();
  ASSERT_TRUE(p.current.has_value());
  EXPECT_EQ(p.current->round(), 1u);
  EXPECT_EQ(p.current->phase(), "training");
  ASSERT_EQ(p.current->nodes_size(), 3);
  const v1::NodeProgress& a = p.current->nodes(0);
  EXPECT_EQ(a.site(), "a");
  EXPECT_EQ(a.state(), "training");
  EXPECT_EQ(a.train_done(), 3u);
  EXPECT_EQ(a.train_total(), 10u);
  const v1::NodeProgress& b = p.current->nodes(1);
  EXPECT_EQ(b.state(), "uploading");
  EXPECT_EQ(b.train_done(), 10u) << "training counts stay after training";
  EXPECT_EQ(b.train_total(), 10u);
  EXPECT_EQ(b.upload_done(), 2000u);
  EXPECT_EQ(b.upload_total(), bytes.size());
  EXPECT_EQ(p.current->nodes(2).state(), "submitted");

  // a goes away; b finishes: the round commits at once, with its timing.
  m->NodeLost("a", start);
  ASSERT_TRUE((*upload)->Add(absl::string_view(bytes).substr(2000)).ok());
  const absl::Time before = absl::Now();
  ASSERT_TRUE((*upload)->Finish().ok());
  const absl::Time after = absl::Now();
  p = m->Progress();
  ASSERT_EQ(p.history.size(), 1u) << p.failure;
  EXPECT_GE(p.history[0].duration_seconds, absl::ToDoubleSeconds(before - start));
  EXPECT_LE(p.history[0].duration_seconds, absl::ToDoubleSeconds(after - start));
  EXPECT_DOUBLE_EQ(p.history[0].max_train_seconds, 1.5);
  EXPECT_FALSE(p.current.has_value() && p.current->round() == 1);
}

}  // namespace
}  // namespace tverr::coordinator
