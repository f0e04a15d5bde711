// A small synthetic audit log for the auditor's tools' tests: consortium
// "nordic", one run of 3 rounds at 3 hospital nodes (oslo, bergen, tromso)
// with secure aggregation, a rejected update (round 2, bergen, with HTML in
// its reason), a dropout (round 3, tromso), a paused and continued run,
// authentication and authorisation failures, a refused job, per-site and
// pooled metrics, and a signed tree head after each round.
#ifndef TVERR_TESTS_COORDINATOR_FLCTL_AUDIT_TEST_LOG_H_
#define TVERR_TESTS_COORDINATOR_FLCTL_AUDIT_TEST_LOG_H_

#include <string>
#include <vector>

#include "tverr/v1/audit.pb.h"

namespace tverr::flctl::testing {

inline constexpr char kTestRunId[] =
    "3f2a9c1b7d0e4a5f8b6c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
inline constexpr char kOslo[] = "fl://nordic/node/oslo";
inline constexpr char kBergen[] = "fl://nordic/node/bergen";
inline constexpr char kTromso[] = "fl://nordic/node/tromso";
inline constexpr char kAlice[] = "fl://nordic/researcher/alice";
// The reason of bergen's rejected update in round 2: text that must be
// escaped in HTML.
inline constexpr char kRejectReason[] =
    "update longer than the model <script>alert(\"x\")</script> & co";

struct TestAuditLog {
  std::vector<v1::AuditRecord> records;
  std::vector<v1::AuditTreeHead> tree_heads;
};

// The log described above; sequence numbers are positions.
TestAuditLog MakeTestAuditLog();

// The global model hash after round `round` (round 0: the initial model).
std::string TestModelHash(int round);
// The secure session id of round `round`.
std::string TestSessionId(int round);

// One canonical JSON line per message (proto field names), as common/audit
// writes them.
std::string ToJsonLines(const std::vector<v1::AuditRecord>& records);
std::string ToJsonLines(const std::vector<v1::AuditTreeHead>& heads);

// Writes `dir`/records.jsonl and `dir`/tree-heads.jsonl (creating `dir`).
void WriteTestAuditLog(const std::string& dir, const TestAuditLog& log);

}  // namespace tverr::flctl::testing

#endif  // TVERR_TESTS_COORDINATOR_FLCTL_AUDIT_TEST_LOG_H_
