// `flctl pki ...`: the consortium CA, certificates, requests and revocation.
#ifndef TVERR_COORDINATOR_FLCTL_PKI_COMMAND_H_
#define TVERR_COORDINATOR_FLCTL_PKI_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace tverr::flctl {

// `args` are the words after "pki". Writes results to `out` and errors to
// `err`. Returns the process exit code (0 success, 1 failure, 2 usage).
int RunPkiCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_PKI_COMMAND_H_
