// Builds the Aggregator a run's AggregationSpec asks for, after validating
// the spec's parameters once. Unset (zero) fields take the documented
// defaults, the same as WithDefaults in coordinator/runs: strategy FEDAVG,
// server_learning_rate 1.0 (0.01 for FEDADAM, FEDYOGI and FEDADAGRAD),
// server_momentum 0.9, server_beta2 0.99,
// server_tau 1e-3, trim_fraction 0.
//
// Which parameters each strategy uses (the others are range-checked but
// ignored, since run specs carry every default whatever the strategy):
//   FEDAVG, COORDINATE_MEDIAN    server_learning_rate
//   FEDAVGM                      server_learning_rate, server_momentum
//   FEDADAGRAD                   server_learning_rate, server_momentum (β1),
//                                server_tau
//   FEDADAM, FEDYOGI             server_learning_rate, server_momentum (β1),
//                                server_beta2, server_tau
//   TRIMMED_MEAN                 server_learning_rate, trim_fraction
// Whether a robust rule is allowed (never with secure aggregation) is the
// run validation's decision (ValidateRunSpec), not this factory's.
// Thread-safe.
#ifndef TVERR_COORDINATOR_AGGREGATION_AGGREGATOR_FACTORY_H_
#define TVERR_COORDINATOR_AGGREGATION_AGGREGATOR_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/server_optimizer.h"
#include "tverr/v1/run.pb.h"

namespace tverr::coordinator {

// `state`: the run's server optimizer state (checkpointed by the caller and
// updated by each successful Finish()); required for FEDAVGM, FEDADAGRAD,
// FEDADAM and FEDYOGI, ignored otherwise; must outlive the aggregator.
// INVALID_ARGUMENT: unknown strategy, a parameter out of range (η > 0;
// momentum, β2 in [0, 1); τ > 0; trim_fraction in [0, 0.5); all finite), or
// a missing state.
// The server step of a mean rule (FEDAVG and the server optimizers), for
// sums computed elsewhere (secure aggregation). INVALID_ARGUMENT for the
// robust rules and for parameters out of range (as MakeAggregator).
absl::StatusOr<ServerOptimizerParams> ServerOptimizerParamsFor(const v1::AggregationSpec& spec);

absl::StatusOr<std::unique_ptr<Aggregator>> MakeAggregator(const v1::AggregationSpec& spec,
                                                           ServerOptimizerState* state);

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_AGGREGATION_AGGREGATOR_FACTORY_H_
