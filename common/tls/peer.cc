#include "common/tls/peer.h"

#include "absl/strings/str_cat.h"
#include "common/pki/certificate.h"

namespace tverr::tls {

absl::StatusOr<Peer> PeerFromAuthContext(const grpc::AuthContext& context) {
  std::vector<grpc::string_ref> pems = context.FindPropertyValues("x509_pem_cert");
  if (pems.empty()) {
    return absl::UnauthenticatedError("the connection carries no client certificate");
  }
  absl::StatusOr<pki::CertificateInfo> info =
      pki::ParseCertificatePem(absl::string_view(pems.front().data(), pems.front().size()));
  if (!info.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("peer certificate has no valid Tverr identity: ", info.status().message()));
  }
  if (info->identity.role == v1::ROLE_UNSPECIFIED) {
    return absl::UnauthenticatedError("peer certificate has no Tverr role");
  }
  return Peer{info->identity, info->sha256_hex};
}

}  // namespace tverr::tls
