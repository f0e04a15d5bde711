// `flctl run create | start | status | watch`: a researcher's runs.
#ifndef TVERR_COORDINATOR_FLCTL_RUN_COMMAND_H_
#define TVERR_COORDINATOR_FLCTL_RUN_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace tverr::flctl {

// Exit code: 0 success, 1 failure (message on `err`), 2 usage.
int RunRunCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_RUN_COMMAND_H_
