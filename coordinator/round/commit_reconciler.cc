#include "coordinator/round/commit_reconciler.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/record_json.h"
#include "common/status/status_macros.h"
#include "coordinator/round/round_audit.h"
#include "coordinator/round/round_summary.h"

namespace tverr::coordinator {
namespace {

// (run id, round) of every AGGREGATE_COMMITTED record in the log.
absl::StatusOr<std::set<std::pair<std::string, uint64_t>>> CommittedInLog(
    const audit::AuditLog& log) {
  std::set<std::pair<std::string, uint64_t>> out;
  constexpr uint64_t kBatch = 4096;
  for (uint64_t start = 0; start < log.durable_size(); start += kBatch) {
    ASSIGN_OR_RETURN(std::vector<std::string> lines, log.Read(start, kBatch));
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::StatusOr<v1::AuditRecord> record = audit::ParseCanonicalRecord(lines[i]);
      if (!record.ok()) {
        return absl::DataLossError(absl::StrCat(
            "audit record ", start + i, " in ", log.dir(), " does not parse (",
            record.status().message(), "); check the log with `flctl audit verify --log ",
            log.dir(), "`"));
      }
      if (record->event() == v1::AGGREGATE_COMMITTED) {
        out.emplace(record->run_id(), record->round());
      }
    }
    if (lines.empty()) break;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ReconciledRound>> RecordMissingCommits(RunStore& runs,
                                                                  audit::AuditLog& log) {
  ASSIGN_OR_RETURN(std::vector<StoredRun> stored, runs.List());
  std::vector<ReconciledRound> recorded;
  std::set<std::pair<std::string, uint64_t>> in_log;
  bool scanned = false;
  for (const StoredRun& run : stored) {
    if (run.committed_round == 0) continue;
    if (!scanned) {
      ASSIGN_OR_RETURN(in_log, CommittedInLog(log));
      scanned = true;
    }
    ASSIGN_OR_RETURN(std::vector<v1::RoundSummary> rounds, runs.Rounds(run.run_id));
    if (rounds.empty() || rounds.back().round() != run.committed_round) {
      return absl::DataLossError(absl::StrCat("run ", run.run_id, " has committed round ",
                                              run.committed_round,
                                              " but the store holds no row for it"));
    }
    std::string before = run.initial_weights_sha256;
    for (const v1::RoundSummary& summary : rounds) {
      const std::string after = summary.global_sha256();
      if (in_log.count({run.run_id, summary.round()})) {
        before = after;
        continue;
      }
      const RoundRecord r = FromRoundSummary(run.run_id, summary);
      v1::AuditRecord record = round_audit::AggregateCommitted(
          run.run_id, r.round, before, r.global_sha256, r.contributors, r.samples, run.spec,
          r.evaluated, r.pooled_accuracy, r.evaluations);
      (*record.mutable_parameters())["recorded_at_start"] = "true";
      RETURN_IF_ERROR(log.AppendDurable(std::move(record)).status());
      recorded.push_back({run.run_id, r.round});
      before = after;
    }
  }
  return recorded;
}

}  // namespace tverr::coordinator
