// A run's spec: defaults, validation and identity. A run is identified by
// the SHA-256 of its spec and its model artifact, so the same spec with the
// same model is the same run, and any change makes a new one. Pure
// functions; thread-safe.
#ifndef TVERR_COORDINATOR_RUNS_RUN_SPEC_H_
#define TVERR_COORDINATOR_RUNS_RUN_SPEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "tverr/v1/run.pb.h"

namespace tverr::coordinator {

// Fills documented defaults (optimizer betas/epsilon, server optimizer
// parameters, phase deadline, split fractions 0.8/0.1/0.1).
v1::RunSpec WithDefaults(v1::RunSpec spec);

// Checks a spec (after WithDefaults). INVALID_ARGUMENT listing every
// problem as "field 'x.y': problem", for example a robust aggregation rule
// in a secure run, or both local_epochs and local_steps set.
absl::Status ValidateRunSpec(const v1::RunSpec& spec);

// The run's id (see common/runs/run_id.h, shared with the node).
absl::StatusOr<std::string> RunId(const v1::RunSpec& spec);

// Parses a textproto spec; errors name line and column.
absl::StatusOr<v1::RunSpec> ParseRunSpec(const std::string& textproto);

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_RUNS_RUN_SPEC_H_
