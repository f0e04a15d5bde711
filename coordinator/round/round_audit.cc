#include "coordinator/round/round_audit.h"

#include "absl/strings/str_cat.h"

namespace tverr::coordinator::round_audit {
namespace {

v1::AuditRecord Base(v1::AuditEvent event, const std::string& actor, const std::string& run_id,
                     uint64_t round) {
  v1::AuditRecord r;
  r.set_event(event);
  r.mutable_actor()->set_identity(actor);
  r.set_run_id(run_id);
  r.set_round(round);
  r.set_outcome(v1::SUCCESS);
  return r;
}

void Nodes(const std::vector<std::string>& nodes, v1::AuditRecord* r) {
  for (const std::string& n : nodes) r->add_nodes(n);
}

}  // namespace

v1::AuditRecord PrivacyParameters(const std::string& run_id, const v1::RunSpec& spec) {
  v1::AuditRecord r = Base(v1::PRIVACY_PARAMETERS, kCoordinator, run_id, 0);
  r.mutable_hashes()->set_run_spec(run_id);
  r.mutable_hashes()->set_artifact(spec.artifact_sha256());
  auto& p = *r.mutable_parameters();
  p["strategy"] = v1::AggregationSpec::Strategy_Name(spec.aggregation().strategy());
  p["server_learning_rate"] = absl::StrCat(spec.aggregation().server_learning_rate());
  p["rounds"] = absl::StrCat(spec.rounds().rounds());
  p["min_nodes"] = absl::StrCat(spec.rounds().min_nodes());
  p["secure_aggregation"] = spec.secure_aggregation() ? "true" : "false";
  if (spec.secure_aggregation()) {
    p["secure.threshold_fraction"] = absl::StrCat(spec.secure().threshold_fraction());
    p["secure.clip"] = absl::StrCat(spec.secure().clip());
    p["secure.bits"] = absl::StrCat(spec.secure().bits());
    p["secure.max_nodes"] = absl::StrCat(spec.secure().max_nodes());
  }
  p["fedprox_mu"] = absl::StrCat(spec.local().fedprox_mu());
  return r;
}

v1::AuditRecord RoundOpened(const std::string& run_id, uint64_t round,
                            const std::vector<std::string>& participants,
                            const std::string& global_sha256, uint32_t secure_threshold) {
  v1::AuditRecord r = Base(v1::ROUND_OPENED, kCoordinator, run_id, round);
  r.mutable_hashes()->set_run_spec(run_id);
  r.mutable_hashes()->set_global_before(global_sha256);
  Nodes(participants, &r);
  if (secure_threshold > 0) {
    (*r.mutable_parameters())["secure.threshold"] = absl::StrCat(secure_threshold);
  }
  return r;
}

v1::AuditRecord NodeDropped(const std::string& run_id, uint64_t round, const std::string& node,
                            const std::string& reason) {
  v1::AuditRecord r = Base(v1::NODE_DROPPED, kCoordinator, run_id, round);
  r.add_nodes(node);
  r.set_reason(reason);
  return r;
}

v1::AuditRecord UpdateAccepted(const std::string& run_id, uint64_t round, const std::string& node,
                               uint64_t bytes, const std::string& sha256, bool masked) {
  v1::AuditRecord r = Base(v1::UPDATE_ACCEPTED, node, run_id, round);
  r.add_nodes(node);
  r.set_bytes(bytes);
  r.mutable_hashes()->set_update(sha256);
  (*r.mutable_parameters())["kind"] = masked ? "masked_input" : "weight_update";
  return r;
}

v1::AuditRecord UpdateRejected(const std::string& run_id, uint64_t round, const std::string& node,
                               const std::string& reason) {
  v1::AuditRecord r = Base(v1::UPDATE_REJECTED, node, run_id, round);
  r.add_nodes(node);
  r.set_outcome(v1::REFUSED);
  r.set_reason(reason);
  return r;
}

v1::AuditRecord SecureSession(const std::string& run_id, uint64_t round,
                              const std::string& session_id, uint32_t threshold,
                              const std::vector<std::string>& contributors, uint64_t samples) {
  v1::AuditRecord r = Base(v1::SECURE_SESSION, kCoordinator, run_id, round);
  r.mutable_hashes()->set_secure_session(session_id);
  Nodes(contributors, &r);
  r.set_samples(samples);
  (*r.mutable_parameters())["secure.threshold"] = absl::StrCat(threshold);
  return r;
}

v1::AuditRecord EvaluationReported(const std::string& run_id, uint64_t round,
                                   const std::string& node, const v1::EvaluationReport& report) {
  v1::AuditRecord r = Base(v1::EVALUATION_REPORTED, node, run_id, round);
  v1::AuditSiteMetrics* m = r.add_metrics();
  m->set_site(node);
  m->set_samples(report.samples());
  m->set_accuracy(report.accuracy());
  m->set_loss(report.loss());
  return r;
}

v1::AuditRecord AggregateCommitted(const std::string& run_id, uint64_t round,
                                   const std::string& global_before,
                                   const std::string& global_after,
                                   const std::vector<std::string>& contributors, uint64_t samples,
                                   const v1::RunSpec& spec, bool evaluated,
                                   double pooled_accuracy,
                                   const std::map<std::string, v1::EvaluationReport>& sites) {
  v1::AuditRecord r = Base(v1::AGGREGATE_COMMITTED, kCoordinator, run_id, round);
  r.mutable_hashes()->set_run_spec(run_id);
  r.mutable_hashes()->set_global_before(global_before);
  r.mutable_hashes()->set_global_after(global_after);
  Nodes(contributors, &r);
  r.set_samples(samples);
  auto& p = *r.mutable_parameters();
  p["strategy"] = v1::AggregationSpec::Strategy_Name(spec.aggregation().strategy());
  p["server_learning_rate"] = absl::StrCat(spec.aggregation().server_learning_rate());
  p["secure_aggregation"] = spec.secure_aggregation() ? "true" : "false";
  if (evaluated) p["pooled_accuracy"] = absl::StrCat(pooled_accuracy);
  for (const auto& [site, e] : sites) {
    v1::AuditSiteMetrics* m = r.add_metrics();
    m->set_site(site);
    m->set_samples(e.samples());
    m->set_accuracy(e.accuracy());
    m->set_loss(e.loss());
  }
  return r;
}

v1::AuditRecord RoundFailed(const std::string& run_id, uint64_t round, const std::string& reason) {
  v1::AuditRecord r = Base(v1::ROUND_FAILED, kCoordinator, run_id, round);
  r.set_outcome(v1::FAILURE);
  r.set_reason(reason);
  return r;
}

v1::AuditRecord RunEnded(const std::string& run_id, const std::string& state,
                         const std::string& failure) {
  v1::AuditRecord r = Base(state == "completed" ? v1::RUN_COMPLETED : v1::RUN_FAILED,
                           kCoordinator, run_id, 0);
  r.mutable_hashes()->set_run_spec(run_id);
  if (state != "completed") {
    r.set_outcome(v1::FAILURE);
    r.set_reason(failure);
  }
  return r;
}

}  // namespace tverr::coordinator::round_audit
