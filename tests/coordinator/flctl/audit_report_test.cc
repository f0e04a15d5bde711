#include "coordinator/flctl/audit_report.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/flctl/audit_chart.h"
#include "coordinator/flctl/audit_report_model.h"
#include "gtest/gtest.h"
#include "tests/coordinator/flctl/audit_test_log.h"

namespace tverr::flctl {
namespace {

using testing::kBergen;
using testing::kOslo;
using testing::kTestRunId;
using testing::kTromso;
using testing::MakeTestAuditLog;
using testing::TestAuditLog;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// The text of the table row of round `round`.
std::string RoundRow(const std::string& html, int round) {
  const std::string start = absl::StrCat("data-round=\"", round, "\"");
  size_t begin = html.find(start);
  if (begin == std::string::npos) return "";
  return html.substr(begin, html.find("</tr>", begin) - begin);
}

std::string Render(const TestAuditLog& log, const ReportOptions& options = {}) {
  return RenderAuditReport(log.records, log.tree_heads, options);
}

const std::string kAnchor = std::string(kTestRunId).substr(0, 16);

TEST(AuditReport, IsOneSelfContainedHtmlDocument) {
  const std::string html = Render(MakeTestAuditLog());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>Audit report \xE2\x80\x94 nordic</title>"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // No script, nothing fetched from elsewhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // The only http:// is the SVG namespace.
  EXPECT_EQ(Count(html, "http://"), Count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST(AuditReport, HeaderShowsLogAndLatestSignedRoot) {
  const TestAuditLog log = MakeTestAuditLog();
  ReportOptions options;
  options.generated_at = "2026-11-27T08:30:00.000Z";
  options.log_source = "/srv/audit-copy";
  options.coordinator = "coordinator.nordic.example:7443";
  const std::string html = Render(log, options);
  EXPECT_NE(html.find("id=\"report-header\""), std::string::npos);
  EXPECT_NE(html.find("<strong>nordic</strong>"), std::string::npos);
  EXPECT_NE(html.find("coordinator.nordic.example:7443"), std::string::npos);
  EXPECT_NE(html.find("version 0.1.0"), std::string::npos);
  EXPECT_NE(html.find("/srv/audit-copy"), std::string::npos);
  EXPECT_NE(html.find("2026-11-27 08:30:00.000"), std::string::npos);
  EXPECT_NE(html.find(absl::StrCat(log.records.size(), " records")), std::string::npos);
  const v1::AuditTreeHead& latest = log.tree_heads.back();
  EXPECT_NE(html.find(absl::StrCat("id=\"latest-root\">", latest.root_sha256(), "<")),
            std::string::npos);
  EXPECT_NE(html.find(latest.key_id()), std::string::npos);
  // Records after round 3's head (RUN_COMPLETED) are not signed yet.
  EXPECT_NE(html.find("1 record after the latest signed tree head"), std::string::npos);
}

TEST(AuditReport, VerificationResultIsShownAsGiven) {
  const TestAuditLog log = MakeTestAuditLog();
  std::string html = Render(log);
  EXPECT_NE(html.find("class=\"verification not-checked\""), std::string::npos);
  EXPECT_NE(html.find("Not verified"), std::string::npos);

  ReportOptions ok;
  ok.verification = AuditVerification::kVerified;
  ok.verification_summary = "39 records, 3 tree heads <all good>";
  html = Render(log, ok);
  EXPECT_NE(html.find("class=\"verification verified\""), std::string::npos);
  EXPECT_NE(html.find("39 records, 3 tree heads &lt;all good&gt;"), std::string::npos);

  ReportOptions bad;
  bad.verification = AuditVerification::kFailed;
  bad.verification_summary = "record 7: leaf hash does not match";
  html = Render(log, bad);
  EXPECT_NE(html.find("class=\"verification failed\""), std::string::npos);
  EXPECT_NE(html.find("Verification FAILED"), std::string::npos);
  EXPECT_NE(html.find("record 7: leaf hash does not match"), std::string::npos);
}

TEST(AuditReport, RunShowsWhoDidWhatAndTheSettings) {
  const std::string html = Render(MakeTestAuditLog());
  EXPECT_NE(html.find(absl::StrCat("<section class=\"run\" id=\"run-", kAnchor, "\">")),
            std::string::npos);
  EXPECT_NE(html.find(kTestRunId), std::string::npos);
  EXPECT_NE(html.find("chest-xray &lt;pilot&gt;"), std::string::npos);
  EXPECT_EQ(html.find("chest-xray <pilot>"), std::string::npos);
  // Created, started, paused, started again, completed.
  EXPECT_EQ(Count(html, "class=\"lifecycle-row\""), 5u);
  EXPECT_NE(html.find("title=\"RUN_PAUSED\""), std::string::npos);
  EXPECT_NE(html.find("Run started</span> <span class=\"muted\">(continued)</span>"),
            std::string::npos);
  EXPECT_EQ(html.find("(started)"), std::string::npos);  // nothing more than the event
  EXPECT_EQ(html.find("(paused)"), std::string::npos);
  // RUN_STARTED's "action" is not a run parameter.
  EXPECT_EQ(html.find("<code>action</code>"), std::string::npos);
  EXPECT_NE(html.find(testing::TestModelHash(0)), std::string::npos);  // initial model
  EXPECT_NE(html.find("alice (researcher)"), std::string::npos);
  EXPECT_NE(html.find("tag state-completed"), std::string::npos);
  // Key facts from the parameters.
  EXPECT_NE(html.find("<dt>Strategy</dt><dd>FEDAVG</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dt>Secure aggregation</dt><dd><span class=\"tag ok\">on</span>"),
            std::string::npos);
  EXPECT_NE(html.find("<dt>Secure threshold (fraction of nodes)</dt><dd>0.66</dd>"),
            std::string::npos);
  EXPECT_NE(html.find("<dt>Clip (L2 norm)</dt><dd>10</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dt>Quantisation bits</dt><dd>20</dd>"), std::string::npos);
  EXPECT_NE(html.find("<code>secure.clip</code>"), std::string::npos);
}

TEST(AuditReport, RoundsTableHasEveryRound) {
  const TestAuditLog log = MakeTestAuditLog();
  const std::string html = Render(log);
  EXPECT_NE(html.find(absl::StrCat("<table class=\"rounds\" id=\"rounds-", kAnchor, "\">")),
            std::string::npos);
  EXPECT_EQ(Count(html, "<tr class=\"round-row"), 3u);
  for (int round = 1; round <= 3; ++round) {
    const std::string row = RoundRow(html, round);
    ASSERT_FALSE(row.empty()) << round;
    // Models before and after (shortened, full in the tooltip), session.
    EXPECT_NE(row.find(testing::TestModelHash(round - 1).substr(0, 12)), std::string::npos);
    EXPECT_NE(row.find(absl::StrCat("title=\"", testing::TestModelHash(round), "\"")),
              std::string::npos);
    EXPECT_NE(row.find(absl::StrCat("title=\"", testing::TestSessionId(round), "\"")),
              std::string::npos);
    EXPECT_NE(row.find("threshold 2"), std::string::npos);
    EXPECT_EQ(row.find("chain-break"), std::string::npos);
    EXPECT_NE(row.find("<span class=\"count\">3:</span>"), std::string::npos);  // participants
  }
  // Round 2: bergen's update was rejected, with the reason escaped.
  const std::string row2 = RoundRow(html, 2);
  EXPECT_NE(row2.find("class=\"rejected\""), std::string::npos);
  EXPECT_NE(row2.find("update longer than the model &lt;script&gt;alert(&quot;x&quot;)"
                      "&lt;/script&gt; &amp; co"),
            std::string::npos);
  EXPECT_NE(row2.find("<span class=\"count\">2:</span>"), std::string::npos);  // contributors
  // Round 3: tromso dropped, with the reason.
  const std::string row3 = RoundRow(html, 3);
  EXPECT_NE(row3.find("class=\"dropout\""), std::string::npos);
  EXPECT_NE(row3.find("title=\"fl://nordic/node/tromso\">tromso</span> <span "
                      "class=\"muted\">dropped</span>: no masked input before the deadline"),
            std::string::npos);
  // Each round closed by its signed tree head.
  EXPECT_NE(row3.find(absl::StrCat("size ", log.tree_heads[2].tree_size())), std::string::npos);
  // Raw record text never reaches the page unescaped.
  EXPECT_EQ(html.find("<script>"), std::string::npos);
}

TEST(AuditReport, MetricsChartsAndTable) {
  const std::string html = Render(MakeTestAuditLog());
  EXPECT_NE(html.find(absl::StrCat("id=\"accuracy-chart-", kAnchor, "\"")), std::string::npos);
  EXPECT_NE(html.find(absl::StrCat("id=\"site-chart-", kAnchor, "\"")), std::string::npos);
  // One line for the pooled accuracy and one per site, 3 points each.
  EXPECT_EQ(Count(html, "<polyline class=\"series\""), 4u);
  EXPECT_EQ(Count(html, "<circle class=\"point\""), 12u);
  // Legend and the per-site table name every site.
  for (const char* site : {kOslo, kBergen, kTromso}) {
    EXPECT_NE(html.find(absl::StrCat("data-series=\"", site, "\"")), std::string::npos) << site;
  }
  EXPECT_EQ(Count(html, "class=\"legend-item\""), 3u);
  EXPECT_NE(html.find(absl::StrCat("id=\"site-metrics-", kAnchor, "\"")), std::string::npos);
  EXPECT_EQ(Count(html, "class=\"metrics-row\""), 3u);
  EXPECT_NE(html.find("<td>1</td><td>61.0 %</td>"), std::string::npos);
  EXPECT_NE(html.find("79.0 %"), std::string::npos);
  // Axis labels.
  EXPECT_NE(html.find(">Round</text>"), std::string::npos);
  EXPECT_NE(html.find(">Accuracy</text>"), std::string::npos);
}

TEST(AuditReport, PooledAccuracyComputedWhenNotRecorded) {
  TestAuditLog log = MakeTestAuditLog();
  for (v1::AuditRecord& r : log.records) r.mutable_parameters()->erase("pooled_accuracy");
  const std::string html = Render(log);
  // Round 1: (0.56*200 + 0.61*300 + 0.66*400) / 900.
  EXPECT_NE(html.find("<td>1</td><td>62.1 % *</td>"), std::string::npos);
  EXPECT_NE(html.find("computed here from the sites"), std::string::npos);
}

TEST(AuditReport, SecurityEventsTable) {
  const std::string html = Render(MakeTestAuditLog());
  const size_t section = html.find("<section id=\"security-events\">");
  ASSERT_NE(section, std::string::npos);
  const std::string part = html.substr(section, html.find("</section>", section) - section);
  // Job refused, authentication failed, update rejected, authorisation failed.
  EXPECT_EQ(Count(part, "class=\"security-row\""), 4u);
  EXPECT_NE(part.find("certificate revoked (serial 1f)"), std::string::npos);
  EXPECT_NE(part.find("role not allowed<br><code>method</code> = "
                      "/tverr.v1.OperatorService/ListNodes"),
            std::string::npos);
  EXPECT_NE(part.find("run hash not in the node&#39;s approved list"), std::string::npos);
  EXPECT_NE(part.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(part.find("title=\"AUTHENTICATION_FAILED\""), std::string::npos);
}

TEST(AuditReport, AdministrationAndTreeHeads) {
  const TestAuditLog log = MakeTestAuditLog();
  const std::string html = Render(log);
  EXPECT_EQ(Count(html, "class=\"admin-row\""), 4u);  // coordinator start, 3 joins
  EXPECT_EQ(Count(html, "class=\"tree-head-row\""), 3u);
}

TEST(AuditReport, BrokenModelChainIsMarked) {
  TestAuditLog log = MakeTestAuditLog();
  for (v1::AuditRecord& r : log.records) {
    if (r.round() == 3) r.mutable_hashes()->set_global_before(testing::TestModelHash(99));
  }
  const std::string html = Render(log);
  const std::string row3 = RoundRow(html, 3);
  EXPECT_EQ(Count(html, "class=\"round-row chain-break\""), 1u);
  EXPECT_NE(html.find("<tr class=\"round-row chain-break\" data-round=\"3\""), std::string::npos);
  EXPECT_NE(row3.find("does not start from round 2's model"), std::string::npos);
}

TEST(AuditReport, FirstRoundMustStartFromTheInitialModel) {
  TestAuditLog log = MakeTestAuditLog();
  for (v1::AuditRecord& r : log.records) {
    if (r.round() == 1) r.mutable_hashes()->set_global_before(testing::TestModelHash(98));
  }
  const std::string html = Render(log);
  EXPECT_NE(html.find("<tr class=\"round-row chain-break\" data-round=\"1\""), std::string::npos);
  EXPECT_NE(RoundRow(html, 1).find("does not start from the run's initial model"),
            std::string::npos);
  // Round 2 starts from what round 1 committed: no break there.
  EXPECT_EQ(RoundRow(html, 2).find("chain-break"), std::string::npos);
}

TEST(AuditReport, EmptyLogStillRenders) {
  const std::string html = RenderAuditReport({}, {}, ReportOptions());
  EXPECT_NE(html.find("No runs in this log."), std::string::npos);
  EXPECT_NE(html.find("0 records"), std::string::npos);
  EXPECT_NE(html.find("no signed tree head"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(AuditReport, MisplacedSequenceIsShown) {
  TestAuditLog log = MakeTestAuditLog();
  log.records.erase(log.records.begin() + 5);
  const std::string html = Render(log);
  EXPECT_NE(html.find("out of place: 6"), std::string::npos);
}

TEST(AuditReportModel, ContributorsComeFromTheCommit) {
  const TestAuditLog log = MakeTestAuditLog();
  const AuditLogView view = BuildAuditLogView(log.records, log.tree_heads);
  ASSERT_EQ(view.runs.size(), 1u);
  const AuditRunView& run = view.runs[0];
  ASSERT_EQ(run.rounds.size(), 3u);
  EXPECT_EQ(run.rounds[1].contributors, (std::vector<std::string>{kOslo, kTromso}));
  EXPECT_EQ(run.rounds[2].contributors, (std::vector<std::string>{kOslo, kBergen}));
  EXPECT_EQ(run.rounds[2].dropouts.size(), 1u);
  EXPECT_EQ(run.rounds[1].rejected.size(), 1u);
  EXPECT_EQ(run.rounds[0].samples, 3000u);
  EXPECT_EQ(run.sites, (std::vector<std::string>{kBergen, kOslo, kTromso}));
  EXPECT_EQ(view.consortia, (std::vector<std::string>{"nordic"}));
  EXPECT_EQ(run.parameters.at("secure.bits"), "20");
}

TEST(AuditReportModel, FindParameterByLastComponent) {
  const std::map<std::string, std::string> params = {{"secure.clip", "10"}, {"bits", "8"}};
  EXPECT_EQ(FindAuditParameter(params, {"clip"}), "10");
  EXPECT_EQ(FindAuditParameter(params, {"bits"}), "8");
  EXPECT_EQ(FindAuditParameter(params, {"missing", "clip"}), "10");
  EXPECT_FALSE(FindAuditParameter(params, {"lip"}).has_value());
}

TEST(AuditChart, EscapesAndDrawsOnlyWhatThereIs) {
  LineChartOptions options;
  options.id = "c";
  options.title = "a <b> & \"c\"";
  options.x_label = "Round";
  std::string svg = RenderLineChartSvg({{"one point", "", {{1, 0.5}}}, {"empty", "", {}}}, options);
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("<polyline"), std::string::npos);
  EXPECT_EQ(Count(svg, "<circle class=\"point\""), 1u);
  EXPECT_NE(svg.find("50.0 %"), std::string::npos);

  svg = RenderLineChartSvg({}, options);
  EXPECT_NE(svg.find("no data"), std::string::npos);
}

TEST(AuditChart, HtmlEscape) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"plain tromsø", "plain tromsø"},
      {"<a href='x'>&amp;</a>", "&lt;a href=&#39;x&#39;&gt;&amp;amp;&lt;/a&gt;"},
      {"\"q\"", "&quot;q&quot;"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(HtmlEscape(in), want) << in;
}

}  // namespace
}  // namespace tverr::flctl
