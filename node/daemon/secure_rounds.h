// The node daemon's secure-aggregation rounds: the worker thread starts a
// round's SecAggClient (which advertises its keys) and later waits for the
// peers' shares before it masks and uploads; the coordinator's phase tasks
// arrive on the task stream and are answered from the stream's thread
// while the worker trains. One secure round at a time (the worker runs one
// task at a time); a new round replaces the previous one. Thread-safe.
#ifndef TVERR_NODE_DAEMON_SECURE_ROUNDS_H_
#define TVERR_NODE_DAEMON_SECURE_ROUNDS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/secagg/secagg_client.h"
#include "tverr/v1/node.pb.h"

namespace tverr::node {

class SecureRounds {
 public:
  // How phase messages reach the coordinator (over the current session).
  struct Sender {
    std::function<absl::Status(const v1::SecAggAdvertiseRequest&)> advertise;
    std::function<absl::Status(const v1::SecAggShareKeysRequest&)> share_keys;
    std::function<absl::Status(const v1::SecAggUnmaskRequest&)> unmask;
  };
  explicit SecureRounds(Sender sender) : sender_(std::move(sender)) {}

  // Worker: starts the secure part of `task` and advertises the keys.
  absl::StatusOr<std::shared_ptr<SecAggClient>> Begin(SecAggClient::Options options,
                                                      const v1::TrainTask& task);
  // Stream: the coordinator's phase tasks. Refusals (this node's safety
  // rules, a task for another round) are logged with the reason and not
  // answered: the coordinator then drops this node or aborts the round.
  void OnKeys(const v1::SecAggKeysTask& task);
  void OnShares(const v1::SecAggSharesTask& task);
  void OnUnmask(const v1::SecAggUnmaskTask& task);
  // Worker: waits until the round's shares were taken in. DEADLINE_EXCEEDED,
  // CANCELLED (Cancel()), FAILED_PRECONDITION (another round started, or
  // this one was superseded).
  absl::Status AwaitShares(const std::string& run_id, uint64_t round, absl::Time deadline);
  // The coordinator reopened round `round` of `run_id` (it restarted) and
  // sent a new task for it: the old session is over. Its waiter returns at
  // once, and phase tasks find no client until the new task begins.
  void Supersede(const std::string& run_id, uint64_t round);
  // Stops every wait.
  void Cancel();

 private:
  struct Round {
    std::string run_id;
    uint64_t round = 0;
    std::shared_ptr<SecAggClient> client;
    bool shares = false;
  };
  // The client of `run_id`/`round` if it is the current round.
  std::shared_ptr<SecAggClient> Find(const std::string& run_id, uint64_t round);

  const Sender sender_;
  absl::Mutex mu_;
  std::optional<Round> current_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_SECURE_ROUNDS_H_
