// gRPC ResearcherService: create a run (spec + artifact + initial weights),
// start it, and follow it. Runs are recorded in the RunStore and their
// payloads in the PayloadStore, so they survive a restart. Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_RESEARCHER_SERVICE_H_
#define TVERR_COORDINATOR_SERVICE_RESEARCHER_SERVICE_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/round/round_manager.h"
#include "coordinator/runs/run_store.h"
#include "coordinator/storage/payload_store.h"
#include "coordinator/service/audit_sink.h"
#include "coordinator/service/authorizer.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::coordinator {

class ResearcherServiceImpl final : public v1::ResearcherService::Service {
 public:
  // `max_upload_bytes`: largest artifact or weights file UploadPayload takes.
  ResearcherServiceImpl(const Authorizer* authorizer, RoundManager* rounds, RunStore* runs,
                        PayloadStore* payloads, uint64_t max_upload_bytes,
                        AuditSink audit = nullptr)
      : authorizer_(authorizer),
        rounds_(rounds),
        store_(runs),
        payloads_(payloads),
        max_upload_bytes_(max_upload_bytes),
        audit_(std::move(audit)) {}

  grpc::Status UploadPayload(grpc::ServerContext* context, grpc::ServerReader<v1::Chunk>* reader,
                             v1::UploadReceipt* response) override;
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
  absl::Status Status(const std::string& run_id, v1::RunStatus* out);
  absl::StatusOr<StoredRun> Find(const std::string& run_id);
  static v1::AuditRecord RunAction(v1::AuditEvent event, const tls::Peer& peer,
                                   const std::string& run_id, const std::string& what);
  // Writes `record` durably; false (logged) if it could not.
  bool Audited(v1::AuditRecord record);

  const Authorizer* authorizer_;
  RoundManager* rounds_;
  RunStore* store_;
  PayloadStore* payloads_;
  const uint64_t max_upload_bytes_;
  const AuditSink audit_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_RESEARCHER_SERVICE_H_
