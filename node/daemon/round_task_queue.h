// The node's queue of round work (train and evaluate tasks), run one at a
// time by the daemon's worker. A coordinator that restarts reopens the
// round it was in and sends its tasks again: a task that repeats work
// still waiting or in progress (same task id, equal but for its deadline)
// is refused, so the node does not train the same round twice at once;
// the work in hand uploads to the coordinator serving the round. A secure
// task is never such a repeat (a reopened round is a new secure session
// with new keys), nor is any task once the work is done (a retried round
// reuses the task id, and must be trained again). A task with the id of one
// still waiting but other content (a reopened secure round) takes its
// place. Not thread-safe: the daemon guards it with its mutex.
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

  // Queues `task`. ALREADY_EXISTS if it repeats work waiting or in progress
  // (see above); RESOURCE_EXHAUSTED if `max_waiting` tasks are waiting.
  absl::Status Push(v1::Task task);

  bool empty() const { return waiting_.empty(); }
  // True if `task` is a new secure session for the task in progress (same
  // id, another secure setup): the coordinator reopened that round.
  bool NewSessionForInProgress(const v1::Task& task) const;
  size_t waiting() const { return waiting_.size(); }

  // The next task, now in progress until Done(). Precondition: !empty().
  v1::Task Take();
  // The task taken last is finished (whatever its outcome).
  void Done() { in_progress_.reset(); }

 private:
  const size_t max_waiting_;
  std::deque<v1::Task> waiting_;
  std::optional<v1::Task> in_progress_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_ROUND_TASK_QUEUE_H_
