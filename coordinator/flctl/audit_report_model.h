// What the audit report shows, digested from the log's records: runs with
// their lifecycle, parameters and rounds (participants, contributors,
// dropouts, models, secure sessions, metrics), and the log-wide security and
// administration events. audit_report.cc renders it as HTML.
//
// Building the view trusts nothing: records may be missing, repeated or out
// of order (an altered log is exactly what an auditor looks for), and the
// view then shows what is there. Pure functions, thread-compatible.
#ifndef TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_MODEL_H_
#define TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tverr/v1/audit.pb.h"

namespace tverr::flctl {

// One thing that happened to a run, or a node's decision about it.
struct AuditRunEvent {
  v1::AuditEvent event = v1::AUDIT_EVENT_UNSPECIFIED;
  v1::AuditOutcome outcome = v1::AUDIT_OUTCOME_UNSPECIFIED;
  uint64_t sequence = 0;
  std::string actor;  // identity
  std::string time;
  std::string reason;
  std::string action;  // parameters["action"], e.g. "continued" for a RUN_STARTED
};

// A node named with why (a dropout, a rejected update).
struct AuditNodeReason {
  std::string node;
  std::string reason;
  std::string time;
};

struct AuditSiteResult {
  uint64_t samples = 0;
  double accuracy = 0;
  double loss = 0;
};

struct AuditRoundView {
  uint64_t round = 0;
  std::string opened_time;                // ROUND_OPENED
  std::vector<std::string> participants;  // ROUND_OPENED nodes
  // Nodes in the committed sum: the commit's nodes, else the secure
  // session's, else the senders of accepted updates.
  std::vector<std::string> contributors;
  std::vector<std::string> accepted;      // UPDATE_ACCEPTED actors
  std::vector<AuditNodeReason> dropouts;  // NODE_DROPPED
  std::vector<AuditNodeReason> rejected;  // UPDATE_REJECTED
  std::string global_before;
  std::string global_after;  // AGGREGATE_COMMITTED
  std::string secure_session;
  std::string secure_threshold;  // parameters["secure.threshold"]
  uint64_t samples = 0;          // examples in the aggregate
  std::string committed_time;    // AGGREGATE_COMMITTED
  std::string failed_time;       // ROUND_FAILED
  std::string failure_reason;
  // Per-site evaluation, keyed by site name (metrics' site, else the actor).
  std::map<std::string, AuditSiteResult> sites;
  // parameters["pooled_accuracy"] when recorded; else the samples-weighted
  // mean of the sites' accuracies (pooled_accuracy_computed = true).
  std::optional<double> pooled_accuracy;
  bool pooled_accuracy_computed = false;
  // PRIVACY_PARAMETERS recorded for this round (e.g. the round's epsilon).
  std::map<std::string, std::string> privacy;
  // The signed tree head that closes this round, if any.
  std::optional<v1::AuditTreeHead> tree_head;
  // False when global_before differs from the previous committed round's
  // global_after (for the first round: the run's initial model): the model
  // chain is broken.
  bool follows_previous = true;
  uint64_t previous_round = 0;  // the committed round compared with; 0: the initial model
};

struct AuditRunView {
  std::string run_id;
  std::string artifact;
  std::string initial_model;                  // RUN_CREATED's global_after: the initial weights
  std::vector<AuditRunEvent> lifecycle;       // RUN_* events, log order
  std::vector<AuditRunEvent> node_decisions;  // JOB_APPROVED / JOB_REFUSED
  // Run-level parameters: RUN_CREATED's, then run-level (round 0)
  // PRIVACY_PARAMETERS' (later values win).
  std::map<std::string, std::string> parameters;
  std::vector<AuditRoundView> rounds;  // by round number
  std::vector<std::string> sites;      // every site with metrics, sorted
};

struct AuditLogView {
  std::vector<AuditRunView> runs;  // by first appearance in the log
  // Authentication and authorisation failures, refused jobs, rejected
  // updates, and every other REFUSED outcome; log order.
  std::vector<v1::AuditRecord> security_events;
  // Coordinator starts, configuration changes, nodes joining and leaving.
  std::vector<v1::AuditRecord> administration;
  // Consortium names found in fl://<consortium>/... identities, sorted.
  std::vector<std::string> consortia;
  std::string first_time;  // of the first record
  std::string last_time;   // of the last record
  uint64_t record_count = 0;
  // Sequence numbers out of place (a record whose sequence is not its
  // position): the first few, for the header.
  std::vector<uint64_t> misplaced_sequences;
};

AuditLogView BuildAuditLogView(const std::vector<v1::AuditRecord>& records,
                               const std::vector<v1::AuditTreeHead>& tree_heads);

// Looks a parameter up by its name or by its last dotted component
// ("threshold" finds "secure.threshold"); the first of `names` present wins.
std::optional<std::string> FindAuditParameter(const std::map<std::string, std::string>& params,
                                              const std::vector<std::string>& names);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_AUDIT_REPORT_MODEL_H_
