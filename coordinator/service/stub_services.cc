#include "coordinator/service/stub_services.h"

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"

namespace tverr::coordinator {
namespace {

grpc::Status AuthorizeThenUnimplemented(const Authorizer* authorizer,
                                        grpc::ServerContext* context, const char* method) {
  absl::StatusOr<tls::Peer> peer = authorizer->Authorize(*context, method);
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  return ToGrpcStatus(
      absl::UnimplementedError(absl::StrCat(method, " is not implemented in this version")));
}

}  // namespace

grpc::Status AuditorServiceImpl::NotYet(grpc::ServerContext* context, const char* method) {
  return AuthorizeThenUnimplemented(authorizer_, context, method);
}

grpc::Status AuditorServiceImpl::ReadEntries(grpc::ServerContext* c, const v1::ReadEntriesRequest*,
                                             v1::ReadEntriesResponse*) {
  return NotYet(c, "tverr.v1.AuditorService/ReadEntries");
}
grpc::Status AuditorServiceImpl::GetTreeHead(grpc::ServerContext* c, const v1::GetTreeHeadRequest*,
                                             v1::SignedTreeHead*) {
  return NotYet(c, "tverr.v1.AuditorService/GetTreeHead");
}
grpc::Status AuditorServiceImpl::GetInclusionProof(grpc::ServerContext* c,
                                                   const v1::InclusionProofRequest*,
                                                   v1::InclusionProof*) {
  return NotYet(c, "tverr.v1.AuditorService/GetInclusionProof");
}
grpc::Status AuditorServiceImpl::GetConsistencyProof(grpc::ServerContext* c,
                                                     const v1::ConsistencyProofRequest*,
                                                     v1::ConsistencyProof*) {
  return NotYet(c, "tverr.v1.AuditorService/GetConsistencyProof");
}

}  // namespace tverr::coordinator
