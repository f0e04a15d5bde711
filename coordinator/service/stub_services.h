// Researcher and auditor services whose work arrives with later issues
// (training runs, audit log). They already enforce the access policy, so a
// caller with the wrong role gets PERMISSION_DENIED; an allowed caller gets
// UNIMPLEMENTED. Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_STUB_SERVICES_H_
#define TVERR_COORDINATOR_SERVICE_STUB_SERVICES_H_

#include "coordinator/service/authorizer.h"
#include "tverr/v1/auditor.grpc.pb.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::coordinator {

class ResearcherServiceImpl final : public v1::ResearcherService::Service {
 public:
  explicit ResearcherServiceImpl(const Authorizer* authorizer) : authorizer_(authorizer) {}

  grpc::Status CreateRun(grpc::ServerContext* context, const v1::CreateRunRequest*,
                         v1::CreateRunResponse*) override;
  grpc::Status StartRun(grpc::ServerContext* context, const v1::RunRef*,
                        v1::RunStatus*) override;
  grpc::Status PauseRun(grpc::ServerContext* context, const v1::RunRef*,
                        v1::RunStatus*) override;
  grpc::Status AbortRun(grpc::ServerContext* context, const v1::RunRef*,
                        v1::RunStatus*) override;
  grpc::Status GetRunStatus(grpc::ServerContext* context, const v1::RunRef*,
                            v1::RunStatus*) override;
  grpc::Status WatchRun(grpc::ServerContext* context, const v1::RunRef*,
                        grpc::ServerWriter<v1::RunEvent>*) override;

 private:
  grpc::Status NotYet(grpc::ServerContext* context, const char* method);
  const Authorizer* authorizer_;
};

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
