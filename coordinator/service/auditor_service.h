// AuditorService: the auditor's read-only view of the audit log — records
// (once on disk), the latest signed tree head, inclusion and consistency
// proofs (RFC 6962). Only ROLE_AUDITOR may call it (access_policy.cc).
// Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_AUDITOR_SERVICE_H_
#define TVERR_COORDINATOR_SERVICE_AUDITOR_SERVICE_H_

#include "common/audit/audit_log.h"
#include "coordinator/service/authorizer.h"
#include "tverr/v1/auditor.grpc.pb.h"

namespace tverr::coordinator {

class AuditorServiceImpl final : public v1::AuditorService::Service {
 public:
  // `log` may be null (no audit log): every call is UNAVAILABLE then.
  AuditorServiceImpl(const Authorizer* authorizer, const audit::AuditLog* log)
      : authorizer_(authorizer), log_(log) {}

  grpc::Status ReadEntries(grpc::ServerContext* context, const v1::ReadEntriesRequest* request,
                           v1::ReadEntriesResponse* response) override;
  grpc::Status GetTreeHead(grpc::ServerContext* context, const v1::GetTreeHeadRequest* request,
                           v1::AuditTreeHead* response) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* context,
                                 const v1::InclusionProofRequest* request,
                                 v1::InclusionProof* response) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext* context,
                                   const v1::ConsistencyProofRequest* request,
                                   v1::ConsistencyProof* response) override;

 private:
  // The caller may read the log (and there is one).
  grpc::Status Check(grpc::ServerContext* context, const char* method) const;

  const Authorizer* authorizer_;
  const audit::AuditLog* log_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_AUDITOR_SERVICE_H_
