// The auditor service, whose work arrives with the audit issue. They already enforce the access policy, so a
// caller with the wrong role gets PERMISSION_DENIED; an allowed caller gets
// UNIMPLEMENTED. Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_STUB_SERVICES_H_
#define TVERR_COORDINATOR_SERVICE_STUB_SERVICES_H_

#include "coordinator/service/authorizer.h"
#include "tverr/v1/auditor.grpc.pb.h"

namespace tverr::coordinator {

class AuditorServiceImpl final : public v1::AuditorService::Service {
 public:
  explicit AuditorServiceImpl(const Authorizer* authorizer) : authorizer_(authorizer) {}

  grpc::Status ReadEntries(grpc::ServerContext* context, const v1::ReadEntriesRequest*,
                           v1::ReadEntriesResponse*) override;
  grpc::Status GetTreeHead(grpc::ServerContext* context, const v1::GetTreeHeadRequest*,
                           v1::SignedTreeHead*) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* context, const v1::InclusionProofRequest*,
                                 v1::InclusionProof*) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext* context,
                                   const v1::ConsistencyProofRequest*,
                                   v1::ConsistencyProof*) override;

 private:
  grpc::Status NotYet(grpc::ServerContext* context, const char* method);
  const Authorizer* authorizer_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_STUB_SERVICES_H_
