// gRPC OperatorService: the node registry for `flctl nodes`. Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_OPERATOR_SERVICE_H_
#define TVERR_COORDINATOR_SERVICE_OPERATOR_SERVICE_H_

#include "coordinator/registry/node_registry.h"
#include "coordinator/service/authorizer.h"
#include "coordinator/service/session_table.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::coordinator {

class OperatorServiceImpl final : public v1::OperatorService::Service {
 public:
  OperatorServiceImpl(const Authorizer* authorizer, NodeRegistry* registry,
                      const SessionTable* sessions)
      : authorizer_(authorizer), registry_(registry), sessions_(sessions) {}

  grpc::Status ListNodes(grpc::ServerContext* context, const v1::ListNodesRequest* request,
                         v1::ListNodesResponse* response) override;

 private:
  const Authorizer* authorizer_;
  NodeRegistry* registry_;
  const SessionTable* sessions_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_OPERATOR_SERVICE_H_
