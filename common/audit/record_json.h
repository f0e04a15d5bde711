// The canonical JSON line of an audit record or tree head (docs/audit.md).
//
// Canonical form: protobuf's proto3 JSON mapping with the proto field names,
// fields in field-number order, default values omitted, enums by name,
// 64-bit integers as strings, no whitespace, and map keys sorted by byte
// value (protobuf's plain MessageToJsonString emits map entries in hash
// order, so we print from a deterministic binary serialisation). The line
// holds no newline; the log adds one. A record's Merkle leaf is
// SHA-256(0x00 ‖ line), so every writer and reader must agree on these bytes.
//
// Parsing accepts exactly the lines that re-serialise to themselves: a line
// that is a valid record but not in canonical form (other whitespace, field
// order, camelCase names, unsorted map keys, a number written as a string,
// ...) is reported, never silently normalised.
//
// Thread-safe.
#ifndef TVERR_COMMON_AUDIT_RECORD_JSON_H_
#define TVERR_COMMON_AUDIT_RECORD_JSON_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::audit {

// AuditRecord.schema_version of the records this code writes and reads.
inline constexpr uint32_t kSchemaVersion = 1;

// The canonical line of `record`. A -0.0 metric is written as 0 (protobuf
// would print -0 and read it back as +0). INTERNAL only if protobuf fails to
// print (it does not for valid messages).
absl::StatusOr<std::string> RecordToJson(const v1::AuditRecord& record);

// Parses a stored line. INVALID_ARGUMENT if it is not a JSON AuditRecord
// (syntax, unknown field, wrong type); DATA_LOSS if it is one but the bytes
// are not its canonical form. Fast path for canonical lines (~µs); anything
// the fast path does not handle goes through protobuf's JSON parser.
absl::StatusOr<v1::AuditRecord> ParseCanonicalRecord(absl::string_view line);

// The same for tree heads (tree-heads.jsonl).
absl::StatusOr<std::string> TreeHeadToJson(const v1::AuditTreeHead& head);
absl::StatusOr<v1::AuditTreeHead> ParseCanonicalTreeHead(absl::string_view line);

}  // namespace tverr::audit

#endif  // TVERR_COMMON_AUDIT_RECORD_JSON_H_
