#include "coordinator/service/operator_service.h"

#include <glog/logging.h>

#include "common/status/grpc_status.h"

namespace tverr::coordinator {

grpc::Status OperatorServiceImpl::ListNodes(grpc::ServerContext* context,
                                            const v1::ListNodesRequest* /*request*/,
                                            v1::ListNodesResponse* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.OperatorService/ListNodes");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  absl::StatusOr<std::vector<NodeEntry>> nodes = registry_->List();
  if (!nodes.ok()) {
    LOG(ERROR) << "cannot list nodes: " << nodes.status();
    return ToGrpcStatus(absl::UnavailableError("cannot read the node registry"));
  }
  for (const NodeEntry& e : *nodes) {
    v1::NodeRecord* r = response->add_nodes();
    r->set_identity(e.identity);
    r->set_certificate_sha256(e.certificate_sha256);
    r->set_first_seen_unix_seconds(absl::ToUnixSeconds(e.first_seen));
    r->set_last_seen_unix_seconds(absl::ToUnixSeconds(e.last_seen));
    r->set_software_version(e.software_version);
    r->set_online(sessions_->IsOnline(e.identity));
    r->set_join_count(e.join_count);
    r->set_capabilities_summary(e.capabilities_summary);
  }
  return grpc::Status::OK;
}

}  // namespace tverr::coordinator
