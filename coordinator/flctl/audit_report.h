// `flctl audit report`'s output: one self-contained HTML file (inline CSS
// and SVG, no script, no external resources) that shows an auditor what
// happened in every run and round of an audit log.
//
// Elements a reader or test can find (RUN is the run id's first 16 hex
// characters, so ids stay unique with several runs):
//   #report-header, #verification (class verified | failed | not-checked),
//   #runs (the contents), section.run#run-RUN,
//   table.lifecycle, table.parameters, dl.key-facts,
//   table.rounds#rounds-RUN with tr.round-row (data-round="N"),
//   svg.accuracy-chart#accuracy-chart-RUN, svg.site-chart#site-chart-RUN,
//   table.site-metrics#site-metrics-RUN,
//   #security-events (tr.security-row), #administration, #tree-heads.
// Pure function of its arguments (the caller passes the time and the
// verification result); thread-compatible.
#ifndef TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_H_
#define TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_H_

#include <string>
#include <vector>

#include "tverr/v1/audit.pb.h"

namespace tverr::flctl {

enum class AuditVerification {
  kNotChecked,  // no audit key given: nothing was verified
  kVerified,    // the verifier accepted the log and its tree heads
  kFailed,      // the verifier rejected the log
};

struct ReportOptions {
  // The report's heading and <title>. Default: "Audit report".
  std::string title = "Audit report";
  // Consortium name. Default: "" (taken from fl://<consortium>/ identities).
  std::string consortium;
  // Coordinator address or name, when the caller knows it. Default: "".
  std::string coordinator;
  // Where the log was read from (a directory), shown as is. Default: "".
  std::string log_source;
  // When the report was made, UTC, RFC 3339. Default: "" (not shown).
  std::string generated_at;
  // The verifier's verdict and its summary (what was checked, or the first
  // bad record). Default: not checked.
  AuditVerification verification = AuditVerification::kNotChecked;
  std::string verification_summary;
};

// Renders the report. `records` and `tree_heads` in log order (as loaded by
// LoadAuditLog). Never fails: records it cannot place are still listed in
// the tables they belong to, and missing pieces show as "-".
std::string RenderAuditReport(const std::vector<v1::AuditRecord>& records,
                              const std::vector<v1::AuditTreeHead>& tree_heads,
                              const ReportOptions& options);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_H_
