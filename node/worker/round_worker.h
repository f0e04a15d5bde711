// What a node does for a round of an approved run: check that the run is
// approved and the task is consistent (before touching any data), fetch and
// verify the model artifact and the global weights, load the data with the
// run's input spec, labels and splits, train (or evaluate), and hand back
// the update as TVTS bytes with its sample count. The network side (task
// stream, Download, Upload) is the daemon's; payloads come through the
// PayloadFetcher seam so that this can be tested in-process.
// Thread-compatible: one task at a time.
#ifndef TVERR_NODE_WORKER_ROUND_WORKER_H_
#define TVERR_NODE_WORKER_ROUND_WORKER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "node/data/dicom_directory_source.h"
#include "node/trainer/trainer.h"
#include "tverr/v1/audit.pb.h"
#include "tverr/v1/config.pb.h"
#include "tverr/v1/node.pb.h"

namespace tverr::node {

// Gets a payload by digest (for example with NodeService.Download). The
// worker verifies the digest itself.
class PayloadFetcher {
 public:
  virtual ~PayloadFetcher() = default;
  virtual absl::StatusOr<std::string> Fetch(const std::string& sha256_hex,
                                            v1::PayloadKind kind) = 0;
};

struct RoundWorkerOptions {
  // Where the data is (from the node config).
  v1::NodeDataConfig data;
  // Run ids this hospital approved.
  std::set<std::string> approved_runs;
  // Where verified artifacts are kept (<work_dir>/artifacts/<sha256>.pt).
  std::string work_dir;
  // Training threads when the run leaves it to the node (0 = all cores).
  int cpu_cores = 0;
  // The node's audit log (optional): each task approved or refused, and
  // what data it read (counts and the dataset fingerprint only).
  std::function<void(v1::AuditRecord)> audit;
};

struct TrainOutcome {
  // The weight delta, TVTS-encoded, ready to upload.
  std::string update;
  v1::UpdateInfo info;
};

// Where a task is, for the coordinator's progress view (see
// v1::TaskProgress): called from the worker's thread, so it must be cheap.
using ProgressFn =
    std::function<void(v1::TaskProgress::Stage stage, uint64_t done, uint64_t total)>;

class RoundWorker {
 public:
  RoundWorker(RoundWorkerOptions options, PayloadFetcher* fetcher);
  ~RoundWorker();

  // PERMISSION_DENIED for a run not approved (nothing read); INVALID_ARGUMENT
  // when the task's run id is not its spec's id; DATA_LOSS when a payload
  // does not match its digest; errors of loading data or training.
  // `progress`, when set, hears of each stage and training step.
  absl::StatusOr<TrainOutcome> Train(const v1::TrainTask& task, const ProgressFn& progress = {});

  // Same checks; evaluates on the validation split.
  absl::StatusOr<EvalResult> Evaluate(const v1::EvaluateTask& task,
                                      const ProgressFn& progress = {});

 private:
  struct RunContext;
  absl::StatusOr<RunContext*> Prepare(const std::string& run_id, const v1::RunSpec& spec,
                                      const v1::Sha256& global_weights);
  // Prepare, audited as the task's approval or refusal.
  absl::StatusOr<RunContext*> PrepareTask(const std::string& run_id, uint64_t round,
                                          const char* kind, const v1::RunSpec& spec,
                                          const v1::Sha256& global_weights);
  void Audit(v1::AuditEvent event, const std::string& run_id, uint64_t round,
             const std::function<void(v1::AuditRecord&)>& fill) const;

  RoundWorkerOptions options_;
  PayloadFetcher* fetcher_;
  std::map<std::string, std::unique_ptr<RunContext>> runs_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_WORKER_ROUND_WORKER_H_
