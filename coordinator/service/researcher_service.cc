#include "coordinator/service/researcher_service.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/crypto/sha256.h"
#include "common/status/grpc_status.h"
#include "common/tensor/tensor_codec.h"
#include "coordinator/runs/run_spec.h"

namespace tverr::coordinator {

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
  if (crypto::ToHex(crypto::Sha256(request->artifact())) != spec.artifact_sha256()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "the artifact sent does not have the spec's artifact_sha256"));
  }
  absl::StatusOr<tensor::TensorList> initial = tensor::Decode(request->initial_weights());
  if (!initial.ok()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("initial_weights: ", initial.status().message())));
  }
  absl::StatusOr<std::string> run_id = RunId(spec);
  if (!run_id.ok()) return ToGrpcStatus(run_id.status());
  {
    absl::MutexLock lock(&mu_);
    CreatedRun& run = runs_[*run_id];
    run.spec = spec;
    run.artifact = request->artifact();
    run.initial_weights = request->initial_weights();
  }
  LOG(INFO) << "run " << run_id->substr(0, 12) << " created by " << peer->identity.Uri();
  response->mutable_run()->set_run_id(*run_id);
  return grpc::Status::OK;
}

grpc::Status ResearcherServiceImpl::StartRun(grpc::ServerContext* context,
                                             const v1::RunRef* request,
                                             v1::RunStatus* response) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/StartRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  v1::RunSpec spec;
  std::string artifact;
  std::string weights;
  {
    absl::MutexLock lock(&mu_);
    auto it = runs_.find(request->run_id());
    if (it == runs_.end()) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat("no run ", request->run_id())));
    }
    if (it->second.started) {
      return ToGrpcStatus(absl::FailedPreconditionError("the run was already started"));
    }
    spec = it->second.spec;
    artifact = it->second.artifact;
    weights = it->second.initial_weights;
  }
  absl::StatusOr<tensor::TensorList> initial = tensor::Decode(weights);
  if (!initial.ok()) return ToGrpcStatus(initial.status());
  absl::Status s = rounds_->StartRun(request->run_id(), spec, artifact, *initial, absl::Now());
  if (!s.ok()) return ToGrpcStatus(s);
  {
    absl::MutexLock lock(&mu_);
    runs_[request->run_id()].started = true;
  }
  LOG(INFO) << "run " << request->run_id().substr(0, 12) << " started by "
            << peer->identity.Uri();
  return ToGrpcStatus(Status(request->run_id(), response));
}

absl::Status ResearcherServiceImpl::Status(const std::string& run_id, v1::RunStatus* out) {
  v1::RunSpec spec;
  bool started = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("no run ", run_id));
    spec = it->second.spec;
    started = it->second.started;
  }
  out->mutable_run()->set_run_id(run_id);
  out->set_total_rounds(spec.rounds().rounds());
  RunProgress p = rounds_->Progress();
  if (!started || p.run_id != run_id) {
    out->set_state(started ? "superseded" : "created");
    return absl::OkStatus();
  }
  out->set_state(p.state);
  out->set_failure(p.failure);
  out->set_committed_round(p.committed_round);
  if (p.phase) out->set_phase(RoundPhaseName(*p.phase));
  for (const RoundRecord& r : p.history) {
    v1::RoundSummary* s = out->add_rounds();
    s->set_round(r.round);
    for (const std::string& c : r.contributors) s->add_contributors(c);
    for (const auto& [node, reason] : r.dropped) s->add_dropped(absl::StrCat(node, ": ", reason));
    s->set_samples(r.samples);
    s->set_mean_train_loss(r.mean_train_loss);
    s->set_global_sha256(r.global_sha256);
    s->set_evaluated(r.evaluated);
    s->set_pooled_accuracy(r.pooled_accuracy);
    s->set_evaluation_samples(r.evaluation_samples);
    for (const auto& [node, e] : r.evaluations) {
      v1::SiteMetrics* m = s->add_sites();
      m->set_site(node);
      m->set_samples(e.samples());
      m->set_loss(e.loss());
      m->set_accuracy(e.accuracy());
      *m->mutable_sensitivity() = e.sensitivity();
      *m->mutable_specificity() = e.specificity();
      m->set_has_roc_auc(e.has_roc_auc());
      m->set_roc_auc(e.roc_auc());
    }
  }
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

grpc::Status ResearcherServiceImpl::PauseRun(grpc::ServerContext* context, const v1::RunRef*,
                                             v1::RunStatus*) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/PauseRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  return ToGrpcStatus(absl::UnimplementedError("pausing a run is not implemented yet"));
}

grpc::Status ResearcherServiceImpl::AbortRun(grpc::ServerContext* context, const v1::RunRef*,
                                             v1::RunStatus*) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/AbortRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  return ToGrpcStatus(absl::UnimplementedError("aborting a run is not implemented yet"));
}

grpc::Status ResearcherServiceImpl::WatchRun(grpc::ServerContext* context,
                                             const v1::RunRef* request,
                                             grpc::ServerWriter<v1::RunEvent>* writer) {
  absl::StatusOr<tls::Peer> peer =
      authorizer_->Authorize(*context, "tverr.v1.ResearcherService/WatchRun");
  if (!peer.ok()) return ToGrpcStatus(peer.status());
  // One event per committed round and at the end; checked twice a second.
  size_t sent = 0;
  while (!context->IsCancelled()) {
    v1::RunStatus status;
    if (absl::Status s = Status(request->run_id(), &status); !s.ok()) return ToGrpcStatus(s);
    for (; sent < static_cast<size_t>(status.rounds_size()); ++sent) {
      const v1::RoundSummary& r = status.rounds(static_cast<int>(sent));
      v1::RunEvent event;
      event.set_message(absl::StrCat(
          "round ", r.round(), "/", status.total_rounds(), " committed: ", r.contributors_size(),
          " node(s), ", r.samples(), " samples, mean train loss ",
          absl::StrFormat("%.4f", r.mean_train_loss()),
          r.evaluated() ? absl::StrFormat(", pooled validation accuracy %.4f (%d examples)",
                                          r.pooled_accuracy(), r.evaluation_samples())
                        : "",
          r.dropped_size() ? ", dropped: " : "", r.dropped_size() ? r.dropped(0) : ""));
      if (!writer->Write(event)) return grpc::Status::OK;
    }
    if (status.state() == "completed" || status.state() == "failed") {
      v1::RunEvent event;
      event.set_message(absl::StrCat("run ", status.state(),
                                     status.failure().empty() ? "" : ": ", status.failure()));
      writer->Write(event);
      return grpc::Status::OK;
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  return grpc::Status::OK;
}

}  // namespace tverr::coordinator
