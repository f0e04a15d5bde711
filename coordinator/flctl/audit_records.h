// Reading an audit log directory for the auditor's tools (`flctl audit`):
// records.jsonl (one AuditRecord per line) and tree-heads.jsonl (one
// AuditTreeHead per line), both as written by common/audit. Also the record
// filter behind `flctl audit show`.
//
// This reads and parses only; it checks nothing cryptographic (that is the
// verifier's job, common/audit/verifier.h). Pure functions, thread-compatible.
#ifndef TVERR_COORDINATOR_FLCTL_AUDIT_RECORDS_H_
#define TVERR_COORDINATOR_FLCTL_AUDIT_RECORDS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::flctl {

// File names inside a log directory.
inline constexpr char kAuditRecordsFile[] = "records.jsonl";
inline constexpr char kAuditTreeHeadsFile[] = "tree-heads.jsonl";

struct AuditLogContents {
  std::vector<v1::AuditRecord> records;       // in file order
  std::vector<std::string> record_lines;      // records[i]'s line as stored, no newline
  std::vector<v1::AuditTreeHead> tree_heads;  // in file order
};

// Parses JSON Lines text, one message per line. A final empty line (the
// newline after the last record) is allowed; any other line that is empty or
// does not parse as the message is INVALID_ARGUMENT
// "<source_name> line <n>: <why>" (n counts from 1).
absl::StatusOr<std::vector<v1::AuditRecord>> ParseAuditRecords(absl::string_view text,
                                                               absl::string_view source_name);
absl::StatusOr<std::vector<v1::AuditTreeHead>> ParseAuditTreeHeads(absl::string_view text,
                                                                   absl::string_view source_name);

// Loads `dir`/records.jsonl and `dir`/tree-heads.jsonl. NOT_FOUND when the
// directory or records.jsonl is missing; a missing tree-heads.jsonl is an
// empty list (a log in which no round has been committed yet). Parse errors
// as above, naming the file.
absl::StatusOr<AuditLogContents> LoadAuditLog(const std::string& dir);

// Which records `flctl audit show` prints. Every set criterion must hold.
struct AuditFilter {
  // Records whose run_id starts with this (case-insensitive hex).
  // Default: "" (any run, and records of no run).
  std::string run_prefix;
  // Records of this round. Default: unset (any round).
  std::optional<uint64_t> round;
  // Records whose actor identity or one of whose `nodes` contains this
  // substring (e.g. "oslo" or "fl://nordic/node/oslo"). Default: "" (any).
  std::string node;
  // Records with one of these events. Default: empty (any event).
  std::set<v1::AuditEvent> events;
};

// Event names as in audit.proto ("RUN_CREATED"), case-insensitive.
// INVALID_ARGUMENT naming the first unknown name.
absl::StatusOr<std::set<v1::AuditEvent>> ParseAuditEventNames(
    const std::vector<std::string>& names);

bool MatchesAuditFilter(const AuditFilter& filter, const v1::AuditRecord& record);

// The records matching `filter`, in log order.
std::vector<v1::AuditRecord> FilterAuditRecords(const std::vector<v1::AuditRecord>& records,
                                                const AuditFilter& filter);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_AUDIT_RECORDS_H_
