// Loading and validating fl-coordinator's configuration (CoordinatorConfig
// in proto/tverr/v1/config.proto).
#ifndef TVERR_COORDINATOR_SERVER_COORDINATOR_CONFIG_H_
#define TVERR_COORDINATOR_SERVER_COORDINATOR_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "tverr/v1/config.pb.h"

namespace tverr::coordinator {

// Command-line values that replace config fields when non-empty.
struct CoordinatorOverrides {
  std::string listen_address;
  std::string state_dir;
  std::string log_level;
  std::string port_file;
};

// Reads `path`, applies `overrides` and defaults, resolves relative paths
// against the config file's directory, and validates. INVALID_ARGUMENT lists
// every problem as "<path>: field '<field>': <problem>".
absl::StatusOr<v1::CoordinatorConfig> LoadCoordinatorConfig(
    const std::string& path, const CoordinatorOverrides& overrides);

// Defaults and validation of an already parsed config (used by
// LoadCoordinatorConfig and by tests that build configs in code).
// `source` names the config in messages; `base_dir` resolves relative paths.
absl::StatusOr<v1::CoordinatorConfig> FinishCoordinatorConfig(v1::CoordinatorConfig config,
                                                              const std::string& source,
                                                              const std::string& base_dir);

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVER_COORDINATOR_CONFIG_H_
