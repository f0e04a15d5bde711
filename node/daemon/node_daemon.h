// fl-node's connection to the coordinator. The node is always the client:
// it dials out, joins (its identity is its certificate), keeps the task
// stream open, sends heartbeats, and when anything breaks reconnects with
// exponential backoff and jitter. Run() blocks until Stop().
// Thread-safe: Stop() and the observers may be called from any thread.
#ifndef TVERR_NODE_DAEMON_NODE_DAEMON_H_
#define TVERR_NODE_DAEMON_NODE_DAEMON_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tverr/v1/common.pb.h"
#include "tverr/v1/config.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace tverr::node {

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
};

class NodeDaemon {
 public:
  explicit NodeDaemon(NodeDaemonOptions options);
  ~NodeDaemon();

  // Connects and serves until Stop(); reconnects by itself.
  void Run();
  // Makes Run() return soon; cancels any call in flight.
  void Stop();

  // Joins that succeeded since start.
  uint64_t successful_joins() const { return joins_.load(); }
  // True while a task stream is open.
  bool connected() const { return connected_.load(); }

 private:
  // One connection attempt and, if it joins, the whole session. Returns why
  // the session ended.
  absl::Status RunSession();
  void HeartbeatLoop(class SessionState* session);
  bool WaitForStop(absl::Duration timeout);

  const NodeDaemonOptions options_;
  std::atomic<uint64_t> joins_{0};
  std::atomic<bool> connected_{false};

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Context of the call in flight (join or task stream), for cancelling.
  grpc::ClientContext* active_call_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool reset_backoff_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_NODE_DAEMON_H_
