#include "coordinator/flctl/audit_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/flctl/audit_chart.h"
#include "coordinator/flctl/audit_report_model.h"
#include "coordinator/flctl/audit_report_parts.h"

namespace tverr::flctl {
namespace {

using report::Count;
using report::Event;
using report::Hash;
using report::Identity;
using report::Missing;
using report::Outcome;
using report::Time;

// Inline, so the file stands alone; prints on A4 without the grey page.
constexpr char kStyle[] = R"css(
:root{--fg:#1d2330;--muted:#5b6472;--line:#d9dde3;--head:#eef1f5;--ok:#1e7b34;--bad:#b3261e;
  --warn:#7a5200}
*{box-sizing:border-box}
body{margin:0;background:#f2f4f7;color:var(--fg);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 36px 48px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:0 0 2px}
h2{font-size:20px;margin:40px 0 10px;padding-top:14px;border-top:2px solid var(--line)}
h3{font-size:16px;margin:26px 0 8px}
.subtitle{color:var(--muted);margin:0 0 18px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0 0 8px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:6px 0 14px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
table.parameters,table.round-privacy{width:auto;min-width:50%}
tbody tr:nth-child(even) td{background:#fafbfc}
tr.chain-break td,tr.chain-break:nth-child(even) td{background:#fdecea}
code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
code.full-hash{overflow-wrap:anywhere}
.muted{color:var(--muted)}
.bad,.dropout,.rejected{color:var(--bad)}
.warn{color:var(--warn)}
.tag{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;
  background:var(--head);color:var(--fg);vertical-align:middle}
.tag.ok,.tag.state-completed{background:#e3f3e7;color:var(--ok)}
.tag.bad,.tag.state-failed,.tag.state-aborted{background:#fbe3e1;color:var(--bad)}
.tag.state-running,.tag.state-paused{background:#e6eefa;color:#0b4f8a}
.verification{border:1px solid;border-radius:6px;padding:12px 16px;margin:18px 0}
.verification h2{border:0;margin:0 0 4px;padding:0;font-size:17px}
.verification p{margin:0;white-space:pre-wrap}
.verification.verified{background:#e8f5ec;border-color:#9fd3ad}
.verification.verified h2{color:var(--ok)}
.verification.failed{background:#fdecea;border-color:#f1a9a3}
.verification.failed h2{color:var(--bad)}
.verification.not-checked{background:#fff8e1;border-color:#e8d28a}
.verification.not-checked h2{color:var(--warn)}
nav ul{margin:4px 0;padding-left:20px}
.charts{display:flex;flex-wrap:wrap;gap:12px 24px}
figure{margin:0 0 8px;max-width:100%}
figcaption{color:var(--muted);font-size:12px;max-width:760px}
svg.chart{display:block;max-width:100%;height:auto;border:1px solid var(--line);
  border-radius:4px;background:#fff}
details summary{cursor:pointer;color:#0b4f8a;margin:6px 0}
footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--line);color:var(--muted);
  font-size:12px}
@media print{
  body{background:#fff}
  main{padding:0;max-width:none}
  section.run{break-before:page}
}
)css";

// The tree head covering the most records (the last such in the file).
const v1::AuditTreeHead* LatestTreeHead(const std::vector<v1::AuditTreeHead>& heads) {
  const v1::AuditTreeHead* latest = nullptr;
  for (const v1::AuditTreeHead& h : heads) {
    if (latest == nullptr || h.tree_size() >= latest->tree_size()) latest = &h;
  }
  return latest;
}

std::string Fact(const std::string& name, const std::string& value_html) {
  return absl::StrCat("<dt>", HtmlEscape(name), "</dt><dd>", value_html, "</dd>\n");
}

std::string Header(const AuditLogView& view, const std::vector<v1::AuditTreeHead>& heads,
                   const ReportOptions& options) {
  const std::string consortium =
      !options.consortium.empty() ? options.consortium : absl::StrJoin(view.consortia, ", ");
  std::string html = absl::StrCat(
      "<header id=\"report-header\">\n<h1>", HtmlEscape(options.title), "</h1>\n",
      "<p class=\"subtitle\">Tverr federated learning \xC2\xB7 audit log of consortium <strong>",
      consortium.empty() ? "(not named in the log)" : HtmlEscape(consortium),
      "</strong> \xC2\xB7 all times UTC</p>\n<dl class=\"facts\" id=\"log-facts\">\n");

  std::string coordinator = options.coordinator.empty() ? "" : HtmlEscape(options.coordinator);
  int starts = 0;
  const v1::AuditRecord* last_start = nullptr;
  for (const v1::AuditRecord& r : view.administration) {
    if (r.event() != v1::COORDINATOR_STARTED) continue;
    ++starts;
    last_start = &r;
  }
  if (last_start != nullptr) {
    absl::StrAppend(&coordinator, coordinator.empty() ? "" : " \xC2\xB7 ", "started ", starts,
                    starts == 1 ? " time" : " times", ", last at ", Time(last_start->time()));
    auto version = last_start->parameters().find("version");
    if (version != last_start->parameters().end()) {
      absl::StrAppend(&coordinator, " (version ", HtmlEscape(version->second), ")");
    }
  }
  html += Fact("Coordinator", coordinator.empty() ? Missing() : coordinator);
  if (!options.log_source.empty()) {
    html += Fact("Audit log", "<code>" + HtmlEscape(options.log_source) + "</code>");
  }
  std::string size = absl::StrCat(Count(view.record_count), " records");
  if (view.record_count > 0) {
    absl::StrAppend(&size, ", ", Time(view.first_time), " to ", Time(view.last_time));
  }
  html += Fact("Log size", size);
  html += Fact("Signed tree heads", Count(heads.size()));
  const v1::AuditTreeHead* latest = LatestTreeHead(heads);
  if (latest != nullptr) {
    html += Fact("Latest signed root", absl::StrCat("<code class=\"full-hash\" id=\"latest-root\">",
                                                    HtmlEscape(latest->root_sha256()),
                                                    "</code><br>over ", Count(latest->tree_size()),
                                                    " records, signed ", Time(latest->time())));
    html += Fact("Signing key id",
                 "<code class=\"full-hash\">" + HtmlEscape(latest->key_id()) + "</code>");
    if (latest->tree_size() < view.record_count) {
      const uint64_t unsigned_records = view.record_count - latest->tree_size();
      html += Fact("Not yet signed", absl::StrCat("<span class=\"warn\">", Count(unsigned_records),
                                                  unsigned_records == 1 ? " record" : " records",
                                                  " after the latest signed tree head</span>"));
    } else if (latest->tree_size() > view.record_count) {
      html += Fact("Missing records",
                   absl::StrCat("<span class=\"bad\">the latest tree head covers ",
                                Count(latest->tree_size()), " records but the log holds ",
                                Count(view.record_count), "</span>"));
    }
  } else {
    html += Fact("Latest signed root", "<span class=\"warn\">no signed tree head</span>");
  }
  if (!view.misplaced_sequences.empty()) {
    std::vector<std::string> seqs;
    for (uint64_t s : view.misplaced_sequences) seqs.push_back(absl::StrCat(s));
    html += Fact("Sequence numbers",
                 "<span class=\"bad\">out of place: " + absl::StrJoin(seqs, ", ") + "</span>");
  }
  if (!options.generated_at.empty()) html += Fact("Report generated", Time(options.generated_at));
  html += "</dl>\n";

  const char* css = "not-checked";
  const char* verdict = "Not verified";
  std::string summary = options.verification_summary;
  switch (options.verification) {
    case AuditVerification::kVerified:
      css = "verified";
      verdict = "Verified: the log is intact and matches its signed tree heads";
      break;
    case AuditVerification::kFailed:
      css = "failed";
      verdict = "Verification FAILED: the log does not match its signed tree heads";
      break;
    case AuditVerification::kNotChecked:
      if (summary.empty()) {
        summary =
            "No audit public key was given, so the signatures and the Merkle tree were not "
            "checked. Run 'flctl audit verify --log DIR --audit_key KEY.pem', or pass "
            "--audit_key to 'flctl audit report'.";
      }
      break;
  }
  absl::StrAppend(&html, "<div id=\"verification\" class=\"verification ", css, "\">\n<h2>",
                  verdict, "</h2>\n", summary.empty() ? "" : "<p>" + HtmlEscape(summary) + "</p>\n",
                  "</div>\n</header>\n");
  return html;
}

std::string Contents(const AuditLogView& view) {
  std::string html = "<nav id=\"runs\">\n<h2>Runs</h2>\n";
  if (view.runs.empty()) return html + "<p class=\"muted\">No runs in this log.</p>\n</nav>\n";
  html += "<ul>\n";
  for (const AuditRunView& run : view.runs) {
    size_t committed = 0;
    for (const AuditRoundView& r : run.rounds) committed += r.committed_time.empty() ? 0 : 1;
    const std::string name = FindAuditParameter(run.parameters, {"name", "run_name"}).value_or("");
    absl::StrAppend(&html, "<li><a href=\"#run-", report::RunAnchor(run.run_id), "\"><code>",
                    HtmlEscape(run.run_id.substr(0, 16)), "</code></a>",
                    name.empty() ? "" : " " + HtmlEscape(name), " \xE2\x80\x94 ",
                    report::RunState(run), ", ", committed, " round(s) committed</li>\n");
  }
  return html +
         "<li><a href=\"#security-events\">Security events</a></li>\n"
         "<li><a href=\"#administration\">Administration</a></li>\n"
         "<li><a href=\"#tree-heads\">Signed tree heads</a></li>\n</ul>\n</nav>\n";
}

std::string RecordTable(const std::vector<v1::AuditRecord>& records, const char* row_class) {
  std::string html =
      "<table>\n<thead><tr><th>Record</th><th>When (UTC)</th><th>Event</th><th>Who</th>"
      "<th>Certificate</th><th>Run</th><th>Round</th><th>Outcome</th><th>Reason and details"
      "</th></tr></thead>\n<tbody>\n";
  for (const v1::AuditRecord& r : records) {
    std::string details = r.reason().empty() ? "" : HtmlEscape(r.reason());
    std::vector<std::string> extra;
    for (const std::string& n : r.nodes()) extra.push_back(Identity(n));
    if (!extra.empty()) {
      absl::StrAppend(&details, details.empty() ? "" : "<br>",
                      "<span class=\"muted\">nodes:</span> ", absl::StrJoin(extra, ", "));
    }
    std::map<std::string, std::string> params(r.parameters().begin(), r.parameters().end());
    for (const auto& [key, value] : params) {
      absl::StrAppend(&details, details.empty() ? "" : "<br>", "<code>", HtmlEscape(key),
                      "</code> = ", HtmlEscape(value));
    }
    absl::StrAppend(
        &html, "<tr class=\"", row_class, "\"><td>#", r.sequence(), "</td><td>", Time(r.time()),
        "</td><td>", Event(r.event()), "</td><td>", Identity(r.actor().identity()), "</td><td>",
        Hash(r.actor().certificate_sha256()), "</td><td>", Hash(r.run_id()), "</td><td>",
        r.round() == 0 ? Missing() : absl::StrCat(r.round()), "</td><td>", Outcome(r.outcome()),
        "</td><td>", details.empty() ? Missing() : details, "</td></tr>\n");
  }
  return html + "</tbody></table>\n";
}

std::string SecurityEvents(const AuditLogView& view) {
  std::string html =
      "<section id=\"security-events\">\n<h2>Security events</h2>\n<p class=\"muted\">"
      "Failed authentication and authorisation, jobs refused by hospitals, updates the "
      "coordinator rejected, and every other refusal.</p>\n";
  if (view.security_events.empty()) {
    return html + "<p>No security events were recorded.</p>\n</section>\n";
  }
  return html + RecordTable(view.security_events, "security-row") + "</section>\n";
}

std::string Administration(const AuditLogView& view) {
  std::string html =
      "<section id=\"administration\">\n<h2>Administration</h2>\n<p class=\"muted\">"
      "Coordinator starts, configuration changes, and nodes joining and leaving (with their "
      "certificates).</p>\n";
  if (view.administration.empty()) {
    return html + "<p>No administration events were recorded.</p>\n</section>\n";
  }
  return html + RecordTable(view.administration, "admin-row") + "</section>\n";
}

std::string TreeHeads(const std::vector<v1::AuditTreeHead>& heads) {
  std::string html = "<section id=\"tree-heads\">\n<h2>Signed tree heads</h2>\n";
  if (heads.empty()) {
    return html + "<p class=\"warn\">The log has no signed tree heads.</p>\n</section>\n";
  }
  absl::StrAppend(&html, "<details><summary>All ", heads.size(),
                  " signed tree heads (the receipts nodes hold)</summary>\n<table "
                  "class=\"tree-heads\">\n<thead><tr><th>Records</th><th>Signed (UTC)</th>"
                  "<th>Run</th><th>Round</th><th>Root (SHA-256)</th><th>Key id</th>"
                  "<th>Signature</th></tr></thead>\n<tbody>\n");
  for (const v1::AuditTreeHead& h : heads) {
    absl::StrAppend(&html, "<tr class=\"tree-head-row\"><td>", h.tree_size(), "</td><td>",
                    Time(h.time()), "</td><td>", Hash(h.run_id()), "</td><td>",
                    h.round() == 0 ? Missing() : absl::StrCat(h.round()), "</td><td>",
                    Hash(h.root_sha256()), "</td><td>", Hash(h.key_id()), "</td><td>",
                    Hash(h.signature()), "</td></tr>\n");
  }
  return html + "</tbody></table></details>\n</section>\n";
}

}  // namespace

std::string RenderAuditReport(const std::vector<v1::AuditRecord>& records,
                              const std::vector<v1::AuditTreeHead>& tree_heads,
                              const ReportOptions& options) {
  const AuditLogView view = BuildAuditLogView(records, tree_heads);
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"flctl audit report\">\n<title>",
      HtmlEscape(options.title));
  const std::string consortium =
      !options.consortium.empty() ? options.consortium : absl::StrJoin(view.consortia, ", ");
  if (!consortium.empty()) absl::StrAppend(&html, " \xE2\x80\x94 ", HtmlEscape(consortium));
  absl::StrAppend(&html, "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<main>\n");
  html += Header(view, tree_heads, options);
  html += Contents(view);
  for (const AuditRunView& run : view.runs) html += report::RenderRunSection(run);
  html += SecurityEvents(view);
  html += Administration(view);
  html += TreeHeads(tree_heads);
  html +=
      "<footer>This report is a reading of the audit log. Only a successful verification "
      "(above, or 'flctl audit verify') shows that the records are complete and unaltered: "
      "each record is a leaf of an RFC 6962 Merkle tree whose roots the coordinator signed "
      "with Ed25519 and gave to the hospitals as receipts. Records hold identifiers and "
      "hashes only, never patient data.</footer>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace tverr::flctl
