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
    AuditDenial(v1::AUTHENTICATION_FAILED, "unauthenticated", "", method, context.peer(),
                peer.status().message());
    return peer.status();
  }
  if (peer->identity.consortium != consortium_) {
    ++denied_;
    LOG(WARNING) << "refused " << method << " from " << peer->identity.Uri()
                 << ": certificate belongs to another consortium";
    AuditDenial(v1::AUTHORIZATION_FAILED, peer->identity.Uri(), peer->certificate_sha256, method,
                context.peer(), "certificate belongs to another consortium");
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
    AuditDenial(v1::AUTHORIZATION_FAILED, peer->identity.Uri(), peer->certificate_sha256, method,
                context.peer(), "role not allowed");
    return absl::PermissionDeniedError(absl::StrCat(
        "role '", pki::RoleName(peer->identity.role), "' may not call ", method,
        names.empty() ? "" : absl::StrCat(" (allowed: ", absl::StrJoin(names, ", "), ")")));
  }
  return peer;
}

void Authorizer::AuditDenial(v1::AuditEvent event, const std::string& identity,
                             const std::string& certificate_sha256, absl::string_view method,
                             absl::string_view address, absl::string_view reason) const {
  if (!audit_) return;
  v1::AuditRecord r;
  r.set_event(event);
  r.mutable_actor()->set_identity(identity);
  r.mutable_actor()->set_certificate_sha256(certificate_sha256);
  r.set_outcome(v1::REFUSED);
  r.set_reason(std::string(reason));
  (*r.mutable_parameters())["method"] = std::string(method);
  (*r.mutable_parameters())["address"] = std::string(address);
  // Not durable one by one: a flood of refused calls must not become a
  // flood of fsyncs; the next durable record or tree head carries them.
  (void)audit_(std::move(r), false);
}

}  // namespace tverr::coordinator
