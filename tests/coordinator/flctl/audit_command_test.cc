#include "coordinator/flctl/audit_command.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit_key.h"
#include "common/audit/audit_log.h"
#include "gtest/gtest.h"
#include "tests/coordinator/flctl/audit_test_log.h"
#include "tests/support/temp_dir.h"

namespace tverr::flctl {
namespace {

using testing::kTestRunId;
using testing::MakeTestAuditLog;
using testing::TestAuditLog;
using tverr::testing::ReadFileOrEmpty;
using tverr::testing::TempDir;
using tverr::testing::WriteFileOrDie;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Audit(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunAuditCommand(args, out, err);
  return {code, out.str(), err.str()};
}

// The record lines of `show --format text` (no heading, no summary).
std::vector<std::string> RecordLines(const std::string& out) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#") || absl::StrContains(line, "TIME (UTC)")) continue;
    lines.emplace_back(line);
  }
  return lines;
}

class AuditCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = MakeTestAuditLog();
    testing::WriteTestAuditLog(dir_.Sub("log"), log_);
  }
  std::string Log() const { return dir_.Sub("log"); }

  TempDir dir_;
  TestAuditLog log_;
};

TEST_F(AuditCommandTest, ShowListsEveryRecordInOrder) {
  Result r = Audit({"show", "--log", Log()});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = RecordLines(r.out);
  ASSERT_EQ(lines.size(), log_.records.size());
  EXPECT_NE(r.out.find("SEQ"), std::string::npos);
  EXPECT_NE(
      r.out.find(absl::StrCat("# ", log_.records.size(), " of ", log_.records.size(), " records")),
      std::string::npos);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(0, 6), absl::StrFormat("%6d", i));
  }
  EXPECT_NE(lines[0].find("COORDINATOR_STARTED"), std::string::npos);
  EXPECT_NE(lines[0].find("version=0.1.0"), std::string::npos);
  EXPECT_NE(r.out.find("reason=\"run hash not in the node's approved list\""), std::string::npos);
  EXPECT_NE(r.out.find("name=\"chest-xray <pilot>\""), std::string::npos);
  EXPECT_EQ(r.out.find(" \n"), std::string::npos);  // no trailing blanks
}

TEST_F(AuditCommandTest, ShowLineHasTheKeyFieldsWithShortHashes) {
  const v1::AuditRecord* committed = nullptr;
  for (const v1::AuditRecord& r : log_.records) {
    if (r.event() == v1::AGGREGATE_COMMITTED && r.round() == 2) committed = &r;
  }
  ASSERT_NE(committed, nullptr);
  const std::string line = FormatAuditShowLine(*committed);
  EXPECT_NE(line.find(committed->time()), std::string::npos);
  EXPECT_NE(line.find("AGGREGATE_COMMITTED"), std::string::npos);
  EXPECT_NE(line.find("coordinator"), std::string::npos);
  EXPECT_NE(line.find(std::string(kTestRunId).substr(0, 12) + " "), std::string::npos);
  EXPECT_EQ(line.find(kTestRunId), std::string::npos);  // shortened
  EXPECT_NE(line.find("success"), std::string::npos);
  EXPECT_NE(line.find("before=" + testing::TestModelHash(1).substr(0, 12) + " "),
            std::string::npos);
  EXPECT_NE(line.find("after=" + testing::TestModelHash(2).substr(0, 12) + " "), std::string::npos);
  EXPECT_EQ(line.find(testing::TestModelHash(2)), std::string::npos);
  EXPECT_NE(line.find("nodes=oslo,tromso"), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST_F(AuditCommandTest, ShowReasonStaysOnOneQuotedLine) {
  v1::AuditRecord r;
  r.set_event(v1::ROUND_FAILED);
  r.set_round(4);
  r.set_reason("two\nlines \"quoted\"");
  const std::string line = FormatAuditShowLine(r);
  EXPECT_NE(line.find("reason=\"two\\nlines \\\"quoted\\\"\""), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST_F(AuditCommandTest, ShowFiltersByRunPrefix) {
  Result r = Audit({"show", "--log", Log(), "--run", std::string(kTestRunId).substr(0, 8)});
  ASSERT_EQ(r.code, 0) << r.err;
  size_t with_run = 0;
  for (const v1::AuditRecord& rec : log_.records) with_run += rec.run_id().empty() ? 0 : 1;
  EXPECT_EQ(RecordLines(r.out).size(), with_run);
  for (const std::string& line : RecordLines(r.out)) {
    EXPECT_NE(line.find(std::string(kTestRunId).substr(0, 12)), std::string::npos) << line;
  }
  // Upper-case hex matches too; another prefix matches nothing.
  r = Audit({"show", "--log", Log(), "--run", "3F2A9C"});
  EXPECT_EQ(RecordLines(r.out).size(), with_run);
  r = Audit({"show", "--log", Log(), "--run", "ffff"});
  ASSERT_EQ(r.code, 0);
  EXPECT_TRUE(RecordLines(r.out).empty());
}

TEST_F(AuditCommandTest, ShowFiltersByRound) {
  Result r = Audit({"show", "--log", Log(), "--round", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = RecordLines(r.out);
  // Opened, oslo accepted, bergen rejected, tromso accepted, session, committed.
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_NE(lines[2].find("UPDATE_REJECTED"), std::string::npos);
  EXPECT_NE(lines[2].find("refused"), std::string::npos);
  EXPECT_NE(lines[2].find("reason=\"update longer than the model"), std::string::npos);
}

TEST_F(AuditCommandTest, ShowFiltersByNodeInActorOrNodes) {
  Result r = Audit({"show", "--log", Log(), "--node", "tromso"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = RecordLines(r.out);
  // Joined, 3 round openings, 2 accepted updates, the dropout, 2 secure
  // sessions and 2 commits that name it.
  EXPECT_EQ(lines.size(), 11u);
  bool dropped = false;
  for (const std::string& line : lines) {
    EXPECT_NE(line.find("tromso"), std::string::npos) << line;
    dropped = dropped || line.find("NODE_DROPPED") != std::string::npos;
  }
  EXPECT_TRUE(dropped);
}

TEST_F(AuditCommandTest, ShowFiltersByEventsCombinedWithOthers) {
  Result r = Audit({"show", "--log", Log(), "--event", "update_rejected,NODE_DROPPED"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = RecordLines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("UPDATE_REJECTED"), std::string::npos);
  EXPECT_NE(lines[1].find("NODE_DROPPED"), std::string::npos);

  r = Audit({"show", "--log", Log(), "--event", "UPDATE_ACCEPTED", "--event", "NODE_DROPPED",
             "--round", "3", "--node", "fl://nordic/node/"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(RecordLines(r.out).size(), 3u);  // oslo, bergen accepted; tromso dropped
}

TEST_F(AuditCommandTest, ShowJsonIsTheRecordsOnePerLine) {
  Result r = Audit({"show", "--log", Log(), "--format", "json", "--event", "AGGREGATE_COMMITTED"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  // The stored lines themselves.
  const std::string stored = ReadFileOrEmpty(Log() + "/records.jsonl");
  for (const std::string& line : lines) EXPECT_NE(stored.find(line + "\n"), std::string::npos);
  size_t matched = 0;
  for (const std::string& line : lines) {
    v1::AuditRecord parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
    EXPECT_NE(line.find("\"global_after\""), std::string::npos);  // proto field names
    for (const v1::AuditRecord& original : log_.records) {
      if (google::protobuf::util::MessageDifferencer::Equals(parsed, original)) ++matched;
    }
  }
  EXPECT_EQ(matched, 3u);
}

TEST_F(AuditCommandTest, ShowUsageErrors) {
  EXPECT_EQ(Audit({"show"}).code, 2);  // no --log
  Result r = Audit({"show", "--log", Log(), "--event", "RUN_EXPLODED"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown audit event 'RUN_EXPLODED'"), std::string::npos);
  r = Audit({"show", "--log", Log(), "--round", "two"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--round"), std::string::npos);
  EXPECT_EQ(Audit({"show", "--log", Log(), "--format", "xml"}).code, 2);
  EXPECT_EQ(Audit({"show", "--log", Log(), "--colour"}).code, 2);
}

TEST_F(AuditCommandTest, MissingDirectoryIsAnError) {
  for (const std::string sub : {"show", "report"}) {
    std::vector<std::string> args = {sub, "--log", dir_.Sub("nowhere")};
    if (sub == "report") args.insert(args.end(), {"--out", dir_.Sub("r.html")});
    Result r = Audit(args);
    EXPECT_EQ(r.code, 1) << sub;
    EXPECT_NE(r.err.find("no audit log directory " + dir_.Sub("nowhere")), std::string::npos)
        << r.err;
  }
}

TEST_F(AuditCommandTest, MissingRecordsFileIsAnError) {
  std::filesystem::create_directories(dir_.Sub("empty"));
  Result r = Audit({"show", "--log", dir_.Sub("empty")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("records.jsonl"), std::string::npos) << r.err;
}

TEST_F(AuditCommandTest, LineThatDoesNotParseIsNamed) {
  std::string records = testing::ToJsonLines(log_.records);
  // Cut line 3 in half.
  std::vector<std::string> lines = absl::StrSplit(records, '\n');
  lines[2] = lines[2].substr(0, lines[2].size() / 2);
  WriteFileOrDie(Log() + "/records.jsonl", absl::StrJoin(lines, "\n"));
  for (const std::string sub : {"show", "report"}) {
    std::vector<std::string> args = {sub, "--log", Log()};
    if (sub == "report") args.insert(args.end(), {"--out", dir_.Sub("r.html")});
    Result r = Audit(args);
    EXPECT_EQ(r.code, 1) << sub;
    EXPECT_NE(r.err.find("records.jsonl line 3: not a valid AuditRecord"), std::string::npos)
        << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("r.html")));
}

TEST_F(AuditCommandTest, UnknownFieldAndEmptyLineAreErrors) {
  WriteFileOrDie(Log() + "/records.jsonl", "{\"sequence\":\"0\",\"colour\":\"red\"}\n");
  Result r = Audit({"show", "--log", Log()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("records.jsonl line 1"), std::string::npos) << r.err;

  WriteFileOrDie(Log() + "/records.jsonl", "{\"sequence\":\"0\"}\n\n{\"sequence\":\"1\"}\n");
  r = Audit({"show", "--log", Log()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("records.jsonl line 2: empty line"), std::string::npos) << r.err;
}

TEST_F(AuditCommandTest, TornLastLineIsExplained) {
  std::string records = testing::ToJsonLines(log_.records);
  records.resize(records.size() - 20);
  WriteFileOrDie(Log() + "/records.jsonl", records);
  Result r = Audit({"show", "--log", Log()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(absl::StrCat("records.jsonl line ", log_.records.size(), ": not a valid")),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the last line has no newline"), std::string::npos) << r.err;
}

TEST_F(AuditCommandTest, BadTreeHeadLineIsNamed) {
  WriteFileOrDie(Log() + "/tree-heads.jsonl",
                 testing::ToJsonLines(log_.tree_heads) + "{\"tree_size\": \"many\"}\n");
  Result r = Audit({"show", "--log", Log()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("tree-heads.jsonl line 4: not a valid AuditTreeHead"), std::string::npos)
      << r.err;
}

TEST_F(AuditCommandTest, MissingTreeHeadsFileIsAnEmptyList) {
  std::filesystem::remove(Log() + "/tree-heads.jsonl");
  Result r = Audit({"report", "--log", Log(), "--out", dir_.Sub("r.html")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(ReadFileOrEmpty(dir_.Sub("r.html")).find("no signed tree head"), std::string::npos);
}

TEST_F(AuditCommandTest, ReportWritesTheHtmlFile) {
  const std::string out = dir_.Sub("report.html");
  Result r = Audit({"report", "--log", Log(), "--out", out, "--consortium", "Nordic <AI>"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + out), std::string::npos);
  const std::string html = ReadFileOrEmpty(out);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Nordic &lt;AI&gt;"), std::string::npos);
  EXPECT_NE(html.find("Report generated"), std::string::npos);
  EXPECT_EQ(std::count(html.begin(), html.end(), '\0'), 0);
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
}

TEST_F(AuditCommandTest, ReportUsageErrors) {
  EXPECT_EQ(Audit({"report", "--log", Log()}).code, 2);  // no --out
  EXPECT_EQ(Audit({"report", "--out", dir_.Sub("r.html")}).code, 2);
  Result r = Audit({"report", "--log", Log(), "--out", dir_.Sub("no/such/dir/r.html")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

TEST_F(AuditCommandTest, HelpAndUnknownSubcommand) {
  Result r = Audit({"help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("flctl audit show"), std::string::npos);
  EXPECT_EQ(Audit({}).code, 2);
  r = Audit({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown subcommand 'frobnicate'"), std::string::npos);
}

// A real log written by common/audit and signed with a fresh audit key: the
// synthetic records, a tree head after each committed round.
class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<audit::AuditKey>> key =
        audit::AuditKey::Generate(dir_.Sub("audit.key"), dir_.Sub("audit_pub.pem"));
    ASSERT_TRUE(key.ok()) << key.status();
    audit::AuditLogOptions options;
    options.key = key->get();
    absl::StatusOr<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(Log(), options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (const v1::AuditRecord& r : MakeTestAuditLog().records) {
      v1::AuditRecord fresh = r;
      fresh.clear_sequence();
      fresh.clear_previous_leaf_sha256();
      fresh.clear_schema_version();
      ASSERT_TRUE((*log)->Append(fresh).ok());
      if (r.event() == v1::AGGREGATE_COMMITTED) {
        ASSERT_TRUE((*log)->SignTreeHead(r.run_id(), r.round()).ok());
      }
    }
    ASSERT_TRUE((*log)->Sync().ok());
  }

  std::string Log() const { return dir_.Sub("log"); }
  std::string Key() const { return dir_.Sub("audit_pub.pem"); }

  // Replaces the first `from` in line `line` (1-based) of records.jsonl.
  void AlterRecordLine(int line, const std::string& from, const std::string& to) {
    const std::string path = Log() + "/records.jsonl";
    std::vector<std::string> lines = absl::StrSplit(ReadFileOrEmpty(path), '\n');
    const size_t at = lines[line - 1].find(from);
    ASSERT_NE(at, std::string::npos) << lines[line - 1];
    lines[line - 1].replace(at, from.size(), to);
    WriteFileOrDie(path, absl::StrJoin(lines, "\n"));
  }

  TempDir dir_;
};

TEST_F(AuditVerifyTest, IntactLogVerifies) {
  Result r = Audit({"verify", "--log", Log(), "--audit_key", Key()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("VERIFIED " + Log()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verified: 31 records, 3 tree heads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 after it not yet signed"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(AuditVerifyTest, AlteredRecordIsNamed) {
  // Record 17 (line 18): bergen's rejected update; the reason is rewritten.
  AlterRecordLine(18, "update longer than the model", "update shorter than the model");
  Result r = Audit({"verify", "--log", Log(), "--audit_key", Key()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("NOT VERIFIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("first bad record: 17 (line 18 of records.jsonl)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("the log does not verify: record 17"), std::string::npos) << r.err;
}

TEST_F(AuditVerifyTest, AnotherKeyDoesNotVerify) {
  ASSERT_TRUE(audit::AuditKey::Generate(dir_.Sub("other.key"), dir_.Sub("other_pub.pem")).ok());
  Result r = Audit({"verify", "--log", Log(), "--audit_key", dir_.Sub("other_pub.pem")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("NOT VERIFIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tree head concerned: line 1"), std::string::npos) << r.out;
}

TEST_F(AuditVerifyTest, UsageAndMissingInputs) {
  EXPECT_EQ(Audit({"verify", "--log", Log()}).code, 2);
  EXPECT_EQ(Audit({"verify", "--audit_key", Key()}).code, 2);
  Result r = Audit({"verify", "--log", Log(), "--audit_key", dir_.Sub("nokey.pem")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot read audit key " + dir_.Sub("nokey.pem")), std::string::npos);
  WriteFileOrDie(dir_.Sub("bad.pem"), "not a key\n");
  r = Audit({"verify", "--log", Log(), "--audit_key", dir_.Sub("bad.pem")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot verify"), std::string::npos) << r.err;
  r = Audit({"verify", "--log", dir_.Sub("nowhere"), "--audit_key", Key()});
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(AuditVerifyTest, ReportShowsTheVerdict) {
  const std::string out = dir_.Sub("report.html");
  Result r = Audit({"report", "--log", Log(), "--out", out, "--audit_key", Key()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(", verified)"), std::string::npos) << r.out;
  std::string html = ReadFileOrEmpty(out);
  EXPECT_NE(html.find("class=\"verification verified\""), std::string::npos);
  EXPECT_NE(html.find("verified: 31 records, 3 tree heads"), std::string::npos);

  AlterRecordLine(18, "update longer than the model", "update shorter than the model");
  r = Audit({"report", "--log", Log(), "--out", out, "--audit_key", Key()});
  EXPECT_EQ(r.code, 1);  // the report is written, and says it failed
  EXPECT_NE(r.err.find("does not verify"), std::string::npos) << r.err;
  html = ReadFileOrEmpty(out);
  EXPECT_NE(html.find("class=\"verification failed\""), std::string::npos);
  EXPECT_NE(html.find("first bad record: 17 (line 18 of records.jsonl)"), std::string::npos);
  EXPECT_NE(html.find("update shorter than the model"), std::string::npos);
}

}  // namespace
}  // namespace tverr::flctl
