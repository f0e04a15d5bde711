// gRPC NodeService: translates between the wire protocol and the
// coordinator's registry, sessions and payload store. Every handler
// authorises the caller first. Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_NODE_SERVICE_H_
#define TVERR_COORDINATOR_SERVICE_NODE_SERVICE_H_

#include <cstdint>

#include "absl/time/time.h"
#include "coordinator/registry/node_registry.h"
#include "coordinator/round/round_manager.h"
#include "coordinator/service/audit_sink.h"
#include "coordinator/service/authorizer.h"
#include "coordinator/service/session_table.h"
#include "coordinator/storage/payload_store.h"
#include "tverr/v1/node.grpc.pb.h"

namespace tverr::coordinator {

struct NodeServiceOptions {
  // Default: 10.
  uint32_t heartbeat_interval_seconds = 10;
  // Largest upload accepted. Default: 2 GiB.
  uint64_t max_transfer_bytes = uint64_t{2} << 30;
  // Store uploads that name no run (CoordinatorConfig.accept_unbound_uploads);
  // otherwise they are refused. Default: false.
  bool accept_unbound_uploads = false;
  // How often an idle task stream carries a KeepAlive. Default: 10 s.
  absl::Duration keepalive_interval = absl::Seconds(10);
  // A session without a heartbeat for this long is closed and its stream
  // ended, so a vanished node does not stay "online". Default: 30 s
  // (three heartbeat intervals).
  absl::Duration max_silence = absl::Seconds(30);
  // Joins and departures are audited here (optional).
  AuditSink audit;
  // The audit log's consistency proof between two sizes, with the audit
  // public key (GetAuditConsistencyProof); unset: UNAVAILABLE.
  std::function<absl::StatusOr<v1::AuditConsistencyResponse>(uint64_t first, uint64_t second)>
      audit_consistency;
};

class NodeServiceImpl final : public v1::NodeService::Service {
 public:
  NodeServiceImpl(NodeServiceOptions options, const Authorizer* authorizer,
                  NodeRegistry* registry, SessionTable* sessions, PayloadStore* payloads,
                  RoundManager* rounds)
      : options_(options),
        authorizer_(authorizer),
        registry_(registry),
        sessions_(sessions),
        payloads_(payloads),
        rounds_(rounds) {}

  grpc::Status Join(grpc::ServerContext* context, const v1::JoinRequest* request,
                    v1::JoinResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status OpenTaskStream(grpc::ServerContext* context,
                              const v1::TaskStreamRequest* request,
                              grpc::ServerWriter<v1::Task>* writer) override;
  grpc::Status Upload(grpc::ServerContext* context, grpc::ServerReader<v1::Chunk>* reader,
                      v1::UploadReceipt* response) override;
  grpc::Status Download(grpc::ServerContext* context, const v1::DownloadRequest* request,
                        grpc::ServerWriter<v1::Chunk>* writer) override;
  grpc::Status ReportEvaluation(grpc::ServerContext* context,
                                const v1::EvaluationReport* request,
                                v1::EvaluationAck* response) override;
  grpc::Status ReportProgress(grpc::ServerContext* context, const v1::TaskProgress* request,
                              v1::ProgressAck* response) override;
  grpc::Status SecAggAdvertise(grpc::ServerContext* context,
                               const v1::SecAggAdvertiseRequest* request,
                               v1::SecAggAck* response) override;
  grpc::Status SecAggShareKeys(grpc::ServerContext* context,
                               const v1::SecAggShareKeysRequest* request,
                               v1::SecAggAck* response) override;
  grpc::Status SecAggUnmask(grpc::ServerContext* context, const v1::SecAggUnmaskRequest* request,
                            v1::SecAggAck* response) override;
  grpc::Status GetAuditConsistencyProof(grpc::ServerContext* context,
                                        const v1::AuditConsistencyRequest* request,
                                        v1::AuditConsistencyResponse* response) override;

 private:
  const NodeServiceOptions options_;
  const Authorizer* authorizer_;
  NodeRegistry* registry_;
  SessionTable* sessions_;
  PayloadStore* payloads_;
  RoundManager* rounds_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_NODE_SERVICE_H_
