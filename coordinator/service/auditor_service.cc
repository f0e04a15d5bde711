#include "coordinator/service/auditor_service.h"

#include <algorithm>

#include "common/crypto/sha256.h"
#include "common/status/grpc_status.h"

namespace tverr::coordinator {
namespace {

// At most this many records per ReadEntries call.
constexpr uint32_t kMaxEntries = 10000;

}  // namespace

grpc::Status AuditorServiceImpl::Check(grpc::ServerContext* context, const char* method) const {
  absl::StatusOr<tls::Peer> peer = authorizer_->Authorize(*context, method);
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (log_ == nullptr) return ToGrpcStatus(absl::UnavailableError("no audit log is kept"));
  return grpc::Status::OK;
}

grpc::Status AuditorServiceImpl::ReadEntries(grpc::ServerContext* context,
                                             const v1::ReadEntriesRequest* request,
                                             v1::ReadEntriesResponse* response) {
  if (grpc::Status s = Check(context, "tverr.v1.AuditorService/ReadEntries"); !s.ok()) return s;
  const uint32_t max = std::min(request->max_entries() == 0 ? kMaxEntries : request->max_entries(),
                                kMaxEntries);
  absl::StatusOr<std::vector<std::string>> lines = log_->Read(request->start_index(), max);
  if (!lines.ok()) return ToGrpcStatus(lines.status());
  for (size_t i = 0; i < lines->size(); ++i) {
    v1::AuditEntry* entry = response->add_entries();
    entry->set_index(request->start_index() + i);
    entry->set_record_json((*lines)[i]);
  }
  return grpc::Status::OK;
}

grpc::Status AuditorServiceImpl::GetTreeHead(grpc::ServerContext* context,
                                             const v1::GetTreeHeadRequest* /*request*/,
                                             v1::AuditTreeHead* response) {
  if (grpc::Status s = Check(context, "tverr.v1.AuditorService/GetTreeHead"); !s.ok()) return s;
  std::optional<v1::AuditTreeHead> head = log_->LatestTreeHead();
  if (!head) return ToGrpcStatus(absl::NotFoundError("no tree head has been signed yet"));
  *response = *head;
  return grpc::Status::OK;
}

grpc::Status AuditorServiceImpl::GetInclusionProof(grpc::ServerContext* context,
                                                   const v1::InclusionProofRequest* request,
                                                   v1::InclusionProof* response) {
  if (grpc::Status s = Check(context, "tverr.v1.AuditorService/GetInclusionProof"); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<audit::Hash>> proof =
      log_->InclusionProof(request->leaf_index(), request->tree_size());
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  for (const audit::Hash& h : *proof) response->add_path(std::string(crypto::AsStringView(h)));
  return grpc::Status::OK;
}

grpc::Status AuditorServiceImpl::GetConsistencyProof(grpc::ServerContext* context,
                                                     const v1::ConsistencyProofRequest* request,
                                                     v1::ConsistencyProof* response) {
  if (grpc::Status s = Check(context, "tverr.v1.AuditorService/GetConsistencyProof"); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<audit::Hash>> proof =
      log_->ConsistencyProof(request->first_tree_size(), request->second_tree_size());
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  for (const audit::Hash& h : *proof) response->add_path(std::string(crypto::AsStringView(h)));
  return grpc::Status::OK;
}

}  // namespace tverr::coordinator
