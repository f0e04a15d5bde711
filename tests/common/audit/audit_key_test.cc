#include "common/audit/audit_key.h"

#include <sys/stat.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "common/audit/merkle.h"
#include "common/crypto/sha256.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace tverr::audit {
namespace {

using testing::ReadFileOrEmpty;
using testing::TempDir;

v1::AuditTreeHead SampleHead() {
  v1::AuditTreeHead head;
  head.set_tree_size(1000);
  head.set_root_sha256(HashToHex(LeafHash("root")));
  head.set_time("2026-11-26T15:04:05.123Z");
  head.set_run_id("c0ffee");
  head.set_round(7);
  return head;
}

class AuditKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = AuditKey::Generate(tmp_.Sub("audit.key"), tmp_.Sub("audit.pub"));
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
  }
  TempDir tmp_;
  std::unique_ptr<AuditKey> key_;
};

TEST_F(AuditKeyTest, GenerateWritesPemFilesWithTightModes) {
  const std::string priv = ReadFileOrEmpty(tmp_.Sub("audit.key"));
  const std::string pub = ReadFileOrEmpty(tmp_.Sub("audit.pub"));
  EXPECT_EQ(priv.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_EQ(pub.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(pub, key_->public_key_pem());
  struct stat st;
  ASSERT_EQ(stat(tmp_.Sub("audit.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(tmp_.Sub("audit.pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(key_->key_id().size(), 64u);
}

TEST_F(AuditKeyTest, GenerateNeverOverwrites) {
  EXPECT_EQ(AuditKey::Generate(tmp_.Sub("audit.key"), tmp_.Sub("other.pub")).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(AuditKey::Generate(tmp_.Sub("other.key"), tmp_.Sub("audit.pub")).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(AuditKeyTest, LoadGivesTheSameKey) {
  auto loaded = AuditKey::Load(tmp_.Sub("audit.key"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->key_id(), key_->key_id());
  EXPECT_EQ((*loaded)->public_key_pem(), key_->public_key_pem());
  EXPECT_EQ(AuditKey::Load(tmp_.Sub("missing.key")).status().code(), absl::StatusCode::kNotFound);
  testing::WriteFileOrDie(tmp_.Sub("junk.key"), "not a key");
  EXPECT_EQ(AuditKey::Load(tmp_.Sub("junk.key")).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A public key is not a private key.
  EXPECT_EQ(AuditKey::Load(tmp_.Sub("audit.pub")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AuditKeyTest, KeyIdIsSha256OfTheRawPublicKey) {
  // The SubjectPublicKeyInfo DER of an Ed25519 key is a 12-byte prefix and
  // the 32 raw bytes; take them from the PEM's base64 body.
  std::string body;
  for (absl::string_view l : absl::StrSplit(key_->public_key_pem(), '\n')) {
    if (!l.empty() && l[0] != '-') body += std::string(l);
  }
  std::string der;
  ASSERT_TRUE(absl::Base64Unescape(body, &der));
  ASSERT_EQ(der.size(), 44u);
  EXPECT_EQ(key_->key_id(), crypto::ToHex(crypto::Sha256(der.substr(12))));
  auto pub = AuditPublicKey::FromPem(key_->public_key_pem());
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->key_id(), key_->key_id());
}

TEST_F(AuditKeyTest, SigningBytesAreTheDocumentedLayout) {
  absl::StatusOr<std::string> bytes = TreeHeadSigningBytes(SampleHead());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  std::string expected("tverr-audit-tree-head-v1\0", 25);
  expected += std::string("\0\0\0\0\0\0\x03\xe8", 8);  // 1000
  const Hash root = LeafHash("root");
  expected.append(reinterpret_cast<const char*>(root.data()), 32);
  expected += std::string("\0\0\0\x18", 4) + "2026-11-26T15:04:05.123Z";
  expected += std::string("\0\0\0\x06", 4) + "c0ffee";
  expected += std::string("\0\0\0\0\0\0\0\x07", 8);
  EXPECT_EQ(*bytes, expected);

  v1::AuditTreeHead bad = SampleHead();
  bad.set_root_sha256("ABC");
  EXPECT_EQ(TreeHeadSigningBytes(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AuditKeyTest, SignedHeadVerifies) {
  v1::AuditTreeHead head = SampleHead();
  ASSERT_TRUE(key_->SignTreeHead(&head).ok());
  EXPECT_EQ(head.key_id(), key_->key_id());
  EXPECT_EQ(head.signature().size(), 128u);
  EXPECT_TRUE(VerifyTreeHead(head, key_->public_key_pem()).ok());
}

TEST_F(AuditKeyTest, EverySignedFieldMatters) {
  v1::AuditTreeHead head = SampleHead();
  ASSERT_TRUE(key_->SignTreeHead(&head).ok());
  auto pub = *AuditPublicKey::FromPem(key_->public_key_pem());
  std::vector<v1::AuditTreeHead> altered(6, head);
  altered[0].set_tree_size(999);
  altered[1].set_root_sha256(HashToHex(LeafHash("other")));
  altered[2].set_time("2026-11-26T15:04:05.124Z");
  altered[3].set_run_id("c0ffef");
  altered[4].set_round(8);
  altered[5].set_signature(std::string(128, '0'));
  for (const v1::AuditTreeHead& h : altered) {
    EXPECT_EQ(pub.VerifyTreeHead(h).code(), absl::StatusCode::kUnauthenticated) << h.DebugString();
  }
  // Length-prefixing: moving a byte from time to run_id changes the bytes.
  v1::AuditTreeHead a = SampleHead(), b = SampleHead();
  a.set_time("x");
  a.set_run_id("yz");
  b.set_time("xy");
  b.set_run_id("z");
  EXPECT_NE(*TreeHeadSigningBytes(a), *TreeHeadSigningBytes(b));
}

TEST_F(AuditKeyTest, WrongKeyFails) {
  auto other = AuditKey::Generate(tmp_.Sub("other.key"), tmp_.Sub("other.pub"));
  ASSERT_TRUE(other.ok());
  v1::AuditTreeHead head = SampleHead();
  ASSERT_TRUE((*other)->SignTreeHead(&head).ok());
  absl::Status status = VerifyTreeHead(head, key_->public_key_pem());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(status.message().find("another key"), absl::string_view::npos) << status;
  // Claiming the right key id does not help.
  head.set_key_id(key_->key_id());
  status = VerifyTreeHead(head, key_->public_key_pem());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(status.message().find("does not verify"), absl::string_view::npos) << status;
}

TEST_F(AuditKeyTest, MalformedInputs) {
  EXPECT_EQ(AuditPublicKey::FromPem("junk").status().code(), absl::StatusCode::kInvalidArgument);
  v1::AuditTreeHead head = SampleHead();
  ASSERT_TRUE(key_->SignTreeHead(&head).ok());
  head.set_signature("zz");
  EXPECT_EQ(VerifyTreeHead(head, key_->public_key_pem()).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tverr::audit
