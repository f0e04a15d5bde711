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

}  // namespace
}  // namespace tverr::flctl
