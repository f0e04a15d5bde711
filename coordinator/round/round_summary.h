// A committed round as researchers and the run store see it: the round
// manager's RoundRecord to and from v1::RoundSummary (researcher.proto), the
// one form that is sent to flctl and kept in SQLite, so that a restarted
// coordinator still reports every round's per-site metrics and timings.
#ifndef TVERR_COORDINATOR_ROUND_ROUND_SUMMARY_H_
#define TVERR_COORDINATOR_ROUND_ROUND_SUMMARY_H_

#include <string>

#include "coordinator/round/round_manager.h"
#include "tverr/v1/researcher.pb.h"

namespace tverr::coordinator {

// Sites sorted by identity; dropped nodes as "identity: reason".
v1::RoundSummary ToRoundSummary(const RoundRecord& record);

// The inverse of ToRoundSummary for the round of run `run_id` (the
// evaluation reports get the run id and round back). A dropped entry
// without ": " keeps the whole text as the identity, with no reason.
RoundRecord FromRoundSummary(const std::string& run_id, const v1::RoundSummary& summary);

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_ROUND_ROUND_SUMMARY_H_
