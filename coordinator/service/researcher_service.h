// gRPC ResearcherService: create a run (spec + artifact + initial weights),
// start it, and follow it. Runs live in memory in this version (persistence
// comes with resume). Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_RESEARCHER_SERVICE_H_
#define TVERR_COORDINATOR_SERVICE_RESEARCHER_SERVICE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/round/round_manager.h"
#include "coordinator/service/authorizer.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::coordinator {

class ResearcherServiceImpl final : public v1::ResearcherService::Service {
 public:
  ResearcherServiceImpl(const Authorizer* authorizer, RoundManager* rounds)
      : authorizer_(authorizer), rounds_(rounds) {}

  grpc::Status CreateRun(grpc::ServerContext* context, const v1::CreateRunRequest* request,
                         v1::CreateRunResponse* response) override;
  grpc::Status StartRun(grpc::ServerContext* context, const v1::RunRef* request,
                        v1::RunStatus* response) override;
  grpc::Status PauseRun(grpc::ServerContext* context, const v1::RunRef* request,
                        v1::RunStatus* response) override;
  grpc::Status AbortRun(grpc::ServerContext* context, const v1::RunRef* request,
                        v1::RunStatus* response) override;
  grpc::Status GetRunStatus(grpc::ServerContext* context, const v1::RunRef* request,
                            v1::RunStatus* response) override;
  grpc::Status WatchRun(grpc::ServerContext* context, const v1::RunRef* request,
                        grpc::ServerWriter<v1::RunEvent>* writer) override;

 private:
  struct CreatedRun {
    v1::RunSpec spec;
    std::string artifact;
    std::string initial_weights;
    bool started = false;
  };
  absl::Status Status(const std::string& run_id, v1::RunStatus* out);

  const Authorizer* authorizer_;
  RoundManager* rounds_;
  absl::Mutex mu_;
  std::map<std::string, CreatedRun> runs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_RESEARCHER_SERVICE_H_
