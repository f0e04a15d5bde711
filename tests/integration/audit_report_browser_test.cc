// The audit report in a real browser: `flctl audit report` writes the HTML
// for the synthetic log, headless Chromium (Debian's chromium package, which
// scripts/install-deps.sh installs) parses and renders it. What the DOM
// holds after parsing is what an auditor's browser shows; the screenshot
// shows that it draws. Chromium missing is a failure, not a skip: the test
// exists to run in a browser.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/coordinator/flctl/audit_test_log.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace tverr::flctl {
namespace {

using tverr::testing::ReadFileOrEmpty;
using tverr::testing::RunProgram;
using tverr::testing::TempDir;

constexpr char kChromium[] = "/usr/bin/chromium";
const std::string kFlctl = std::string(TVERR_BIN_DIR) + "/coordinator/flctl";

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// PNG width and height from the IHDR chunk; {0, 0} if not a PNG.
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (png.size() < 24 || png.compare(0, 8, kSignature) != 0 || png.compare(12, 4, "IHDR") != 0) {
    return {0, 0};
  }
  auto be32 = [&png](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

class AuditReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kChromium, X_OK), 0)
        << kChromium << " is missing: this test renders the audit report in headless "
        << "Chromium. Install it with scripts/install-deps.sh (Debian package 'chromium').";
    ASSERT_EQ(access(kFlctl.c_str(), X_OK), 0) << kFlctl << " is not built";
    testing::WriteTestAuditLog(dir_.Sub("log"), testing::MakeTestAuditLog());
    std::string output;
    ASSERT_EQ(RunProgram({kFlctl, "audit", "report", "--log", dir_.Sub("log"), "--out", Report()},
                         &output),
              0)
        << output;
  }

  std::string Report() const { return dir_.Sub("report.html"); }

  // Runs headless Chromium on `url` with `args`; its stdout goes to
  // `stdout_path`. Returns the exit code; `log` gets stderr.
  int Chromium(const std::vector<std::string>& args, const std::string& url,
               const std::string& stdout_path, std::string* log) {
    const std::string profile = dir_.Sub(absl::StrCat("profile-", runs_++));
    std::vector<std::string> command = {"exec timeout 120",
                                        kChromium,
                                        "--headless",
                                        "--no-sandbox",
                                        "--disable-gpu",
                                        "--disable-quic",
                                        "--no-first-run",
                                        "--disable-background-networking",
                                        "--disable-component-update",
                                        "--disable-sync",
                                        "--disable-dev-shm-usage",
                                        "--user-data-dir=" + Quote(profile)};
    for (const std::string& a : args) command.push_back(Quote(a));
    command.push_back(Quote(url));
    const std::string stderr_path = stdout_path + ".stderr";
    command.push_back("> " + Quote(stdout_path) + " 2> " + Quote(stderr_path));
    std::string ignored;
    const int code = RunProgram({"/bin/sh", "-c", absl::StrJoin(command, " ")}, &ignored);
    *log = ReadFileOrEmpty(stderr_path);
    return code;
  }

  TempDir dir_;
  int runs_ = 0;
};

TEST_F(AuditReportBrowserTest, DomShowsRoundsSitesAndCharts) {
  std::string log;
  const std::string dom_path = dir_.Sub("dom.html");
  ASSERT_EQ(Chromium({"--dump-dom"}, "file://" + Report(), dom_path, &log), 0) << log;
  const std::string dom = ReadFileOrEmpty(dom_path);
  ASSERT_FALSE(dom.empty()) << log;
  EXPECT_FALSE(absl::StrContains(dom, "chrome-error://")) << dom.substr(0, 2000);
  EXPECT_FALSE(absl::StrContains(dom, "ERR_FILE_NOT_FOUND"));
  EXPECT_TRUE(absl::StrContains(dom, "<title>Audit report \xE2\x80\x94 nordic</title>"));
  EXPECT_TRUE(absl::StrContains(dom, "id=\"verification\""));

  // The rounds table holds its three rows: the parser moved nothing out
  // (badly nested markup would be "fostered" out of the table).
  const std::string anchor = std::string(testing::kTestRunId).substr(0, 16);
  const size_t table = dom.find("<table class=\"rounds\" id=\"rounds-" + anchor + "\">");
  ASSERT_NE(table, std::string::npos);
  const std::string rounds = dom.substr(table, dom.find("</table>", table) - table);
  EXPECT_EQ(Count(rounds, "<tr class=\"round-row"), 3u);
  for (int round = 1; round <= 3; ++round) {
    EXPECT_TRUE(absl::StrContains(rounds, absl::StrCat("data-round=\"", round, "\"")));
  }
  EXPECT_EQ(Count(dom, "<tr class=\"round-row"), 3u);
  // The dropout and the rejected update with its reason as text, not markup.
  EXPECT_TRUE(absl::StrContains(rounds, "no masked input before the deadline"));
  EXPECT_TRUE(absl::StrContains(
      rounds, "update longer than the model &lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; co"));
  EXPECT_FALSE(absl::StrContains(dom, "<script"));

  // Sites in the legend and the per-site table.
  for (const std::string site : {"oslo", "bergen", "tromso"}) {
    EXPECT_TRUE(absl::StrContains(dom, absl::StrCat("data-series=\"fl://nordic/node/", site, "\"")))
        << site;
    EXPECT_TRUE(absl::StrContains(dom, absl::StrCat(">", site, "</text>"))) << site;
  }
  // The charts are SVG in the DOM, with drawn lines: pooled plus three sites.
  EXPECT_TRUE(absl::StrContains(
      dom, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"accuracy-chart-" + anchor));
  EXPECT_TRUE(absl::StrContains(dom, "id=\"site-chart-" + anchor));
  EXPECT_EQ(Count(dom, "<polyline class=\"series\""), 4u);
  size_t at = 0;
  for (int i = 0; i < 4; ++i) {
    at = dom.find("<polyline class=\"series\"", at);
    ASSERT_NE(at, std::string::npos);
    const size_t points = dom.find("points=\"", at);
    ASSERT_NE(points, std::string::npos);
    const std::string value = dom.substr(points + 8, dom.find('"', points + 8) - (points + 8));
    EXPECT_EQ(Count(value, ","), 3u) << value;  // three rounds
    at = points;
  }
  EXPECT_EQ(Count(dom, "class=\"security-row\""), 4u);
}

TEST_F(AuditReportBrowserTest, ScreenshotDrawsTheReport) {
  // A blank page of the same size is the baseline: the report must carry far
  // more picture than nothing does.
  const std::string blank_html = dir_.Sub("blank.html");
  tverr::testing::WriteFileOrDie(blank_html, "<!DOCTYPE html><html><body></body></html>\n");
  std::string log;
  const std::string blank_png = dir_.Sub("blank.png");
  ASSERT_EQ(Chromium({"--screenshot=" + blank_png, "--window-size=1280,2000", "--hide-scrollbars"},
                     "file://" + blank_html, dir_.Sub("blank.out"), &log),
            0)
      << log;
  const std::string report_png = dir_.Sub("r.png");
  ASSERT_EQ(Chromium({"--screenshot=" + report_png, "--window-size=1280,2000", "--hide-scrollbars"},
                     "file://" + Report(), dir_.Sub("r.out"), &log),
            0)
      << log;
  const std::string blank = ReadFileOrEmpty(blank_png);
  const std::string png = ReadFileOrEmpty(report_png);
  ASSERT_FALSE(png.empty()) << log;
  EXPECT_EQ(PngSize(png), (std::pair<uint32_t, uint32_t>(1280, 2000)));
  EXPECT_EQ(PngSize(blank), (std::pair<uint32_t, uint32_t>(1280, 2000)));
  EXPECT_GT(png.size(), 20000u);
  EXPECT_GT(png.size(), 4 * blank.size())
      << "report " << png.size() << " bytes, blank page " << blank.size() << " bytes";
}

}  // namespace
}  // namespace tverr::flctl
