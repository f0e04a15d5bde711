#include "coordinator/service/researcher_service.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/crypto/sha256.h"
#include "common/status/grpc_status.h"
#include "common/tensor/tensor_codec.h"
#include "common/transfer/chunk_assembler.h"
#include "coordinator/round/round_summary.h"
#include "coordinator/runs/run_spec.h"

namespace tverr::coordinator {

v1::AuditRecord ResearcherServiceImpl::RunAction(v1::AuditEvent event, const tls::Peer& peer,
                                                 const std::string& run_id,
                                                 const std::string& what) {
  v1::AuditRecord r = PeerRecord(event, peer);
  r.set_run_id(run_id);
  r.mutable_hashes()->set_run_spec(run_id);
  (*r.mutable_parameters())["action"] = what;
  return r;
}

bool ResearcherServiceImpl::Audited(v1::AuditRecord record) {
  // On disk before the researcher hears that it happened.
  absl::Status s = WriteAudit(audit_, std::move(record), true);
  if (!s.ok()) LOG(ERROR) << "audit log: " << s;
  return s.ok();
}

grpc::Status ResearcherServiceImpl::CreateRun(grpc::ServerContext* context,
                                              const v1::CreateRunRequest* request,
                                              v1::CreateRunResponse* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/CreateRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  absl::StatusOr<v1::RunSpec> parsed = ParseRunSpec(request->spec_textproto());
  if (!parsed.ok()) return ToGrpcStatus(parsed.status());
  v1::RunSpec spec = WithDefaults(*parsed);
  if (absl::Status s = ValidateRunSpec(spec); !s.ok()) return ToGrpcStatus(s);
  // Inline payloads, or ones sent with UploadPayload before.
  absl::StatusOr<std::string> artifact = request->artifact();
  if (request->artifact().empty()) artifact = payloads_->ReadStaged(spec.artifact_sha256());
  if (!artifact.ok()) {
    return ToGrpcStatus(absl::Status(artifact.status().code(),
                                     absl::StrCat("artifact: ", artifact.status().message())));
  }
  if (crypto::ToHex(crypto::Sha256(*artifact)) != spec.artifact_sha256()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "the artifact sent does not have the spec's artifact_sha256"));
  }
  absl::StatusOr<std::string> weights = request->initial_weights();
  if (request->initial_weights().empty()) {
    weights = payloads_->ReadStaged(request->initial_weights_sha256());
  }
  if (!weights.ok()) {
    return ToGrpcStatus(absl::Status(
        weights.status().code(), absl::StrCat("initial_weights: ", weights.status().message())));
  }
  absl::StatusOr<tensor::TensorList> initial = tensor::Decode(*weights);
  if (!initial.ok()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("initial_weights: ", initial.status().message())));
  }
  absl::StatusOr<std::string> run_id = RunId(spec);
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  // The payloads first (content-addressed, durable), then the run row.
  absl::StatusOr<crypto::Sha256Digest> initial_digest =
      payloads_->Publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, *weights);
  absl::StatusOr<crypto::Sha256Digest> artifact_digest =
      payloads_->Publish(v1::PAYLOAD_KIND_MODEL_ARTIFACT, *artifact);
  if (!initial_digest.ok() || !artifact_digest.ok()) {
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot store the run's payloads"));
  }
  StoredRun run;
  run.run_id = *run_id;
  run.spec = spec;
  run.artifact_sha256 = crypto::ToHex(*artifact_digest);
  run.initial_weights_sha256 = crypto::ToHex(*initial_digest);
  run.state = "created";
  run.global_sha256 = run.initial_weights_sha256;
  if (absl::Status s = store_->Create(run); !s.ok()) {
    LOG(ERROR) << "cannot record run: " << s;
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the run"));
  }
  {
    v1::AuditRecord created = PeerRecord(v1::RUN_CREATED, *peer);
    created.set_run_id(*run_id);
    created.mutable_hashes()->set_run_spec(*run_id);
    created.mutable_hashes()->set_artifact(run.artifact_sha256);
    created.mutable_hashes()->set_global_after(run.initial_weights_sha256);
    (*created.mutable_parameters())["name"] = spec.name();
    if (!Audited(std::move(created))) {
      return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the run"));
    }
  }
  LOG(INFO) << "run " << run_id->substr(0, 12) << " created by " << peer->identity.Uri();
  response->mutable_run()->set_run_id(*run_id);
  return grpc::Status::OK;
}

grpc::Status ResearcherServiceImpl::UploadPayload(grpc::ServerContext* context,
                                                  grpc::ServerReader<v1::Chunk>* reader,
                                                  v1::UploadReceipt* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/UploadPayload");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  absl::StatusOr<std::unique_ptr<store::BlobWriter>> writer = payloads_->staged().NewWriter();
  if (!writer.ok()) {
    LOG(ERROR) << "cannot start a researcher upload: " << writer.status();
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot store uploads right now"));
  }
  transfer::ChunkAssembler assembler(
      max_upload_bytes_,
      [](v1::PayloadKind kind) {
        return kind == v1::PAYLOAD_KIND_MODEL_ARTIFACT || kind == v1::PAYLOAD_KIND_GLOBAL_WEIGHTS;
      },
      [&](absl::string_view data) { return (*writer)->Append(data); });
  v1::Chunk chunk;
  while (reader->Read(&chunk)) {
    if (absl::Status s = assembler.Add(chunk); !s.ok()) return ToGrpcStatus(s);
  }
  if (absl::Status s = assembler.Finish(); !s.ok()) return ToGrpcStatus(s);
  if (absl::Status s = (*writer)->Commit(assembler.digest()); !s.ok()) {
    LOG(ERROR) << "cannot store a researcher upload: " << s;
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot store the upload; retry"));
  }
  response->mutable_sha256()->set_digest(std::string(crypto::AsStringView(assembler.digest())));
  response->set_size(assembler.bytes_received());
  LOG(INFO) << v1::PayloadKind_Name(assembler.header().kind()) << " from "
            << peer->identity.Uri() << ": " << assembler.bytes_received() << " bytes, sha256 "
            << crypto::ToHex(assembler.digest()).substr(0, 12) << " staged";
  return grpc::Status::OK;
}

grpc::Status ResearcherServiceImpl::StartRun(grpc::ServerContext* context,
                                             const v1::RunRef* request,
                                             v1::RunStatus* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/StartRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  absl::StatusOr<StoredRun> run = Find(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  if (run->state == "paused") {  // start continues a paused run
    if (absl::Status s = rounds_->Continue(request->run_id()); !s.ok()) return ToGrpcStatus(s);
    if (!Audited(RunAction(v1::RUN_STARTED, *peer, request->run_id(), "continued"))) {
      return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the action"));
    }
    return ToGrpcStatus(Status(request->run_id(), response));
  }
  if (run->state != "created") {
    return ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("the run is ", run->state, "; only a created run can be started")));
  }
  absl::StatusOr<std::string> artifact = payloads_->ReadPublished(run->artifact_sha256);
  absl::StatusOr<std::string> weights = payloads_->ReadPublished(run->initial_weights_sha256);
  if (!artifact.ok()) return ToGrpcStatus(artifact.status());
  if (!weights.ok()) return ToGrpcStatus(weights.status());
  absl::StatusOr<tensor::TensorList> initial = tensor::Decode(*weights);
  if (!initial.ok()) return ToGrpcStatus(initial.status());
  absl::Status s =
      rounds_->StartRun(request->run_id(), run->spec, *artifact, *initial, absl::Now());
  if (!s.ok()) return ToGrpcStatus(s);
  if (!Audited(RunAction(v1::RUN_STARTED, *peer, request->run_id(), "started"))) {
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the action"));
  }
  LOG(INFO) << "run " << request->run_id().substr(0, 12) << " started by "
            << peer->identity.Uri();
  return ToGrpcStatus(Status(request->run_id(), response));
}

absl::StatusOr<StoredRun> ResearcherServiceImpl::Find(const std::string& run_id) {
  absl::StatusOr<std::vector<StoredRun>> runs = store_->List();
  if (!runs.ok()) return runs.status();
  for (StoredRun& r : *runs) {
    if (r.run_id == run_id) return std::move(r);
  }
  return absl::NotFoundError(absl::StrCat("no run ", run_id));
}

absl::Status ResearcherServiceImpl::Status(const std::string& run_id, v1::RunStatus* out) {
  absl::StatusOr<StoredRun> run = Find(run_id);
  if (!run.ok()) return run.status();
  out->mutable_run()->set_run_id(run_id);
  out->set_total_rounds(run->spec.rounds().rounds());
  RunProgress p = rounds_->Progress();
  if (p.run_id != run_id) {
    // Not the run in the round manager (an earlier run, or one that ended
    // before the coordinator restarted): what the store knows.
    out->set_state(run->state);
    out->set_failure(run->failure);
    out->set_committed_round(run->committed_round);
    absl::StatusOr<std::vector<v1::RoundSummary>> rounds = store_->Rounds(run_id);
    if (!rounds.ok()) return rounds.status();
    for (v1::RoundSummary& r : *rounds) *out->add_rounds() = std::move(r);
    return absl::OkStatus();
  }
  out->set_state(p.state);
  out->set_failure(p.failure);
  out->set_committed_round(p.committed_round);
  if (p.phase) out->set_phase(RoundPhaseName(*p.phase));
  if (p.current) *out->mutable_current() = *p.current;
  for (const RoundRecord& r : p.history) *out->add_rounds() = ToRoundSummary(r);
  return absl::OkStatus();
}

grpc::Status ResearcherServiceImpl::GetRunStatus(grpc::ServerContext* context,
                                                 const v1::RunRef* request,
                                                 v1::RunStatus* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/GetRunStatus");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  return ToGrpcStatus(Status(request->run_id(), response));
}

grpc::Status ResearcherServiceImpl::PauseRun(grpc::ServerContext* context,
                                             const v1::RunRef* request,
                                             v1::RunStatus* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/PauseRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (absl::Status s = rounds_->Pause(request->run_id()); !s.ok()) return ToGrpcStatus(s);
  if (!Audited(RunAction(v1::RUN_PAUSED, *peer, request->run_id(), "paused"))) {
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the action"));
  }
  LOG(INFO) << "run " << request->run_id().substr(0, 12) << " paused by " << peer->identity.Uri();
  return ToGrpcStatus(Status(request->run_id(), response));
}

grpc::Status ResearcherServiceImpl::AbortRun(grpc::ServerContext* context,
                                             const v1::RunRef* request,
                                             v1::RunStatus* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/AbortRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  if (absl::Status s = rounds_->Abort(request->run_id()); !s.ok()) return ToGrpcStatus(s);
  if (!Audited(RunAction(v1::RUN_ABORTED, *peer, request->run_id(), "aborted"))) {
    return ToGrpcStatus(absl::UnavailableError("coordinator cannot record the action"));
  }
  LOG(INFO) << "run " << request->run_id().substr(0, 12) << " aborted by "
            << peer->identity.Uri();
  return ToGrpcStatus(Status(request->run_id(), response));
}

grpc::Status ResearcherServiceImpl::WatchRun(grpc::ServerContext* context,
                                             const v1::RunRef* request,
                                             grpc::ServerWriter<v1::RunEvent>* writer) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/WatchRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  // An event with a message per committed round and at the end, and one
  // with the status alone whenever the progress changes (checked four
  // times a second).
  size_t sent = 0;
  std::string last_progress;
  while (!context->IsCancelled()) {
    v1::RunStatus status;
    if (absl::Status s = Status(request->run_id(), &status); !s.ok()) return ToGrpcStatus(s);
    for (; sent < static_cast<size_t>(status.rounds_size()); ++sent) {
      const v1::RoundSummary& r = status.rounds(static_cast<int>(sent));
      v1::RunEvent event;
      // A secure round knows only the sum: no per-node training loss.
      const bool secure = !r.secure_session_id().empty();
      event.set_message(absl::StrCat(
          "round ", r.round(), "/", status.total_rounds(), " committed: ", r.contributors_size(),
          " node(s), ", r.samples(), " samples",
          secure ? absl::StrCat(", secure sum (session ", r.secure_session_id().substr(0, 16), ")")
                 : absl::StrFormat(", mean train loss %.4f", r.mean_train_loss()),
          r.evaluated() ? absl::StrFormat(", pooled validation accuracy %.4f (%d examples)",
                                          r.pooled_accuracy(), r.evaluation_samples())
                        : "",
          r.dropped_size() ? ", dropped: " : "", r.dropped_size() ? r.dropped(0) : ""));
      *event.mutable_status() = status;
      if (!writer->Write(event)) return grpc::Status::OK;
    }
    if (status.state() == "completed" || status.state() == "failed" ||
        status.state() == "aborted") {
      v1::RunEvent event;
      event.set_message(absl::StrCat("run ", status.state(),
                                     status.failure().empty() ? "" : ": ", status.failure()));
      *event.mutable_status() = status;
      writer->Write(event);
      return grpc::Status::OK;
    }
    std::string progress = absl::StrCat(status.state(), "|", status.phase(), "|",
                                        status.current().SerializeAsString());
    if (progress != last_progress) {
      last_progress = std::move(progress);
      v1::RunEvent event;
      *event.mutable_status() = std::move(status);
      if (!writer->Write(event)) return grpc::Status::OK;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  return grpc::Status::OK;
}

}  // namespace tverr::coordinator
