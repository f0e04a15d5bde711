// The identity of a run, shared by coordinator and node: the node checks a
// task's run against its approved list with the same function the
// coordinator named the run with. Pure; thread-safe.
#ifndef TVERR_COMMON_RUNS_RUN_ID_H_
#define TVERR_COMMON_RUNS_RUN_ID_H_

#include <string>

#include "absl/status/statusor.h"
#include "tverr/v1/run.pb.h"

namespace tverr::runs {

// Lower-case hex SHA-256 over "tverr-run v1\n", the spec's deterministic
// serialization with artifact_path cleared (where the researcher kept the
// file is not part of the run), and the artifact's SHA-256.
// INVALID_ARGUMENT if artifact_sha256 is not 64 lower-case hex characters.
absl::StatusOr<std::string> RunId(const v1::RunSpec& spec);

// True for 64 lower-case hex characters.
bool IsHexDigest(absl::string_view s);

}  // namespace tverr::runs

#endif  // TVERR_COMMON_RUNS_RUN_ID_H_
