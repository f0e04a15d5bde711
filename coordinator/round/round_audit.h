// The audit records of a run's rounds (v1::AuditRecord, audit.proto), built
// from what the round manager knows: identifiers, hashes, counts and
// reasons only. Sequence, chain and time are filled in by the log.
#ifndef TVERR_COORDINATOR_ROUND_ROUND_AUDIT_H_
#define TVERR_COORDINATOR_ROUND_ROUND_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tverr/v1/audit.pb.h"
#include "tverr/v1/node.pb.h"
#include "tverr/v1/run.pb.h"

namespace tverr::coordinator::round_audit {

// The actor of the coordinator's own decisions.
inline constexpr char kCoordinator[] = "coordinator";

// The run's strategy and privacy settings (at its start).
v1::AuditRecord PrivacyParameters(const std::string& run_id, const v1::RunSpec& spec);
v1::AuditRecord RoundOpened(const std::string& run_id, uint64_t round,
                            const std::vector<std::string>& participants,
                            const std::string& global_sha256, uint32_t secure_threshold);
v1::AuditRecord NodeDropped(const std::string& run_id, uint64_t round, const std::string& node,
                            const std::string& reason);
v1::AuditRecord UpdateAccepted(const std::string& run_id, uint64_t round, const std::string& node,
                               uint64_t bytes, const std::string& sha256, bool masked);
v1::AuditRecord UpdateRejected(const std::string& run_id, uint64_t round, const std::string& node,
                               const std::string& reason);
v1::AuditRecord SecureSession(const std::string& run_id, uint64_t round,
                              const std::string& session_id, uint32_t threshold,
                              const std::vector<std::string>& contributors, uint64_t samples);
v1::AuditRecord EvaluationReported(const std::string& run_id, uint64_t round,
                                   const std::string& node, const v1::EvaluationReport& report);
v1::AuditRecord AggregateCommitted(const std::string& run_id, uint64_t round,
                                   const std::string& global_before,
                                   const std::string& global_after,
                                   const std::vector<std::string>& contributors, uint64_t samples,
                                   const v1::RunSpec& spec, bool evaluated,
                                   double pooled_accuracy,
                                   const std::map<std::string, v1::EvaluationReport>& sites);
v1::AuditRecord RoundFailed(const std::string& run_id, uint64_t round, const std::string& reason);
// state "completed" or "failed".
v1::AuditRecord RunEnded(const std::string& run_id, const std::string& state,
                         const std::string& failure);

}  // namespace tverr::coordinator::round_audit

#endif  // TVERR_COORDINATOR_ROUND_ROUND_AUDIT_H_
