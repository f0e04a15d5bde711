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
#include "coordinator/service/audit_sink.h"

namespace tverr::coordinator {

class Authorizer {
 public:
  explicit Authorizer(std::string consortium) : consortium_(std::move(consortium)) {}

  // The caller, if its certificate carries a Tverr identity of this
  // consortium whose role may call `method` ("tverr.v1.Service/Method").
  // UNAUTHENTICATED without a usable identity; PERMISSION_DENIED for a
  // wrong consortium or role. Denials are logged with the identity and
  // audited.
  absl::StatusOr<tls::Peer> Authorize(const grpc::ServerContext& context,
                                      absl::string_view method) const;

  uint64_t denied_count() const { return denied_.load(); }

  // Every denial is also written here (call before serving).
  void set_audit(AuditSink audit) { audit_ = std::move(audit); }

 private:
  void AuditDenial(v1::AuditEvent event, const std::string& identity,
                   const std::string& certificate_sha256, absl::string_view method,
                   absl::string_view address, absl::string_view reason) const;

  std::string consortium_;
  AuditSink audit_;
  mutable std::atomic<uint64_t> denied_{0};
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_AUTHORIZER_H_
