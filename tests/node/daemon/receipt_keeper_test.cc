#include "node/daemon/receipt_keeper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_key.h"
#include "common/audit/merkle.h"
#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

using ::testing::HasSubstr;

// A coordinator's audit log reduced to what receipts need: leaves, heads,
// proofs, with the option to rewrite history.
class FakeLog {
 public:
  explicit FakeLog(const std::string& dir)
      : key_(std::move(audit::AuditKey::Generate(dir + "/k.pem", dir + "/k.pub.pem")).value()) {}
  void Append(const std::string& record) { tree_.Append(audit::LeafHash(record)); }
  // Replaces leaf `i` and rebuilds the tree (a rewritten record).
  void Rewrite(uint64_t i, const std::string& record) {
    std::vector<audit::Hash> leaves;
    for (uint64_t k = 0; k < tree_.size(); ++k) leaves.push_back(tree_.leaf(k));
    leaves[i] = audit::LeafHash(record);
    tree_ = audit::MerkleTree(leaves);
  }
  v1::AuditTreeHead Head(uint64_t round) {
    v1::AuditTreeHead head;
    head.set_tree_size(tree_.size());
    head.set_root_sha256(audit::HashToHex(tree_.Root()));
    head.set_time("2026-11-26T12:00:00.000Z");
    head.set_run_id(std::string(64, 'a'));
    head.set_round(round);
    EXPECT_TRUE(key_->SignTreeHead(&head).ok());
    return head;
  }
  ReceiptKeeper::ProofFetcher Fetcher() {
    return [this](uint64_t first, uint64_t second) {
      v1::AuditConsistencyResponse response;
      auto proof = tree_.ConsistencyProof(first, second);
      if (!proof.ok()) return absl::StatusOr<v1::AuditConsistencyResponse>(proof.status());
      for (const audit::Hash& h : *proof) {
        response.add_path(std::string(crypto::AsStringView(h)));
      }
      response.set_audit_public_key_pem(key_->public_key_pem());
      return absl::StatusOr<v1::AuditConsistencyResponse>(response);
    };
  }
  std::unique_ptr<audit::AuditKey> key_;
  audit::MerkleTree tree_;
};

class ReceiptKeeperTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_;
};

TEST_F(ReceiptKeeperTest, HeadsThatExtendTheLastAreKeptAcrossRestarts) {
  FakeLog log(tmp_.path());
  auto keeper = ReceiptKeeper::Open(tmp_.Sub("receipts"));
  ASSERT_TRUE(keeper.ok());
  for (int i = 0; i < 5; ++i) log.Append(absl::StrCat("record ", i));
  ASSERT_TRUE((*keeper)->Receive(log.Head(1), log.Fetcher()).ok());
  for (int i = 5; i < 12; ++i) log.Append(absl::StrCat("record ", i));
  ASSERT_TRUE((*keeper)->Receive(log.Head(2), log.Fetcher()).ok());
  EXPECT_TRUE((*keeper)->halted().empty());
  // A restarted node carries on from the last kept head.
  keeper = ReceiptKeeper::Open(tmp_.Sub("receipts"));
  ASSERT_TRUE(keeper.ok());
  ASSERT_TRUE((*keeper)->last().has_value());
  EXPECT_EQ((*keeper)->last()->tree_size(), 12u);
  log.Append("record 12");
  EXPECT_TRUE((*keeper)->Receive(log.Head(3), log.Fetcher()).ok());
}

TEST_F(ReceiptKeeperTest, RewrittenHistoryHaltsTheNodeAndSaysWhy) {
  FakeLog log(tmp_.path());
  auto keeper = ReceiptKeeper::Open(tmp_.Sub("receipts"));
  ASSERT_TRUE(keeper.ok());
  for (int i = 0; i < 6; ++i) log.Append(absl::StrCat("record ", i));
  ASSERT_TRUE((*keeper)->Receive(log.Head(1), log.Fetcher()).ok());
  // Between two rounds the coordinator rewrites record 2, then goes on.
  log.Rewrite(2, "record 2, as the coordinator would now like it");
  log.Append("record 6");
  absl::Status s = (*keeper)->Receive(log.Head(2), log.Fetcher());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT((*keeper)->halted(), HasSubstr("history was rewritten"));
  // It stays halted, also after a restart.
  keeper = ReceiptKeeper::Open(tmp_.Sub("receipts"));
  ASSERT_TRUE(keeper.ok());
  EXPECT_THAT((*keeper)->halted(), HasSubstr("history was rewritten"));
  EXPECT_EQ((*keeper)->Receive(log.Head(3), log.Fetcher()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReceiptKeeperTest, AnotherAuditKeyOrABadSignatureHaltsTheNode) {
  FakeLog log(tmp_.path());
  auto keeper = ReceiptKeeper::Open(tmp_.Sub("receipts"));
  ASSERT_TRUE(keeper.ok());
  log.Append("record 0");
  ASSERT_TRUE((*keeper)->Receive(log.Head(1), log.Fetcher()).ok());  // pins the key
  log.Append("record 1");
  v1::AuditTreeHead forged = log.Head(2);
  forged.set_root_sha256(std::string(64, '0'));  // signature no longer matches
  EXPECT_EQ((*keeper)->Receive(forged, log.Fetcher()).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT((*keeper)->halted(), HasSubstr("not signed by the pinned audit key"));

  testing::TempDir other_dir;
  FakeLog other(other_dir.path());  // a coordinator with another key
  auto fresh = ReceiptKeeper::Open(tmp_.Sub("receipts-2"));
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->Receive(log.Head(1), log.Fetcher()).ok());
  other.Append("record 0");
  other.Append("record 1");
  EXPECT_FALSE((*fresh)->Receive(other.Head(2), other.Fetcher()).ok());
  EXPECT_THAT((*fresh)->halted(), HasSubstr("another audit key"));
}

TEST_F(ReceiptKeeperTest, AProofThatCannotBeFetchedDoesNotHalt) {
  FakeLog log(tmp_.path());
  auto keeper = ReceiptKeeper::Open(tmp_.Sub("receipts"));
  ASSERT_TRUE(keeper.ok());
  log.Append("record 0");
  absl::Status s = (*keeper)->Receive(log.Head(1), [](uint64_t, uint64_t) {
    return absl::StatusOr<v1::AuditConsistencyResponse>(absl::UnavailableError("down"));
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE((*keeper)->halted().empty());
}

}  // namespace
}  // namespace tverr::node
