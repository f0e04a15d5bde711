// Pieces of the audit report's HTML shared by audit_report.cc (the page)
// and audit_report_run.cc (one run's section). Internal to flctl. Every
// function returns HTML with all record text escaped.
#ifndef TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_PARTS_H_
#define TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_PARTS_H_

#include <string>

#include "coordinator/flctl/audit_report_model.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::flctl::report {

// "-" in a muted span, for a value the log does not hold.
std::string Missing();
// A hash: its first 12 hex characters, the whole hash as the tooltip.
std::string Hash(const std::string& hex);
// An identity: "oslo" for fl://c/node/oslo, "alice (researcher)" for other
// roles, else as is; the whole identity as the tooltip.
std::string Identity(const std::string& identity);
// The short form Identity shows, as plain text.
std::string ShortIdentity(const std::string& identity);
// An RFC 3339 time as "2026-11-26 15:04:05.123" (UTC, said in the header).
std::string Time(const std::string& rfc3339);
// "Run created" for RUN_CREATED, the enum name as the tooltip.
std::string Event(v1::AuditEvent event);
// "success" / "failure" / "refused" as a coloured tag.
std::string Outcome(v1::AuditOutcome outcome);
// A fraction as a percentage, "82.4 %".
std::string Percent(double fraction);
// Digits grouped by thin spaces: 1 234 567.
std::string Count(uint64_t n);

// The section of one run (section.run).
std::string RenderRunSection(const AuditRunView& run);
// The HTML id suffix of a run: its first 16 characters, made id-safe.
std::string RunAnchor(const std::string& run_id);
// A run's state from its last lifecycle event ("created", "running", ...).
std::string RunState(const AuditRunView& run);

}  // namespace tverr::flctl::report

#endif  // TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_PARTS_H_
