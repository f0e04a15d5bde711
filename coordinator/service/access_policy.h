// Which roles may call which RPC: the one table an auditor reads to know who
// can do what. A method missing from the table is refused (fail closed).
#ifndef TVERR_COORDINATOR_SERVICE_ACCESS_POLICY_H_
#define TVERR_COORDINATOR_SERVICE_ACCESS_POLICY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tverr/v1/common.pb.h"

namespace tverr::coordinator {

// Roles allowed to call `method`, given as "<Service>/<Method>" with the
// service's full proto name, for example "tverr.v1.NodeService/Join".
// Empty when the method is unknown.
std::vector<v1::Role> AllowedRoles(absl::string_view method);

// Every method named in the table (for tests that check coverage).
std::vector<std::string> PolicyMethods();

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_ACCESS_POLICY_H_
