#include "node/daemon/round_task_queue.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tverr::node {

absl::Status RoundTaskQueue::Push(v1::Task task) {
  if (in_progress_ == task.task_id()) {
    return absl::AlreadyExistsError(
        absl::StrCat("task ", task.task_id(), " is already in progress"));
  }
  for (const v1::Task& t : waiting_) {
    if (t.task_id() == task.task_id()) {
      return absl::AlreadyExistsError(
          absl::StrCat("task ", task.task_id(), " is already waiting"));
    }
  }
  if (waiting_.size() >= max_waiting_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(waiting_.size(), " round tasks already waiting"));
  }
  waiting_.push_back(std::move(task));
  return absl::OkStatus();
}

v1::Task RoundTaskQueue::Take() {
  v1::Task task = std::move(waiting_.front());
  waiting_.pop_front();
  in_progress_ = task.task_id();
  return task;
}

}  // namespace tverr::node
