// The audit trail of real training runs: the coordinator's log verifies
// offline with its public key and shows every round; each node keeps the
// signed tree heads it received as receipts; and a coordinator that
// rewrites an earlier record between two rounds (even re-chaining and
// re-signing everything after it) is caught by the nodes, which stop
// taking part and say why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit_key.h"
#include "common/audit/merkle.h"
#include "common/audit/record_json.h"
#include "common/audit/verifier.h"
#include "common/crypto/sha256.h"
#include "coordinator/runs/run_spec.h"
#include "node/daemon/node_daemon.h"
#include "node/data/demo/demo_dataset.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"
#include "tests/integration/federation_fixture.h"
#include "tests/support/subprocess.h"

namespace tverr::testing {
namespace {

using ::testing::HasSubstr;

class AuditTrailTest : public FederationFixture {
 protected:
  void SetUp() override {
    FederationFixture::SetUp();
    demo_.out_dir = tmp_.Sub("demo");
    demo_.sites = {"oslo-uh", "bergen-hus", "tromso-unn"};
    demo_.images_per_site = 90;
    ASSERT_TRUE(node::demo::WriteDemoSites(demo_).ok());
    artifact_path_ = tmp_.Sub("lr.pt");
    ASSERT_TRUE(node::WriteLogisticRegression(artifact_path_, 1, 28, 28, 10, 3).ok());
    artifact_ = ReadFileOrEmpty(artifact_path_);
  }

  v1::RunSpec Spec(uint32_t rounds, uint64_t seed) {
    v1::RunSpec spec = DemoSpec(artifact_, rounds, /*min_nodes=*/3);
    spec.set_seed(seed);
    return coordinator::WithDefaults(spec);
  }

  tensor::TensorList Initial(const v1::RunSpec& spec) {
    auto trainer = node::LoadTorchScriptTrainer(artifact_path_, spec);
    EXPECT_TRUE(trainer.ok());
    return *(*trainer)->Weights();
  }

  void StartDaemons(const std::vector<std::string>& run_ids) {
    StartTrainingDaemons(daemons_, demo_.sites, demo_.out_dir, run_ids[0]);
  }

  void StopDaemons() { daemons_.Stop(); }

  coordinator::RunProgress RunToEnd(const v1::RunSpec& spec) {
    EXPECT_TRUE(server_->StartRun(spec, artifact_, Initial(spec)).ok());
    EXPECT_TRUE(
        WaitFor([&] { return server_->Progress().state != "running"; }, absl::Seconds(120)));
    return server_->Progress();
  }

  std::string AuditDir() const { return tmp_.Sub("coordinator-state") + "/audit"; }
  std::string PublicKey() const {
    return ReadFileOrEmpty(tmp_.Sub("coordinator-state") + "/audit-key.pub.pem");
  }

  node::demo::DemoOptions demo_;
  std::string artifact_path_;
  std::string artifact_;
  DaemonGroup daemons_;
};

TEST_F(AuditTrailTest, TrainingRunLogVerifiesAndNodesKeepTheirReceipts) {
  const v1::RunSpec spec = Spec(2, 5);
  ASSERT_NO_FATAL_FAILURE(StartDaemons({*coordinator::RunId(spec)}));
  const coordinator::RunProgress p = RunToEnd(spec);
  // The receipts of the last round go out after the commit.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const std::string& site : demo_.sites) {
          if (ReadLines(tmp_.Sub(site + "-state") + "/receipts/receipts.jsonl").size() < 2) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(20)));
  StopDaemons();
  ASSERT_EQ(p.state, "completed") << p.failure;

  std::map<v1::AuditEvent, int> events;
  audit::VerifyOptions options;
  options.on_record = [&](uint64_t, const v1::AuditRecord& r) { ++events[r.event()]; };
  absl::StatusOr<audit::VerifyResult> verdict =
      audit::VerifyLogDirectory(AuditDir(), PublicKey(), options);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->ok) << verdict->message;
  EXPECT_GE(verdict->tree_heads, 2u);
  EXPECT_EQ(events[v1::COORDINATOR_STARTED], 1);
  EXPECT_EQ(events[v1::NODE_JOINED], 3);
  EXPECT_EQ(events[v1::PRIVACY_PARAMETERS], 1);
  EXPECT_EQ(events[v1::ROUND_OPENED], 2);
  EXPECT_EQ(events[v1::UPDATE_ACCEPTED], 6);
  EXPECT_EQ(events[v1::AGGREGATE_COMMITTED], 2);
  EXPECT_EQ(events[v1::EVALUATION_REPORTED], 3);  // the last round evaluates
  EXPECT_EQ(events[v1::RUN_COMPLETED], 1);

  // Each node's receipts: one head per round, the later extending the
  // earlier, signed by the coordinator's audit key.
  for (const std::string& site : demo_.sites) {
    const std::vector<std::string> receipts =
        ReadLines(tmp_.Sub(site + "-state") + "/receipts/receipts.jsonl");
    ASSERT_EQ(receipts.size(), 2u) << site;
    v1::AuditTreeHead first, second;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(receipts[0], &first).ok());
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(receipts[1], &second).ok());
    EXPECT_EQ(first.round(), 1u);
    EXPECT_EQ(second.round(), 2u);
    EXPECT_LT(first.tree_size(), second.tree_size());
    EXPECT_TRUE(audit::VerifyTreeHead(second, PublicKey()).ok());

    // The hospital's own log: what it approved, read and sent, and the
    // receipts it checked; identifiers, counts and hashes only.
    std::map<v1::AuditEvent, int> local;
    uint64_t sequence = 0;
    for (const std::string& line : ReadLines(tmp_.Sub(site + "-state") + "/audit/records.jsonl")) {
      absl::StatusOr<v1::AuditRecord> r = audit::ParseCanonicalRecord(line);
      ASSERT_TRUE(r.ok()) << site << ": " << r.status();
      EXPECT_EQ(r->sequence(), sequence++);
      ++local[r->event()];
      if (r->event() == v1::UPDATE_SENT) {
        EXPECT_EQ(r->hashes().update().size(), 64u);
        EXPECT_GT(r->bytes(), 0u);
      }
      if (r->event() == v1::DATA_READ) EXPECT_FALSE(r->hashes().dataset().empty());
    }
    EXPECT_EQ(local[v1::CONFIGURATION_CHANGED], 1) << site;  // the start, with its config
    EXPECT_EQ(local[v1::JOB_APPROVED], 3) << site;  // two train tasks, one evaluation
    EXPECT_EQ(local[v1::DATA_READ], 3) << site;
    EXPECT_EQ(local[v1::UPDATE_SENT], 2) << site;
    EXPECT_EQ(local[v1::TREE_HEAD_RECEIVED], 2) << site;
    EXPECT_EQ(local[v1::CONSISTENCY_CHECKED], 2) << site;
  }
}

TEST_F(AuditTrailTest, NodesCatchACoordinatorThatRewritesAnEarlierRecord) {
  const v1::RunSpec first = Spec(1, 7);
  const v1::RunSpec second = Spec(1, 8);
  // The nodes approve both runs.
  ASSERT_NO_FATAL_FAILURE(StartTrainingDaemons(daemons_, demo_.sites, demo_.out_dir,
                                               *coordinator::RunId(first),
                                               *coordinator::RunId(second)));
  ASSERT_EQ(RunToEnd(first).state, "completed");
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const std::string& site : demo_.sites) {
          if (ReadLines(tmp_.Sub(site + "-state") + "/receipts/receipts.jsonl").empty()) return false;
        }
        return true;
      },
      absl::Seconds(20)));

  // The coordinator's operator rewrites record 2 (a node's join), then
  // re-chains every later record and re-signs every tree head with the
  // audit key, so the log looks intact on its own.
  const int port = server_->port();
  server_->Shutdown();
  server_.reset();
  std::vector<std::string> records = ReadLines(AuditDir() + "/records.jsonl");
  ASSERT_GT(records.size(), 5u);
  std::vector<audit::Hash> leaves;
  for (size_t i = 0; i < records.size(); ++i) {
    absl::StatusOr<v1::AuditRecord> r = audit::ParseCanonicalRecord(records[i]);
    ASSERT_TRUE(r.ok()) << r.status();
    if (i == 2) r->set_reason("this record was rewritten");
    if (i > 0) r->set_previous_leaf_sha256(audit::HashToHex(leaves.back()));
    records[i] = *audit::RecordToJson(*r);
    leaves.push_back(audit::LeafHash(records[i]));
  }
  auto key = audit::AuditKey::Load(tmp_.Sub("coordinator-state") + "/audit-key.pem");
  ASSERT_TRUE(key.ok());
  std::vector<std::string> heads = ReadLines(AuditDir() + "/tree-heads.jsonl");
  for (std::string& line : heads) {
    absl::StatusOr<v1::AuditTreeHead> head = audit::ParseCanonicalTreeHead(line);
    ASSERT_TRUE(head.ok());
    head->set_root_sha256(audit::HashToHex(audit::MerkleRoot(
        absl::MakeConstSpan(leaves).subspan(0, head->tree_size()))));
    ASSERT_TRUE((*key)->SignTreeHead(&*head).ok());
    line = *audit::TreeHeadToJson(*head);
  }
  std::ofstream(AuditDir() + "/records.jsonl", std::ios::trunc) << absl::StrJoin(records, "\n")
                                                                 << "\n";
  std::ofstream(AuditDir() + "/tree-heads.jsonl", std::ios::trunc) << absl::StrJoin(heads, "\n")
                                                                    << "\n";
  // On its own the rewritten log verifies: only the receipts can tell.
  absl::StatusOr<audit::VerifyResult> verdict = audit::VerifyLogDirectory(AuditDir(), PublicKey());
  ASSERT_TRUE(verdict.ok());
  EXPECT_TRUE(verdict->ok) << verdict->message;

  StartCoordinator(coordinator_tls_, port);
  ASSERT_TRUE(daemons_.WaitConnected());
  const coordinator::RunProgress p = RunToEnd(second);
  EXPECT_EQ(p.state, "completed") << p.failure;
  // After round 1 of the second run, each node checks its new receipt
  // against the one it kept: the rewritten history cannot be proved to
  // extend it.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (auto& d : daemons_.daemons()) {
          if (d->halted().empty()) return false;
        }
        return true;
      },
      absl::Seconds(20)));
  for (auto& d : daemons_.daemons()) {
    EXPECT_THAT(d->halted(), HasSubstr("history was rewritten"));
  }
  StopDaemons();
  // Each hospital's own log says so too.
  for (const std::string& site : demo_.sites) {
    const std::vector<std::string> lines =
        ReadLines(tmp_.Sub(site + "-state") + "/audit/records.jsonl");
    ASSERT_FALSE(lines.empty());
    absl::StatusOr<v1::AuditRecord> last = audit::ParseCanonicalRecord(lines.back());
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->event(), v1::CONSISTENCY_CHECKED);
    EXPECT_EQ(last->outcome(), v1::FAILURE);
    EXPECT_THAT(last->reason(), HasSubstr("rewritten"));
  }
}

}  // namespace
}  // namespace tverr::testing
