#include "common/audit/audit_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/audit/record_json.h"
#include "common/audit/verifier.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace tverr::audit {
namespace {

using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::WriteFileOrDie;

v1::AuditRecord Event(v1::AuditEvent event, uint64_t round = 0) {
  v1::AuditRecord r;
  r.set_event(event);
  r.set_run_id("run-1");
  r.set_round(round);
  r.mutable_actor()->set_identity("coordinator");
  r.set_outcome(v1::SUCCESS);
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = AuditKey::Generate(tmp_.Sub("audit.key"), tmp_.Sub("audit.pub"));
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
  }

  AuditLogOptions Options() {
    AuditLogOptions options;
    options.key = key_.get();
    options.clock = [this] {
      absl::MutexLock lock(&clock_mu_);
      now_ += absl::Milliseconds(1);
      return now_;
    };
    return options;
  }

  std::unique_ptr<AuditLog> OpenOrDie() {
    auto log = AuditLog::Open(dir_, Options());
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  // `n` durable records, and a tree head after the first `head_after` (if
  // nonzero) records.
  void Fill(AuditLog& log, int n, int head_after = 0) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(log.AppendDurable(Event(v1::UPDATE_ACCEPTED, 1 + i / 10)).ok());
      if (i + 1 == head_after) {
        ASSERT_TRUE(log.SignTreeHead("run-1", 1).ok());
      }
    }
  }

  VerifyResult Verify() {
    auto result = VerifyLogDirectory(dir_, key_->public_key_pem());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : VerifyResult{};
  }

  std::string records_path() const { return dir_ + "/" + kRecordsFile; }
  std::string heads_path() const { return dir_ + "/" + kTreeHeadsFile; }

  TempDir tmp_;
  const std::string dir_ = tmp_.Sub("audit");
  std::unique_ptr<AuditKey> key_;
  absl::Mutex clock_mu_;
  absl::Time now_ = absl::FromUnixMillis(1795705445123);  // 2026-11-26T15:04:05.123Z
};

TEST_F(AuditLogTest, AppendFillsTheLogsFieldsAndWritesCanonicalLines) {
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->open_report().created);
  v1::AuditRecord with_time = Event(v1::RUN_CREATED);
  with_time.set_time("2026-01-01T00:00:00.000Z");
  with_time.set_sequence(99);  // the log decides
  ASSERT_EQ(*log->AppendDurable(with_time), 0u);
  ASSERT_EQ(*log->AppendDurable(Event(v1::ROUND_OPENED, 1)), 1u);

  const std::vector<std::string> lines = Lines(ReadFileOrEmpty(records_path()));
  ASSERT_EQ(lines.size(), 2u);
  auto r0 = ParseCanonicalRecord(lines[0]);
  auto r1 = ParseCanonicalRecord(lines[1]);
  ASSERT_TRUE(r0.ok() && r1.ok());
  EXPECT_EQ(r0->schema_version(), 1u);
  EXPECT_EQ(r0->sequence(), 0u);
  EXPECT_EQ(r0->previous_leaf_sha256(), "");
  EXPECT_EQ(r0->time(), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(r1->sequence(), 1u);
  EXPECT_EQ(r1->previous_leaf_sha256(), HashToHex(LeafHash(lines[0])));
  EXPECT_EQ(r1->time(), "2026-11-26T15:04:05.124Z");
  EXPECT_EQ(*log->Read(0, 10), lines);
  EXPECT_EQ(*log->RootAt(2), NodeHash(LeafHash(lines[0]), LeafHash(lines[1])));
}

TEST_F(AuditLogTest, ReopenContinuesTheChain) {
  {
    auto log = OpenOrDie();
    Fill(*log, 12, /*head_after=*/12);
  }
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(log->open_report().created);
  EXPECT_EQ(log->open_report().records, 12u);
  EXPECT_EQ(log->open_report().tree_heads, 1u);
  EXPECT_TRUE(log->open_report().torn_tails.empty());
  EXPECT_EQ(log->size(), 12u);
  ASSERT_TRUE(log->LatestTreeHead().has_value());
  EXPECT_EQ(log->LatestTreeHead()->tree_size(), 12u);
  ASSERT_TRUE(log->AppendDurable(Event(v1::RUN_COMPLETED)).ok());
  ASSERT_TRUE(log->SignTreeHead("run-1", 2).ok());
  log.reset();
  const VerifyResult result = Verify();
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.records, 13u);
  EXPECT_EQ(result.tree_heads, 2u);
}

TEST_F(AuditLogTest, OnlyDurableRecordsAreServed) {
  auto log = OpenOrDie();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(Event(v1::DATA_READ)).ok());
  EXPECT_EQ(log->size(), 5u);
  EXPECT_EQ(log->durable_size(), 0u);
  EXPECT_TRUE(log->Read(0, 10)->empty());
  EXPECT_EQ(log->RootAt(1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log->Read(1, 10).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->durable_size(), 5u);
  EXPECT_EQ(log->Read(0, 10)->size(), 5u);
  EXPECT_EQ(log->Read(3, 1)->size(), 1u);
  EXPECT_TRUE(log->Read(5, 10)->empty());
}

TEST_F(AuditLogTest, ConcurrentDurableAppendsShareFsyncsAndKeepTheChain) {
  auto log = OpenOrDie();
  constexpr int kThreads = 8, kPerThread = 40;
  std::vector<std::thread> threads;
  absl::Mutex mu;
  std::set<uint64_t> sequences;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<uint64_t> seq = log->AppendDurable(Event(v1::UPDATE_ACCEPTED));
        ASSERT_TRUE(seq.ok()) << seq.status();
        // Durable on return: the record is within durable_size().
        EXPECT_LT(*seq, log->durable_size());
        absl::MutexLock lock(&mu);
        sequences.insert(*seq);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->SignTreeHead("run-1", i).ok());
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(sequences.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*sequences.rbegin(), uint64_t{kThreads * kPerThread - 1});
  ASSERT_TRUE(log->SignTreeHead("run-1", 10).ok());
  log.reset();
  const VerifyResult result = Verify();
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.tree_heads, 11u);
  EXPECT_EQ(result.uncovered_records, 0u);
}

TEST_F(AuditLogTest, ProofsVerifyAgainstSignedHeads) {
  auto log = OpenOrDie();
  Fill(*log, 9);
  const v1::AuditTreeHead first = *log->SignTreeHead("run-1", 1);
  Fill(*log, 14);
  const v1::AuditTreeHead second = *log->SignTreeHead("run-1", 2);
  const std::vector<std::string> lines = *log->Read(0, 100);
  ASSERT_EQ(lines.size(), 23u);
  const Hash root1 = *HashFromHex(first.root_sha256());
  const Hash root2 = *HashFromHex(second.root_sha256());
  for (uint64_t i = 0; i < 23; ++i) {
    auto proof = log->InclusionProof(i, 23);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(LeafHash(lines[i]), i, 23, *proof, root2).ok()) << i;
  }
  auto consistency = log->ConsistencyProof(9, 23);
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(VerifyConsistency(9, 23, root1, root2, *consistency).ok());
  EXPECT_EQ(log->InclusionProof(0, 24).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log->ConsistencyProof(9, 24).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(AuditLogTest, TornLastLineIsReportedAndMovedAside) {
  {
    auto log = OpenOrDie();
    Fill(*log, 20, /*head_after=*/15);
  }
  // A crash in the middle of writing the last line.
  const std::string before = ReadFileOrEmpty(records_path());
  ASSERT_EQ(truncate(records_path().c_str(), static_cast<off_t>(before.size() - 10)), 0);
  const size_t last_line = before.rfind('\n', before.size() - 2) + 1;
  const std::string torn_bytes = before.substr(last_line, before.size() - 10 - last_line);

  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  const AuditLogOpenReport& report = log->open_report();
  ASSERT_EQ(report.torn_tails.size(), 1u);
  const auto& torn = report.torn_tails[0];
  EXPECT_EQ(torn.file, kRecordsFile);
  EXPECT_EQ(torn.moved_to, records_path() + ".torn-1");
  EXPECT_EQ(torn.first_line, 20u);
  EXPECT_EQ(torn.lines, 1u);
  EXPECT_EQ(ReadFileOrEmpty(torn.moved_to), torn_bytes);
  EXPECT_NE(report.ToString().find("torn"), std::string::npos);
  EXPECT_EQ(report.records, 19u);
  EXPECT_EQ(log->size(), 19u);
  EXPECT_EQ(Lines(ReadFileOrEmpty(records_path())).size(), 19u);

  // The log goes on from record 19 and still verifies.
  EXPECT_EQ(*log->AppendDurable(Event(v1::NODE_DROPPED)), 19u);
  log.reset();
  const VerifyResult result = Verify();
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.covered_records, 15u);
  EXPECT_EQ(result.uncovered_records, 5u);
}

TEST_F(AuditLogTest, GarbageTailAfterACrashIsMovedAsideTwice) {
  {
    auto log = OpenOrDie();
    Fill(*log, 5, /*head_after=*/5);
  }
  // Blocks the file system lost: NULs, then the start of a record.
  const std::string garbage = std::string(100, '\0') + "\n{\"schema_version\":1,\"seq";
  WriteFileOrDie(records_path(), ReadFileOrEmpty(records_path()) + garbage);
  {
    auto log = OpenOrDie();
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(log->open_report().torn_tails.size(), 1u);
    EXPECT_EQ(log->open_report().torn_tails[0].lines, 2u);
    EXPECT_EQ(log->open_report().torn_tails[0].first_line, 6u);
    EXPECT_EQ(ReadFileOrEmpty(records_path() + ".torn-1"), garbage);
    EXPECT_EQ(log->size(), 5u);
  }
  // Another crash at the same place: the first evidence is kept.
  WriteFileOrDie(records_path(), ReadFileOrEmpty(records_path()) + "{");
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->open_report().torn_tails.size(), 1u);
  EXPECT_EQ(log->open_report().torn_tails[0].moved_to, records_path() + ".torn-2");
  EXPECT_EQ(ReadFileOrEmpty(records_path() + ".torn-1"), garbage);
}

TEST_F(AuditLogTest, TornRecordCoveredByATreeHeadIsDataLoss) {
  {
    auto log = OpenOrDie();
    Fill(*log, 20, /*head_after=*/20);
  }
  const std::string before = ReadFileOrEmpty(records_path());
  ASSERT_EQ(truncate(records_path().c_str(), static_cast<off_t>(before.size() - 10)), 0);
  auto log = AuditLog::Open(dir_, Options());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find("tree head 0"), absl::string_view::npos) << log.status();
  EXPECT_NE(log.status().message().find("record 19 is missing"), absl::string_view::npos)
      << log.status();
  EXPECT_FALSE(Exists(records_path() + ".torn-1"));  // nothing repaired
}

TEST_F(AuditLogTest, CorruptMiddleRecordIsDataLossNamingIt) {
  {
    auto log = OpenOrDie();
    Fill(*log, 10);
  }
  const std::string original = ReadFileOrEmpty(records_path());
  std::vector<std::string> lines = Lines(original);

  // Not a record at all, with intact records after it.
  std::vector<std::string> garbled = lines;
  garbled[5] = "xxxxxxxx";
  WriteFileOrDie(records_path(), absl::StrJoin(garbled, "\n") + "\n");
  auto log = AuditLog::Open(dir_, Options());
  ASSERT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find("record 5 (line 6)"), absl::string_view::npos)
      << log.status();

  // A valid record whose previous_leaf_sha256 was changed.
  std::vector<std::string> relinked = lines;
  const size_t at = relinked[5].find("previous_leaf_sha256\":\"") + 23;
  relinked[5][at] = relinked[5][at] == '0' ? '1' : '0';
  WriteFileOrDie(records_path(), absl::StrJoin(relinked, "\n") + "\n");
  log = AuditLog::Open(dir_, Options());
  ASSERT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find("record 5 (line 6)"), absl::string_view::npos)
      << log.status();

  // A record out of sequence.
  std::vector<std::string> swapped = lines;
  std::swap(swapped[3], swapped[4]);
  WriteFileOrDie(records_path(), absl::StrJoin(swapped, "\n") + "\n");
  log = AuditLog::Open(dir_, Options());
  ASSERT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find("record 3 (line 4)"), absl::string_view::npos)
      << log.status();
  EXPECT_FALSE(Exists(records_path() + ".torn-1"));
}

TEST_F(AuditLogTest, TornTreeHeadIsMovedAside) {
  {
    auto log = OpenOrDie();
    Fill(*log, 3, /*head_after=*/2);
    ASSERT_TRUE(log->SignTreeHead("run-1", 2).ok());
  }
  const std::string heads = ReadFileOrEmpty(heads_path());
  ASSERT_EQ(truncate(heads_path().c_str(), static_cast<off_t>(heads.size() - 5)), 0);
  auto log = OpenOrDie();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->open_report().torn_tails.size(), 1u);
  EXPECT_EQ(log->open_report().torn_tails[0].file, kTreeHeadsFile);
  EXPECT_EQ(log->open_report().torn_tails[0].first_line, 2u);
  EXPECT_EQ(log->LatestTreeHead()->tree_size(), 2u);
  ASSERT_TRUE(log->SignTreeHead("run-1", 2).ok());
  log.reset();
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, OneProcessAtATime) {
  auto log = OpenOrDie();
  auto second = AuditLog::Open(dir_, Options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(AuditLogTest, RefusesAnotherKeyAndSigningWithoutOne) {
  {
    auto log = OpenOrDie();
    Fill(*log, 2, /*head_after=*/2);
  }
  auto other = AuditKey::Generate(tmp_.Sub("other.key"), tmp_.Sub("other.pub"));
  ASSERT_TRUE(other.ok());
  AuditLogOptions options = Options();
  options.key = other->get();
  EXPECT_EQ(AuditLog::Open(dir_, options).status().code(), absl::StatusCode::kFailedPrecondition);
  options.key = nullptr;
  auto log = AuditLog::Open(dir_, options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->SignTreeHead("run-1", 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(AuditLogTest, MissingParentDirectory) {
  EXPECT_EQ(AuditLog::Open(tmp_.Sub("no/such"), Options()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(AuditTimeTest, RfcThreeThreeNineWithMilliseconds) {
  EXPECT_EQ(FormatAuditTime(absl::FromUnixMillis(1795705445123)), "2026-11-26T15:04:05.123Z");
  EXPECT_EQ(FormatAuditTime(absl::FromUnixMillis(1795705445000)), "2026-11-26T15:04:05.000Z");
}

}  // namespace
}  // namespace tverr::audit
