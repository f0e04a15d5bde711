#include "coordinator/service/authorizer.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/service/access_policy.h"

namespace tverr::coordinator {

absl::StatusOr<tls::Peer> Authorizer::Authorize(const grpc::ServerContext& context,
                                                absl::string_view method) const {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  absl::StatusOr<tls::Peer> peer =
      auth ? tls::PeerFromAuthContext(*auth)
           : absl::UnauthenticatedError("the connection carries no client certificate");
  if (!peer.ok()) {
    ++denied_;
    LOG(WARNING) << "refused " << method << " from " << context.peer() << ": "
                 << peer.status().message();
    return peer.status();
  }
  if (peer->identity.consortium != consortium_) {
    ++denied_;
    LOG(WARNING) << "refused " << method << " from " << peer->identity.Uri()
                 << ": certificate belongs to another consortium";
    return absl::PermissionDeniedError(
        absl::StrCat("certificate belongs to consortium '", peer->identity.consortium,
                     "', not '", consortium_, "'"));
  }
  std::vector<v1::Role> allowed = AllowedRoles(method);
  if (std::find(allowed.begin(), allowed.end(), peer->identity.role) == allowed.end()) {
    ++denied_;
    std::vector<std::string> names;
    for (v1::Role r : allowed) names.push_back(pki::RoleName(r));
    LOG(WARNING) << "refused " << method << " from " << peer->identity.Uri()
                 << ": role not allowed";
    return absl::PermissionDeniedError(absl::StrCat(
        "role '", pki::RoleName(peer->identity.role), "' may not call ", method,
        names.empty() ? "" : absl::StrCat(" (allowed: ", absl::StrJoin(names, ", "), ")")));
  }
  return peer;
}

}  // namespace tverr::coordinator
