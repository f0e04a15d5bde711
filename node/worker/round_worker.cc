#include "node/worker/round_worker.h"

#include <glog/logging.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/crypto/sha256.h"
#include "common/runs/run_id.h"
#include "common/status/status_macros.h"
#include "common/tensor/tensor_codec.h"

namespace tverr::node {

struct RoundWorker::RunContext {
  std::unique_ptr<DicomDirectorySource> data;
  std::unique_ptr<Trainer> trainer;
};

namespace {

// The run id of the task must be its spec's, and approved here.
absl::Status CheckRun(const std::string& run_id, const v1::RunSpec& spec,
                      const std::set<std::string>& approved) {
  if (!approved.count(run_id)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "run ", run_id, " is not approved at this node (add it to approved_runs)"));
  }
  ASSIGN_OR_RETURN(std::string actual, runs::RunId(spec));
  if (actual != run_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task names run ", run_id, " but carries the spec of run ", actual));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FetchVerified(PayloadFetcher* fetcher, const std::string& hex,
                                          v1::PayloadKind kind) {
  ASSIGN_OR_RETURN(std::string bytes, fetcher->Fetch(hex, kind));
  const std::string actual = crypto::ToHex(crypto::Sha256(bytes));
  if (actual != hex) {
    return absl::DataLossError(absl::StrCat(v1::PayloadKind_Name(kind), " has SHA-256 ", actual,
                                            ", expected ", hex));
  }
  return bytes;
}

}  // namespace

RoundWorker::RoundWorker(RoundWorkerOptions options, PayloadFetcher* fetcher)
    : options_(std::move(options)), fetcher_(fetcher) {}

RoundWorker::~RoundWorker() = default;

absl::StatusOr<RoundWorker::RunContext*> RoundWorker::Prepare(const std::string& run_id,
                                                              const v1::RunSpec& spec,
                                                              const v1::Sha256& global_weights) {
  RETURN_IF_ERROR(CheckRun(run_id, spec, options_.approved_runs));
  auto it = runs_.find(run_id);
  if (it == runs_.end()) {
    // The artifact, verified against the approved run's digest.
    ASSIGN_OR_RETURN(std::string artifact, FetchVerified(fetcher_, spec.artifact_sha256(),
                                                         v1::PAYLOAD_KIND_MODEL_ARTIFACT));
    const std::string dir = options_.work_dir + "/artifacts";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string path = dir + "/" + spec.artifact_sha256() + ".pt";
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(artifact.data(), artifact.size());
    v1::RunSpec local = spec;
    if (local.local().threads() == 0) local.mutable_local()->set_threads(options_.cpu_cores);
    ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, LoadTorchScriptTrainer(path, local));
    DirectorySourceOptions data;
    data.source = options_.data.directory();
    data.cache_dir = options_.data.cache_dir();
    data.input = spec.input();
    data.labels.assign(spec.labels().begin(), spec.labels().end());
    data.fractions = spec.splits();
    // One split per run seed, stable across the rounds: runs that share a
    // seed (say, plain and secure, or two strategies) train and validate on
    // the same patients, so their metrics compare.
    data.split_salt = absl::StrCat("seed-", spec.seed());
    ASSIGN_OR_RETURN(std::unique_ptr<DicomDirectorySource> source,
                     DicomDirectorySource::Open(data));
    auto context = std::make_unique<RunContext>();
    context->data = std::move(source);
    context->trainer = std::move(trainer);
    it = runs_.emplace(run_id, std::move(context)).first;
  }
  if (global_weights.digest().size() != 32) {
    return absl::InvalidArgumentError("task carries no global weights digest");
  }
  ASSIGN_OR_RETURN(std::string bytes,
                   FetchVerified(fetcher_, crypto::ToHex(global_weights.digest()),
                                 v1::PAYLOAD_KIND_GLOBAL_WEIGHTS));
  ASSIGN_OR_RETURN(tensor::TensorList weights, tensor::Decode(bytes));
  RETURN_IF_ERROR(it->second->trainer->SetWeights(weights));
  return it->second.get();
}

void RoundWorker::Audit(v1::AuditEvent event, const std::string& run_id, uint64_t round,
                        const std::function<void(v1::AuditRecord&)>& fill) const {
  if (!options_.audit) return;
  v1::AuditRecord r;
  r.set_event(event);
  r.mutable_actor()->set_identity("node");
  r.set_run_id(run_id);
  r.set_round(round);
  r.set_outcome(v1::SUCCESS);
  r.mutable_hashes()->set_run_spec(run_id);
  fill(r);
  options_.audit(std::move(r));
}

absl::StatusOr<RoundWorker::RunContext*> RoundWorker::PrepareTask(
    const std::string& run_id, uint64_t round, const char* kind, const v1::RunSpec& spec,
    const v1::Sha256& global_weights) {
  absl::StatusOr<RunContext*> run = Prepare(run_id, spec, global_weights);
  if (absl::IsPermissionDenied(run.status()) || absl::IsInvalidArgument(run.status())) {
    Audit(v1::JOB_REFUSED, run_id, round, [&](v1::AuditRecord& r) {
      r.set_outcome(v1::REFUSED);
      r.set_reason(std::string(run.status().message()));
      (*r.mutable_parameters())["task"] = kind;
    });
  } else if (run.ok()) {
    Audit(v1::JOB_APPROVED, run_id, round, [&](v1::AuditRecord& r) {
      r.mutable_hashes()->set_artifact(spec.artifact_sha256());
      r.mutable_hashes()->set_global_before(crypto::ToHex(global_weights.digest()));
      (*r.mutable_parameters())["task"] = kind;
    });
  }
  return run;
}

absl::StatusOr<TrainOutcome> RoundWorker::Train(const v1::TrainTask& task,
                                                const ProgressFn& progress) {
  if (progress) progress(v1::TaskProgress::STAGE_PREPARING, 0, 0);
  ASSIGN_OR_RETURN(RunContext * run, PrepareTask(task.run_id(), task.round(), "train",
                                                 task.spec(), task.global_weights()));
  const std::vector<size_t> indices = run->data->IndicesOf(Split::kTrain);
  std::function<void(int64_t, int64_t)> steps;
  if (progress) {
    steps = [&progress](int64_t done, int64_t total) {
      progress(v1::TaskProgress::STAGE_TRAINING, static_cast<uint64_t>(done),
               static_cast<uint64_t>(total));
    };
  }
  const absl::Time started = absl::Now();
  ASSIGN_OR_RETURN(TrainResult result,
                   run->trainer->Train(*run->data, indices, task.round_seed(), steps));
  const absl::Duration train_time = absl::Now() - started;
  Audit(v1::DATA_READ, task.run_id(), task.round(), [&](v1::AuditRecord& r) {
    r.set_samples(static_cast<uint64_t>(result.samples));
    r.mutable_hashes()->set_dataset(run->data->summary().fingerprint);
    (*r.mutable_parameters())["split"] = "train";
  });
  TrainOutcome out;
  out.info.set_train_seconds(absl::ToDoubleSeconds(train_time));
  out.update = tensor::Encode(result.delta);
  out.info.set_samples(static_cast<uint64_t>(result.samples));
  out.info.set_train_loss(result.mean_loss);
  out.info.set_train_accuracy(result.accuracy);
  out.info.set_steps(static_cast<uint64_t>(result.steps));
  LOG(INFO) << "round " << task.round() << " of run " << task.run_id().substr(0, 12)
            << ": trained on " << result.samples << " examples, loss " << result.mean_loss;
  return out;
}

absl::StatusOr<EvalResult> RoundWorker::Evaluate(const v1::EvaluateTask& task,
                                                 const ProgressFn& progress) {
  if (progress) progress(v1::TaskProgress::STAGE_PREPARING, 0, 0);
  ASSIGN_OR_RETURN(RunContext * run, PrepareTask(task.run_id(), task.round(), "evaluate",
                                                 task.spec(), task.global_weights()));
  const std::vector<size_t> indices = run->data->IndicesOf(Split::kValidation);
  Audit(v1::DATA_READ, task.run_id(), task.round(), [&](v1::AuditRecord& r) {
    r.set_samples(indices.size());
    r.mutable_hashes()->set_dataset(run->data->summary().fingerprint);
    (*r.mutable_parameters())["split"] = "validation";
  });
  // A small site may have no patient in its validation split: it reports
  // zero examples rather than nothing, so the round need not wait for it.
  if (indices.empty()) return EvalResult{};
  if (progress) progress(v1::TaskProgress::STAGE_EVALUATING, 0, indices.size());
  ASSIGN_OR_RETURN(EvalResult result, run->trainer->Evaluate(*run->data, indices));
  if (progress) progress(v1::TaskProgress::STAGE_EVALUATING, indices.size(), indices.size());
  return result;
}

}  // namespace tverr::node
