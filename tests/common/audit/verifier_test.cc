#include "common/audit/verifier.h"

#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit_log.h"
#include "common/audit/record_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace tverr::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WriteFileOrDie;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string Unlines(const std::vector<std::string>& lines) {
  return absl::StrJoin(lines, "\n") + "\n";
}

// Changes one character of `line` at the first occurrence of `marker` plus
// `offset`, to another character of the same class (the JSON stays valid).
std::string FlipAfter(std::string line, absl::string_view marker, size_t offset = 0) {
  const size_t at = line.find(std::string(marker));
  EXPECT_NE(at, std::string::npos) << marker << " not in " << line;
  char& c = line[at + marker.size() + offset];
  c = c == '9' ? '8' : c == 'f' ? 'e' : static_cast<char>(c + 1);
  return line;
}

// A log of 30 records with tree heads after records 10, 20 and 30 (heads 0,
// 1 and 2), then tampered with by each test.
class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = AuditKey::Generate(tmp_.Sub("audit.key"), tmp_.Sub("audit.pub"));
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
    Build({10, 20, 30});
  }

  void Build(const std::vector<uint64_t>& heads_after, uint64_t extra = 0) {
    AuditLogOptions options;
    options.key = key_.get();
    auto log = AuditLog::Open(dir_, options);
    ASSERT_TRUE(log.ok()) << log.status();
    uint64_t last = heads_after.empty() ? 0 : heads_after.back();
    size_t next_head = 0;
    for (uint64_t i = 0; i < last + extra; ++i) {
      v1::AuditRecord r;
      r.set_event(v1::UPDATE_ACCEPTED);
      r.mutable_actor()->set_identity("fl://nordic/node/site-" + std::to_string(i % 3));
      r.set_run_id("run-1");
      r.set_round(1 + i / 10);
      r.mutable_hashes()->set_update(HashToHex(LeafHash(std::to_string(i))));
      r.set_bytes(1000 + i);
      ASSERT_TRUE((*log)->AppendDurable(r).ok());
      if (next_head < heads_after.size() && i + 1 == heads_after[next_head]) {
        ASSERT_TRUE((*log)->SignTreeHead("run-1", ++next_head).ok());
      }
    }
    records_ = Lines(ReadFileOrEmpty(records_path()));
    heads_ = Lines(ReadFileOrEmpty(heads_path()));
  }

  VerifyResult Verify(const std::string& public_key_pem = "") {
    auto result =
        VerifyLogDirectory(dir_, public_key_pem.empty() ? key_->public_key_pem() : public_key_pem);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : VerifyResult{};
  }
  void WriteRecords(const std::vector<std::string>& lines) {
    WriteFileOrDie(records_path(), Unlines(lines));
  }
  void WriteHeads(const std::vector<std::string>& lines) {
    WriteFileOrDie(heads_path(), Unlines(lines));
  }

  std::string records_path() const { return dir_ + "/" + kRecordsFile; }
  std::string heads_path() const { return dir_ + "/" + kTreeHeadsFile; }

  TempDir tmp_;
  std::string dir_ = tmp_.Sub("audit");
  std::unique_ptr<AuditKey> key_;
  std::vector<std::string> records_;
  std::vector<std::string> heads_;
};

TEST_F(VerifierTest, UntouchedLogVerifies) {
  const VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.records, 30u);
  EXPECT_EQ(r.tree_heads, 3u);
  EXPECT_EQ(r.covered_records, 30u);
  EXPECT_EQ(r.uncovered_records, 0u);
  EXPECT_FALSE(r.first_bad_record.has_value());
  EXPECT_THAT(r.message, HasSubstr("verified: 30 records, 3 tree heads"));
}

TEST_F(VerifierTest, RecordsAfterTheLastHeadAreReportedAsUncovered) {
  auto log = AuditLog::Open(dir_, {});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*log)->AppendDurable(v1::AuditRecord()).ok());
  log->reset();
  const VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.covered_records, 30u);
  EXPECT_EQ(r.uncovered_records, 4u);
  EXPECT_THAT(r.message, HasSubstr("4 record(s) after it not yet covered"));
}

TEST_F(VerifierTest, EmptyLogVerifies) {
  const std::string empty = tmp_.Sub("empty");
  ASSERT_TRUE(AuditLog::Open(empty, {}).ok());
  auto r = VerifyLogDirectory(empty, key_->public_key_pem());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->message;
}

TEST_F(VerifierTest, OperationalErrorsAreStatuses) {
  EXPECT_EQ(VerifyLogDirectory(dir_, "junk").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyLogDirectory(tmp_.Sub("none"), key_->public_key_pem()).status().code(),
            absl::StatusCode::kNotFound);
}

// ---- One byte flipped in a record, the JSON still valid ----

TEST_F(VerifierTest, HexDigitFlippedInAMiddleRecord) {
  records_[12] = FlipAfter(records_[12], "\"update\":\"", 5);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_EQ(r.suspect_begin, 12u);
  EXPECT_EQ(r.suspect_end, 13u);
  EXPECT_THAT(r.message, HasSubstr("record 12 (line 13) was altered"));
}

TEST_F(VerifierTest, DigitOfANumberFlippedInAMiddleRecord) {
  records_[7] = FlipAfter(records_[7], "\"bytes\":\"", 3);  // "1007" -> "1008"
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(7u));
  EXPECT_THAT(r.message, HasSubstr("record 7 (line 8) was altered"));
}

TEST_F(VerifierTest, SequenceDigitFlipped) {
  records_[12] = FlipAfter(records_[12], "\"sequence\":\"", 1);  // "12" -> "13"
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_THAT(r.message, HasSubstr("record 12 (line 13) holds sequence 13, expected 12: it was "
                                   "altered"));
}

TEST_F(VerifierTest, PreviousLeafHashFlippedInAMiddleRecord) {
  records_[15] = FlipAfter(records_[15], "\"previous_leaf_sha256\":\"", 10);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(15u));
  EXPECT_THAT(r.message, HasSubstr("record 15 (line 16) was altered"));
}

TEST_F(VerifierTest, FirstRecordAltered) {
  records_[0] = FlipAfter(records_[0], "\"bytes\":\"", 3);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(0u));
  EXPECT_THAT(r.message, HasSubstr("record 0 (line 1) was altered"));
}

// Nothing links to the last record: the tree head covering it catches the
// change, and since the chain is intact the last record it covers is the
// one certainly altered.
TEST_F(VerifierTest, ByteFlippedInTheLastRecordIsCaughtByItsTreeHead) {
  records_[29] = FlipAfter(records_[29], "\"update\":\"", 0);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.bad_tree_head, Optional(2u));
  EXPECT_EQ(r.suspect_begin, 20u);
  EXPECT_EQ(r.suspect_end, 30u);
  EXPECT_FALSE(r.first_bad_record.has_value());
  EXPECT_THAT(r.message, HasSubstr("records 20..29 covered by tree head 2"));
  EXPECT_THAT(r.message, HasSubstr("record 29 was certainly altered"));
}

TEST_F(VerifierTest, ByteFlippedInTheLastRecordOfAOneRecordHead) {
  dir_ = tmp_.Sub("audit-one-record-head");
  Build({10, 29, 30});
  records_[29] = FlipAfter(records_[29], "\"bytes\":\"", 3);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(29u));
  EXPECT_THAT(r.bad_tree_head, Optional(2u));
  EXPECT_THAT(r.message, HasSubstr("record 29 (line 30) was altered"));
}

TEST_F(VerifierTest, LastRecordsLinkFlipped) {
  records_[29] = FlipAfter(records_[29], "\"previous_leaf_sha256\":\"", 3);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.suspect_begin, 28u);
  EXPECT_EQ(r.suspect_end, 30u);
  EXPECT_THAT(r.message, HasSubstr("record 29 was altered"));
}

// The record before the last changed: the last one's link and its tree
// head show that the last one is as signed.
TEST_F(VerifierTest, SecondToLastRecordAltered) {
  records_[28] = FlipAfter(records_[28], "\"update\":\"", 7);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(28u));
  EXPECT_THAT(r.message, HasSubstr("record 28 (line 29) was altered"));
  EXPECT_THAT(r.message, HasSubstr("tree head 2"));
}

TEST_F(VerifierTest, NonCanonicalRecord) {
  records_[4].insert(1, " ");
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(4u));
  EXPECT_THAT(r.message, HasSubstr("record 4 (line 5) was altered"));
  EXPECT_THAT(r.message, HasSubstr("canonical"));
}

TEST_F(VerifierTest, UnparsableRecord) {
  records_[4][0] = '[';
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(4u));
  EXPECT_THAT(r.message, HasSubstr("record 4 (line 5) is not a valid record"));
}

// ---- Records deleted, reordered, inserted; the file truncated ----

TEST_F(VerifierTest, DeletedRecord) {
  records_.erase(records_.begin() + 12);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_THAT(r.message, HasSubstr("record 12 was deleted"));
}

TEST_F(VerifierTest, TwoDeletedRecords) {
  records_.erase(records_.begin() + 12, records_.begin() + 14);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_THAT(r.message, HasSubstr("records 12..13 were deleted"));
}

TEST_F(VerifierTest, ReorderedRecords) {
  std::swap(records_[12], records_[13]);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_THAT(r.message, HasSubstr("record 12 (line 13) holds sequence 13"));
}

TEST_F(VerifierTest, InsertedCopyOfAnEarlierRecord) {
  records_.insert(records_.begin() + 12, records_[5]);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_THAT(r.message, HasSubstr("record 12 (line 13) holds sequence 5"));
}

// A forged record with the right sequence and link, inserted before
// record 12: record 12 then repeats its sequence, and record 13 links to
// record 12, not to the forgery.
TEST_F(VerifierTest, InsertedForgedRecord) {
  auto forged = ParseCanonicalRecord(records_[12]);
  ASSERT_TRUE(forged.ok());
  forged->set_reason("forged");
  records_.insert(records_.begin() + 12, *RecordToJson(*forged));
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(12u));
  EXPECT_THAT(r.message, HasSubstr("record 12 (line 13) was inserted"));
}

TEST_F(VerifierTest, AlteredRecordWithTheChainRewrittenIsCaughtByTheTreeHead) {
  // Change record 14 and rewrite every link after it, as an attacker
  // without the audit key would have to.
  for (size_t i = 14; i < records_.size(); ++i) {
    auto r = ParseCanonicalRecord(records_[i]);
    ASSERT_TRUE(r.ok());
    if (i == 14) r->set_reason("nothing happened");
    r->set_previous_leaf_sha256(HashToHex(LeafHash(records_[i - 1])));
    records_[i] = *RecordToJson(*r);
  }
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.bad_tree_head, Optional(1u));
  EXPECT_EQ(r.suspect_begin, 10u);
  EXPECT_EQ(r.suspect_end, 20u);
  EXPECT_THAT(r.message, HasSubstr("records 10..19 covered by tree head 1"));
}

TEST_F(VerifierTest, TruncatedInTheMiddleOfALine) {
  const std::string text = ReadFileOrEmpty(records_path());
  WriteFileOrDie(records_path(), text.substr(0, text.size() - 20));
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(29u));
  EXPECT_THAT(r.message, HasSubstr("record 29 (line 30) is incomplete"));
}

TEST_F(VerifierTest, TruncatedAtALineBoundary) {
  records_.resize(25);
  WriteRecords(records_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.first_bad_record, Optional(25u));
  EXPECT_THAT(r.bad_tree_head, Optional(2u));
  EXPECT_EQ(r.suspect_end, 30u);
  EXPECT_THAT(r.message, HasSubstr("records 25..29 covered by tree head 2 (line 3"));
  EXPECT_THAT(r.message, HasSubstr("are missing"));
}

TEST_F(VerifierTest, TruncatedToNothing) {
  WriteFileOrDie(records_path(), "");
  const VerifyResult r = Verify();
  EXPECT_THAT(r.first_bad_record, Optional(0u));
  EXPECT_THAT(r.bad_tree_head, Optional(0u));
}

// ---- Tree heads replaced ----

TEST_F(VerifierTest, TreeHeadRootReplaced) {
  auto head = ParseCanonicalTreeHead(heads_[1]);
  ASSERT_TRUE(head.ok());
  head->set_root_sha256(HashToHex(LeafHash("another root")));
  heads_[1] = *TreeHeadToJson(*head);
  WriteHeads(heads_);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.bad_tree_head, Optional(1u));
  EXPECT_FALSE(r.first_bad_record.has_value());
  EXPECT_THAT(r.message, HasSubstr("tree head 1 (line 2, tree size 20, round 2)"));
  EXPECT_THAT(r.message, HasSubstr("signature does not verify"));
}

TEST_F(VerifierTest, TreeHeadByteFlipped) {
  heads_[0] = FlipAfter(heads_[0], "\"tree_size\":\"", 0);  // 10 -> 20
  WriteHeads(heads_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.bad_tree_head, Optional(0u));
  EXPECT_THAT(r.message, HasSubstr("tree head 0 (line 1"));
}

TEST_F(VerifierTest, TreeHeadResignedWithAnotherKey) {
  auto other = AuditKey::Generate(tmp_.Sub("other.key"), tmp_.Sub("other.pub"));
  ASSERT_TRUE(other.ok());
  auto head = ParseCanonicalTreeHead(heads_[2]);
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE((*other)->SignTreeHead(&*head).ok());
  heads_[2] = *TreeHeadToJson(*head);
  WriteHeads(heads_);
  VerifyResult r = Verify();
  EXPECT_THAT(r.bad_tree_head, Optional(2u));
  EXPECT_THAT(r.message, HasSubstr("signed by another key"));

  // Claiming our key id with the other key's signature.
  head->set_key_id(key_->key_id());
  heads_[2] = *TreeHeadToJson(*head);
  WriteHeads(heads_);
  r = Verify();
  EXPECT_THAT(r.bad_tree_head, Optional(2u));
  EXPECT_THAT(r.message, HasSubstr("signature does not verify"));
}

TEST_F(VerifierTest, WholeLogCheckedAgainstTheWrongPublicKey) {
  auto other = AuditKey::Generate(tmp_.Sub("other.key"), tmp_.Sub("other.pub"));
  ASSERT_TRUE(other.ok());
  const VerifyResult r = Verify((*other)->public_key_pem());
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.bad_tree_head, Optional(0u));
}

TEST_F(VerifierTest, TreeHeadsReordered) {
  std::swap(heads_[0], heads_[1]);
  WriteHeads(heads_);
  const VerifyResult r = Verify();
  EXPECT_THAT(r.bad_tree_head, Optional(1u));
  EXPECT_THAT(r.message, HasSubstr("tree size 10 is below the 20"));
}

TEST_F(VerifierTest, TornTreeHeadLine) {
  const std::string text = ReadFileOrEmpty(heads_path());
  WriteFileOrDie(heads_path(), text.substr(0, text.size() - 3));
  const VerifyResult r = Verify();
  EXPECT_THAT(r.bad_tree_head, Optional(2u));
  EXPECT_THAT(r.message, HasSubstr("incomplete"));
}

// ---- Reading the log while verifying ----

TEST_F(VerifierTest, CallbacksSeeEveryRecordAndHead) {
  std::vector<uint64_t> rounds;
  uint64_t heads = 0;
  VerifyOptions options;
  options.on_record = [&](uint64_t index, const v1::AuditRecord& r) {
    EXPECT_EQ(index, rounds.size());
    rounds.push_back(r.round());
  };
  options.on_tree_head = [&](uint64_t, const v1::AuditTreeHead&) { ++heads; };
  auto r = VerifyLogDirectory(dir_, key_->public_key_pem(), options);
  ASSERT_TRUE(r.ok() && r->ok);
  EXPECT_EQ(rounds.size(), 30u);
  EXPECT_EQ(rounds.back(), 3u);
  EXPECT_EQ(heads, 3u);
}

}  // namespace
}  // namespace tverr::audit
