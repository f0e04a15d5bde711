// Who is on the other end of a gRPC call, from the verified peer
// certificate gRPC exposes in the call's AuthContext. Thread-safe.
#ifndef TVERR_COMMON_TLS_PEER_H_
#define TVERR_COMMON_TLS_PEER_H_

#include <grpcpp/security/auth_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/pki/identity.h"

namespace tverr::tls {

struct Peer {
  pki::Identity identity;
  // Lower-case hex SHA-256 of the peer certificate (DER).
  std::string certificate_sha256;
};

// UNAUTHENTICATED when the context carries no certificate or one without a
// valid Tverr identity.
absl::StatusOr<Peer> PeerFromAuthContext(const grpc::AuthContext& context);

}  // namespace tverr::tls

#endif  // TVERR_COMMON_TLS_PEER_H_
