// `flctl audit`: the auditor's tools, run offline on a copy of an audit log
// directory (records.jsonl, tree-heads.jsonl): `show` lists records with
// filters, `report` writes a self-contained HTML report, `verify` checks the
// log against its signed tree heads.
#ifndef TVERR_COORDINATOR_FLCTL_AUDIT_COMMAND_H_
#define TVERR_COORDINATOR_FLCTL_AUDIT_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "tverr/v1/audit.pb.h"

namespace tverr::flctl {

// Exit code: 0 success (for verify: the log verifies), 1 failure (message
// on `err`; for verify: the log does not verify), 2 usage.
int RunAuditCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The column heading and one line of `flctl audit show --format text`
// (exposed for tests): sequence, time, event, actor, run id prefix, round,
// outcome, then reason, nodes, sizes and hashes shortened to 12 characters.
std::string FormatAuditShowHeader();
std::string FormatAuditShowLine(const v1::AuditRecord& record);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_AUDIT_COMMAND_H_
