// `flctl nodes`: the coordinator's node registry as a table or JSON.
#ifndef TVERR_COORDINATOR_FLCTL_NODES_COMMAND_H_
#define TVERR_COORDINATOR_FLCTL_NODES_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "tverr/v1/researcher.pb.h"

namespace tverr::flctl {

// Exit code: 0 success, 1 failure (message on `err`), 2 usage.
int RunNodesCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Renders the table `flctl nodes` prints (exposed for tests).
std::string FormatNodesTable(const v1::ListNodesResponse& response);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_NODES_COMMAND_H_
