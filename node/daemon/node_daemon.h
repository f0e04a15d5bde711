// fl-node's connection to the coordinator. The node is always the client:
// it dials out, joins (its identity is its certificate), keeps the task
// stream open, sends heartbeats, and when anything breaks reconnects with
// exponential backoff and jitter. Run() blocks until Stop().
//
// Round tasks run on one worker thread that lives as long as the daemon:
// the task stream only queues them (FIFO), so a long training never stalls
// the stream. The worker downloads payloads and uploads the update over the
// stub of whatever session is current when it needs one, so a task survives
// a reconnect.
// Thread-safe: Stop() and the observers may be called from any thread.
#ifndef TVERR_NODE_DAEMON_NODE_DAEMON_H_
#define TVERR_NODE_DAEMON_NODE_DAEMON_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/daemon/progress_reporter.h"
#include "common/audit/audit_log.h"
#include "node/daemon/receipt_keeper.h"
#include "node/daemon/round_task_queue.h"
#include "node/daemon/secure_rounds.h"
#include "node/worker/round_worker.h"
#include "tverr/v1/common.pb.h"
#include "tverr/v1/config.pb.h"
#include "tverr/v1/node.grpc.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace tverr::node {

class PayloadClient;
class SessionFetcher;

struct NodeDaemonOptions {
  // Validated config (see FinishNodeConfig).
  v1::NodeConfig config;
  // Reported at join.
  std::string software_version;
  v1::NodeCapabilities capabilities;
  // Seed for the backoff jitter. Default: random.
  uint64_t backoff_seed = 0;
  // A session must last this long before the backoff starts again from its
  // initial delay, so that a coordinator that accepts joins but drops the
  // stream at once (or a second node with the same certificate) does not
  // cause a reconnect storm. Default: 10 s.
  absl::Duration stable_session = absl::Seconds(10);
  // Round work. The daemon runs training tasks only when
  // `worker.data.directory.directory` is set; otherwise it refuses them with
  // a log line. Default: unset.
  RoundWorkerOptions worker;
  // Round tasks waiting for the worker beyond this many are refused (logged).
  // Default: 16.
  size_t max_queued_tasks = 16;
};

class NodeDaemon {
 public:
  // Starts the worker thread when round work is configured.
  explicit NodeDaemon(NodeDaemonOptions options);
  // Stops, then waits for the worker thread (a training in progress runs to
  // its end; transfers in flight are cancelled).
  ~NodeDaemon();

  // Connects and serves until Stop(); reconnects by itself.
  void Run();
  // Makes Run() return soon; cancels any call in flight.
  void Stop();

  // Joins that succeeded since start.
  uint64_t successful_joins() const { return joins_.load(); }
  // True while a task stream is open.
  bool connected() const { return connected_.load(); }
  // Why this node stopped taking part (a receipt check failed: the
  // coordinator's audit log was rewritten); empty while it takes part.
  std::string halted() const;

 private:
  // One connection attempt and, if it joins, the whole session. Returns why
  // the session ended.
  absl::Status RunSession();
  void HeartbeatLoop(class SessionState* session);
  bool WaitForStop(absl::Duration timeout);
  // Queues a train task for the worker, or refuses it (logged).
  void EnqueueRoundTask(v1::Task task);
  void WorkerLoop();
  void RunEvaluateTask(const v1::Task& task);
  void RunTrainTask(const v1::Task& task);
  // What this node's SecAggClient needs (PEMs read from the TLS files).
  absl::StatusOr<SecAggClient::Options> SecureOptions();
  // Sends one secure-aggregation message over the current session.
  template <typename Request>
  absl::Status SendSecure(
      grpc::Status (v1::NodeService::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                 v1::SecAggAck*),
      const Request& request);
  // Progress of a task of `run_id`/`round`, for the reporter.
  ProgressFn ProgressFor(const std::string& run_id, uint64_t round);
  // The stub of the current session; waits for one until `deadline` or
  // Stop(). Null if none came.
  std::shared_ptr<v1::NodeService::Stub> AwaitSessionStub(absl::Time deadline);

  const NodeDaemonOptions options_;
  std::atomic<uint64_t> joins_{0};
  std::atomic<bool> connected_{false};

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Context of the call in flight (join or task stream), for cancelling.
  grpc::ClientContext* active_call_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool reset_backoff_ ABSL_GUARDED_BY(mu_) = false;
  // Stub of the joined session; null between sessions.
  std::shared_ptr<v1::NodeService::Stub> session_stub_ ABSL_GUARDED_BY(mu_);
  // This node's identity as the coordinator named it at the last join.
  std::string identity_ ABSL_GUARDED_BY(mu_);
  // Round tasks waiting for the worker (oldest first) and the one it works on.
  RoundTaskQueue queue_ ABSL_GUARDED_BY(mu_);
  // Transfers of the task being worked on, for cancelling on Stop().
  PayloadClient* active_transfers_ ABSL_GUARDED_BY(mu_) = nullptr;

  // Null when round work is not configured. Used by the worker thread only.
  std::unique_ptr<RoundWorker> round_worker_;
  std::unique_ptr<SessionFetcher> fetcher_;
  std::thread worker_thread_;
  // Reports the worker's progress over the current session; null without
  // round work. Declared last: stopped before the members it uses go.
  std::unique_ptr<ProgressReporter> progress_;
  // Secure-aggregation rounds; null without round work.
  std::unique_ptr<SecureRounds> secure_rounds_;
  // The round receipts (signed audit tree heads); null if the state
  // directory could not hold them (the node then refuses round work).
  std::unique_ptr<ReceiptKeeper> receipts_;
  std::string receipts_error_;
  // The hospital's own audit log (<state_dir>/audit): approvals and
  // refusals, data read, updates sent, receipts and their checks. Null if
  // it could not be opened (the node then refuses round work).
  std::unique_ptr<audit::AuditLog> audit_;
  // Writes a record to the node's audit log (durably; errors logged).
  void Audit(v1::AuditRecord record);
  // Checks and keeps a receipt (stream thread).
  void OnReceipt(const v1::AuditTreeHead& head);
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_NODE_DAEMON_H_
