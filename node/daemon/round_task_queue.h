// The node's queue of round work (train and evaluate tasks), run one at a
// time by the daemon's worker. A task the coordinator sends again while the
// same task (same task id) is still waiting or being worked on is refused:
// after a reconnect, or a coordinator restart that reopens the round, the
// node must not train the same round twice at once; the work in progress
// uploads to whichever coordinator serves the round. Once a task is done, a
// repeat is new work (the round was retried, or its update was lost), and
// is queued. Not thread-safe: the daemon guards it with its mutex.
#ifndef TVERR_NODE_DAEMON_ROUND_TASK_QUEUE_H_
#define TVERR_NODE_DAEMON_ROUND_TASK_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "tverr/v1/node.pb.h"

namespace tverr::node {

class RoundTaskQueue {
 public:
  explicit RoundTaskQueue(size_t max_waiting) : max_waiting_(max_waiting) {}

  // Queues `task`. ALREADY_EXISTS if the same task id is waiting or in
  // progress; RESOURCE_EXHAUSTED if `max_waiting` tasks are waiting.
  absl::Status Push(v1::Task task);

  bool empty() const { return waiting_.empty(); }
  size_t waiting() const { return waiting_.size(); }

  // The next task, now in progress until Done(). Precondition: !empty().
  v1::Task Take();
  // The task taken last is finished (whatever its outcome).
  void Done() { in_progress_.reset(); }

 private:
  const size_t max_waiting_;
  std::deque<v1::Task> waiting_;
  std::optional<std::string> in_progress_;  // its task id
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_ROUND_TASK_QUEUE_H_
