#include "coordinator/service/node_service.h"

#include <glog/logging.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/grpc_status.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"

namespace tverr::coordinator {
namespace {

constexpr char kSoftwareVersion[] = TVERR_VERSION_STRING;

std::string SummariseCapabilities(const v1::NodeCapabilities& c) {
  std::vector<std::string> parts;
  if (!c.libtorch_version().empty()) parts.push_back("libtorch " + c.libtorch_version());
  if (c.cuda_available()) parts.push_back(absl::StrCat("cuda x", c.cuda_device_count()));
  if (c.cpu_cores() > 0) parts.push_back(absl::StrCat(c.cpu_cores(), " cores"));
  if (!c.dcmtk_version().empty()) parts.push_back("dcmtk " + c.dcmtk_version());
  return absl::StrJoin(parts, ", ");
}

// Strings the node sends end up in our database and logs: keep them short
// and printable.
absl::Status CheckReportedText(absl::string_view field, absl::string_view value) {
  if (value.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is longer than 128 characters"));
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(field, " contains non-printable bytes"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status NodeServiceImpl::Join(grpc::ServerContext* context, const v1::JoinRequest* request,
                                   v1::JoinResponse* response) {
  absl::StatusOr<tls::Peer> peer = authorizer_->Authorize(*context, "tverr.v1.NodeService/Join");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  const v1::NodeCapabilities& caps = request->capabilities();
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"software_version", request->software_version()},
           {"capabilities.libtorch_version", caps.libtorch_version()},
           {"capabilities.dcmtk_version", caps.dcmtk_version()}}) {
    if (absl::Status s = CheckReportedText(field, value); !s.ok()) return ToGrpcStatus(s);
  }
  if (request->software_version().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("software_version is required"));
  }
  const std::string identity = peer->identity.Uri();
  absl::Status s = registry_->RecordJoin(identity, peer->certificate_sha256,
                                         request->software_version(),
                                         SummariseCapabilities(caps), absl::Now());
  if (!s.ok()) {
    LOG(ERROR) << "cannot record join of " << identity << ": " << s;
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the join; retry"));
  }
  response->set_identity(identity);
  response->set_session_id(sessions_->Open(identity, absl::Now()));
  response->set_heartbeat_interval_seconds(options_.heartbeat_interval_seconds);
  response->set_coordinator_version(kSoftwareVersion);
  {
    v1::AuditRecord joined = PeerRecord(v1::NODE_JOINED, *peer);
    (*joined.mutable_parameters())["software_version"] = request->software_version();
    if (absl::Status s = WriteAudit(options_.audit, std::move(joined), true); !s.ok()) {
      return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the join; retry"));
    }
  }
  LOG(INFO) << "node joined: " << identity << " version " << request->software_version()
            << " cert " << peer->certificate_sha256.substr(0, 16);
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::Heartbeat(grpc::ServerContext* context,
                                        const v1::HeartbeatRequest* request,
                                        v1::HeartbeatResponse* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.NodeService/Heartbeat");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  const std::string identity = peer->identity.Uri();
  bool valid = sessions_->Heartbeat(identity, request->session_id(), absl::Now());
  response->set_session_valid(valid);
  if (valid) {
    if (absl::Status s = registry_->RecordSeen(identity, absl::Now()); !s.ok()) {
      LOG(WARNING) << "cannot record heartbeat of " << identity << ": " << s;
    }
  }
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::OpenTaskStream(grpc::ServerContext* context,
                                             const v1::TaskStreamRequest* request,
                                             grpc::ServerWriter<v1::Task>* writer) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.NodeService/OpenTaskStream");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  const std::string identity = peer->identity.Uri();
  if (absl::Status s = sessions_->AttachStream(identity, request->session_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  LOG(INFO) << "task stream open: " << identity;
  // Short waits so that a cancelled call is noticed within a second.
  const absl::Duration poll = absl::Seconds(1);
  absl::Time next_keepalive = absl::Now() + options_.keepalive_interval;
  static std::atomic<uint64_t> task_counter{0};
  grpc::Status result = grpc::Status::OK;
  while (!context->IsCancelled()) {
    if (sessions_->Silent(identity, request->session_id(), absl::Now(), options_.max_silence)) {
      LOG(WARNING) << "no heartbeat from " << identity << " for "
                   << absl::FormatDuration(options_.max_silence) << "; closing its session";
      sessions_->Close(identity, request->session_id());
      result = ToGrpcStatus(absl::UnavailableError("no heartbeat received in time; join again"));
      break;
    }
    absl::StatusOr<std::optional<v1::Task>> task =
        sessions_->WaitForTask(identity, request->session_id(), poll);
    if (!task.ok()) {
      result = ToGrpcStatus(task.status());
      break;
    }
    std::optional<v1::Task> to_send = std::move(*task);
    if (!to_send && absl::Now() >= next_keepalive) {
      to_send.emplace();
      to_send->set_task_id(absl::StrCat("keepalive-", task_counter++));
      to_send->mutable_keep_alive()->set_server_time_unix_seconds(absl::ToUnixSeconds(absl::Now()));
    }
    if (to_send) {
      if (!writer->Write(*to_send)) break;
      next_keepalive = absl::Now() + options_.keepalive_interval;
    }
  }
  sessions_->DetachStream(identity, request->session_id());
  if (rounds_ != nullptr && !sessions_->IsOnline(identity)) rounds_->NodeLost(identity, absl::Now());
  (void)WriteAudit(options_.audit, PeerRecord(v1::NODE_LEFT, *peer), false);
  LOG(INFO) << "task stream closed: " << identity;
  return result;
}

grpc::Status NodeServiceImpl::Upload(grpc::ServerContext* context,
                                     grpc::ServerReader<v1::Chunk>* reader,
                                     v1::UploadReceipt* response) {
  absl::StatusOr<tls::Peer> peer = authorizer_->Authorize(*context, "tverr.v1.NodeService/Upload");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  const std::string identity = peer->identity.Uri();
  // Where the data goes is decided by the header: an update for a run's
  // round is folded into that round as it arrives; anything else is stored.
  std::unique_ptr<UpdateUpload> update;
  std::unique_ptr<store::BlobWriter> blob;
  transfer::ChunkAssembler assembler(
      options_.max_transfer_bytes,
      [](v1::PayloadKind kind) {
        return kind == v1::PAYLOAD_KIND_WEIGHT_UPDATE || kind == v1::PAYLOAD_KIND_MASKED_INPUT;
      },
      [&](absl::string_view data) {
        return update != nullptr ? update->Add(data) : blob->Append(data);
      });
  v1::Chunk chunk;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      first = false;
      if (chunk.has_header() && !chunk.header().run_id().empty() && rounds_ != nullptr) {
        absl::StatusOr<std::unique_ptr<UpdateUpload>> opened =
            rounds_->BeginUpdate(identity, chunk.header());
        if (!opened.ok()) {
          LOG(WARNING) << "update from " << identity << " refused: " << opened.status().message();
          return ToGrpcStatus(opened.status());
        }
        update = std::move(*opened);
      } else if (!chunk.has_header()) {
        // Nothing to open: the assembler refuses it below (no header first).
      } else {
        if (!options_.accept_unbound_uploads) {
          LOG(WARNING) << "upload from " << identity << " refused: it names no run";
          return ToGrpcStatus(absl::FailedPreconditionError(
              "an upload must be an update for a run's round in progress (its header names "
              "the run and round); this coordinator stores no other uploads"));
        }
        absl::StatusOr<std::unique_ptr<store::BlobWriter>> writer =
            payloads_->uploads().NewWriter();
        if (!writer.ok()) {
          LOG(ERROR) << "cannot start upload: " << writer.status();
          return ToGrpcStatus(absl::UnavailableError("coordinator cannot store uploads right now"));
        }
        blob = std::move(*writer);
      }
    }
    if (absl::Status s = assembler.Add(chunk); !s.ok()) {
      LOG(WARNING) << "upload from " << identity << " refused: " << s.message();
      return ToGrpcStatus(s);
    }
  }
  if (first) return ToGrpcStatus(absl::InvalidArgumentError("transfer ended before its header"));
  if (absl::Status s = assembler.Finish(); !s.ok()) {
    LOG(WARNING) << "upload from " << identity << " refused: " << s.message();
    return ToGrpcStatus(s);
  }
  if (update != nullptr) {
    if (absl::Status s = update->Finish(crypto::ToHex(assembler.digest())); !s.ok()) {
      LOG(WARNING) << "update from " << identity << " refused: " << s.message();
      return ToGrpcStatus(s);
    }
  } else if (absl::Status s = blob->Commit(assembler.digest()); !s.ok()) {
    LOG(ERROR) << "cannot store upload: " << s;
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot store the upload; retry"));
  }
  response->mutable_sha256()->set_digest(std::string(crypto::AsStringView(assembler.digest())));
  response->set_size(assembler.bytes_received());
  LOG(INFO) << (update ? "update" : "upload") << " from " << identity << ": "
            << assembler.bytes_received() << " bytes, sha256 "
            << crypto::ToHex(assembler.digest()).substr(0, 16);
  return grpc::Status::OK;
}

grpc::Status NodeServiceImpl::Download(grpc::ServerContext* context,
                                       const v1::DownloadRequest* request,
                                       grpc::ServerWriter<v1::Chunk>* writer) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.NodeService/Download");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (request->sha256().digest().size() != 32) {
    return ToGrpcStatus(absl::InvalidArgumentError("sha256.digest must have 32 bytes"));
  }
  crypto::Sha256Digest digest;
  std::copy(request->sha256().digest().begin(), request->sha256().digest().end(), digest.begin());
  // Only what the coordinator published: never another node's upload.
  absl::StatusOr<PayloadStore::Published> published = payloads_->FindPublished(digest);
  if (!published.ok()) return ToGrpcStatus(published.status());
  v1::TransferHeader header;
  header.set_kind(published->kind);
  absl::Status s = transfer::SendFile(header, published->path, [writer](const v1::Chunk& c) {
    return writer->Write(c);
  });
  if (!s.ok() && !absl::IsUnavailable(s)) {
    LOG(ERROR) << "download failed: " << s;
    return ToGrpcStatus(absl::InternalError("cannot read the payload"));
  }
  return ToGrpcStatus(s);
}

}  // namespace tverr::coordinator

namespace tverr::coordinator {

grpc::Status NodeServiceImpl::ReportEvaluation(grpc::ServerContext* context,
                                               const v1::EvaluationReport* request,
                                               v1::EvaluationAck* /*response*/) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.NodeService/ReportEvaluation");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (rounds_ == nullptr) return ToGrpcStatus(absl::UnavailableError("no run is open"));
  absl::Status s = rounds_->EvaluationReceived(peer->identity.Uri(), *request);
  if (!s.ok()) {
    LOG(WARNING) << "evaluation from " << peer->identity.Uri() << " refused: " << s.message();
  }
  return ToGrpcStatus(s);
}

grpc::Status NodeServiceImpl::ReportProgress(grpc::ServerContext* context,
                                             const v1::TaskProgress* request,
                                             v1::ProgressAck* /*response*/) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.NodeService/ReportProgress");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (rounds_ == nullptr) return ToGrpcStatus(absl::UnavailableError("no run is open"));
  // Refusals are routine (a report racing the end of a round): no log.
  return ToGrpcStatus(rounds_->ProgressReceived(peer->identity.Uri(), *request));
}

namespace {

// The three secure-aggregation RPCs: authorise, hand to the round manager,
// log refusals (they name the node and the phase, never key material).
template <typename Request>
grpc::Status SecAggCall(const Authorizer* authorizer, RoundManager* rounds,
                        grpc::ServerContext* context, const char* method, const Request& request,
                        absl::Status (RoundManager::*handle)(const std::string&, const Request&)) {
  absl::StatusOr<tls::Peer> peer = authorizer->Authorize(*context, method);
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (rounds == nullptr) return ToGrpcStatus(absl::UnavailableError("no run is open"));
  absl::Status s = (rounds->*handle)(peer->identity.Uri(), request);
  if (!s.ok()) {
    LOG(WARNING) << method << " from " << peer->identity.Uri() << " refused: " << s.message();
  }
  return ToGrpcStatus(s);
}

}  // namespace

grpc::Status NodeServiceImpl::SecAggAdvertise(grpc::ServerContext* context,
                                              const v1::SecAggAdvertiseRequest* request,
                                              v1::SecAggAck* /*response*/) {
  return SecAggCall(authorizer_, rounds_, context, "tverr.v1.NodeService/SecAggAdvertise",
                    *request, &RoundManager::SecAggAdvertised);
}

grpc::Status NodeServiceImpl::SecAggShareKeys(grpc::ServerContext* context,
                                              const v1::SecAggShareKeysRequest* request,
                                              v1::SecAggAck* /*response*/) {
  return SecAggCall(authorizer_, rounds_, context, "tverr.v1.NodeService/SecAggShareKeys",
                    *request, &RoundManager::SecAggSharesReceived);
}

grpc::Status NodeServiceImpl::SecAggUnmask(grpc::ServerContext* context,
                                           const v1::SecAggUnmaskRequest* request,
                                           v1::SecAggAck* /*response*/) {
  return SecAggCall(authorizer_, rounds_, context, "tverr.v1.NodeService/SecAggUnmask",
                    *request, &RoundManager::SecAggUnmaskReceived);
}

grpc::Status NodeServiceImpl::GetAuditConsistencyProof(grpc::ServerContext* context,
                                                       const v1::AuditConsistencyRequest* request,
                                                       v1::AuditConsistencyResponse* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.NodeService/GetAuditConsistencyProof");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (!options_.audit_consistency) {
    return ToGrpcStatus(absl::UnavailableError("this coordinator keeps no audit log"));
  }
  absl::StatusOr<v1::AuditConsistencyResponse> proof =
      options_.audit_consistency(request->first_tree_size(), request->second_tree_size());
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  *response = std::move(*proof);
  return grpc::Status::OK;
}

}  // namespace tverr::coordinator
