#include "coordinator/flctl/audit_report_parts.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "coordinator/flctl/audit_chart.h"

namespace tverr::flctl::report {

std::string Missing() { return "<span class=\"muted\">-</span>"; }

std::string Hash(const std::string& hex) {
  if (hex.empty()) return Missing();
  constexpr size_t kShown = 12;
  const std::string shown = hex.size() > kShown ? hex.substr(0, kShown) + "\xE2\x80\xA6" : hex;
  return absl::StrCat("<code class=\"hash\" title=\"", HtmlEscape(hex), "\">", HtmlEscape(shown),
                      "</code>");
}

std::string ShortIdentity(const std::string& identity) {
  constexpr absl::string_view kScheme = "fl://";
  if (!absl::StartsWith(identity, kScheme)) return identity;
  std::vector<std::string> parts =
      absl::StrSplit(absl::string_view(identity).substr(kScheme.size()), '/');
  if (parts.size() != 3 || parts[2].empty()) return identity;
  if (parts[1] == "node") return parts[2];
  return absl::StrCat(parts[2], " (", parts[1], ")");
}

std::string Identity(const std::string& identity) {
  if (identity.empty()) return Missing();
  return absl::StrCat("<span class=\"identity\" title=\"", HtmlEscape(identity), "\">",
                      HtmlEscape(ShortIdentity(identity)), "</span>");
}

std::string Time(const std::string& rfc3339) {
  if (rfc3339.empty()) return Missing();
  std::string shown = rfc3339;
  if (shown.size() > 10 && shown[10] == 'T') shown[10] = ' ';
  if (absl::EndsWith(shown, "Z")) shown.pop_back();
  return absl::StrCat("<time datetime=\"", HtmlEscape(rfc3339), "\">", HtmlEscape(shown),
                      "</time>");
}

std::string Event(v1::AuditEvent event) {
  std::string name = v1::AuditEvent_Name(event);
  if (name.empty()) name = absl::StrCat("event ", static_cast<int>(event));
  std::string label = absl::AsciiStrToLower(name);
  for (char& c : label) {
    if (c == '_') c = ' ';
  }
  if (!label.empty()) label[0] = absl::ascii_toupper(label[0]);
  return absl::StrCat("<span class=\"event\" title=\"", HtmlEscape(name), "\">", HtmlEscape(label),
                      "</span>");
}

std::string Outcome(v1::AuditOutcome outcome) {
  switch (outcome) {
    case v1::SUCCESS:
      return "<span class=\"tag ok\">success</span>";
    case v1::FAILURE:
      return "<span class=\"tag bad\">failure</span>";
    case v1::REFUSED:
      return "<span class=\"tag bad\">refused</span>";
    default:
      return Missing();
  }
}

std::string Percent(double fraction) { return absl::StrFormat("%.1f %%", fraction * 100); }

std::string Count(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\xE2\x80\x89";  // thin space
    out += digits[i];
  }
  return out;
}

std::string RunAnchor(const std::string& run_id) {
  std::string anchor;
  for (char c : run_id.substr(0, 16)) {
    anchor += absl::ascii_isalnum(c) ? absl::ascii_tolower(c) : '_';
  }
  return anchor.empty() ? "none" : anchor;
}

std::string RunState(const AuditRunView& run) {
  if (run.lifecycle.empty()) return "unknown";
  switch (run.lifecycle.back().event) {
    case v1::RUN_CREATED:
      return "created";
    case v1::RUN_STARTED:
      return "running";
    case v1::RUN_PAUSED:
      return "paused";
    case v1::RUN_ABORTED:
      return "aborted";
    case v1::RUN_COMPLETED:
      return "completed";
    case v1::RUN_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

}  // namespace tverr::flctl::report
