// Loading and validating fl-node's configuration (NodeConfig in
// proto/tverr/v1/config.proto).
#ifndef TVERR_NODE_DAEMON_NODE_CONFIG_H_
#define TVERR_NODE_DAEMON_NODE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "tverr/v1/config.pb.h"

namespace tverr::node {

// Command-line values that replace config fields when non-empty.
struct NodeOverrides {
  std::string coordinator_address;
  std::string state_dir;
  std::string log_level;
};

// Reads `path`, applies `overrides` and defaults, resolves relative paths
// against the config file's directory, and validates. INVALID_ARGUMENT lists
// every problem as "<path>: field '<field>': <problem>".
absl::StatusOr<v1::NodeConfig> LoadNodeConfig(const std::string& path,
                                              const NodeOverrides& overrides);

// Defaults and validation of an already parsed config.
absl::StatusOr<v1::NodeConfig> FinishNodeConfig(v1::NodeConfig config, const std::string& source,
                                                const std::string& base_dir);

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_NODE_CONFIG_H_
