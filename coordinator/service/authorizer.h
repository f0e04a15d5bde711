// Decides, per call, who the caller is and whether its role may call the
// method (see access_policy.h). Every RPC handler starts with Authorize().
// Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_AUTHORIZER_H_
#define TVERR_COORDINATOR_SERVICE_AUTHORIZER_H_

#include <grpcpp/server_context.h>

#include <atomic>
#include <string>

#include "absl/status/statusor.h"
#include "common/tls/peer.h"

namespace tverr::coordinator {

class Authorizer {
 public:
  explicit Authorizer(std::string consortium) : consortium_(std::move(consortium)) {}

  // The caller, if its certificate carries a Tverr identity of this
  // consortium whose role may call `method` ("tverr.v1.Service/Method").
  // UNAUTHENTICATED without a usable identity; PERMISSION_DENIED for a
  // wrong consortium or role. Denials are logged with the identity.
  absl::StatusOr<tls::Peer> Authorize(const grpc::ServerContext& context,
                                      absl::string_view method) const;

  uint64_t denied_count() const { return denied_.load(); }

 private:
  std::string consortium_;
  mutable std::atomic<uint64_t> denied_{0};
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_AUTHORIZER_H_
