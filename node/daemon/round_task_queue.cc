#include "node/daemon/round_task_queue.h"

#include <utility>

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"

namespace tverr::node {
namespace {

// `task` without its deadline, which a reopened round moves.
v1::Task WithoutDeadline(v1::Task task) {
  if (task.has_train()) task.mutable_train()->clear_deadline_unix_millis();
  if (task.has_evaluate()) task.mutable_evaluate()->clear_deadline_unix_millis();
  return task;
}

// True if `b` asks for the same work as `a` (see the header).
bool SameWork(const v1::Task& a, const v1::Task& b) {
  if (a.task_id() != b.task_id()) return false;
  if (a.has_train() && a.train().has_secure()) return false;
  return google::protobuf::util::MessageDifferencer::Equals(WithoutDeadline(a), WithoutDeadline(b));
}

}  // namespace

absl::Status RoundTaskQueue::Push(v1::Task task) {
  if (in_progress_ && SameWork(*in_progress_, task)) {
    return absl::AlreadyExistsError(
        absl::StrCat("task ", task.task_id(), " is already in progress"));
  }
  for (v1::Task& t : waiting_) {
    if (SameWork(t, task)) {
      return absl::AlreadyExistsError(
          absl::StrCat("task ", task.task_id(), " is already waiting"));
    }
    if (t.task_id() == task.task_id()) {
      t = std::move(task);  // the coordinator's newer version of work not yet started
      return absl::OkStatus();
    }
  }
  if (waiting_.size() >= max_waiting_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(waiting_.size(), " round tasks already waiting"));
  }
  waiting_.push_back(std::move(task));
  return absl::OkStatus();
}

bool RoundTaskQueue::NewSessionForInProgress(const v1::Task& task) const {
  if (!in_progress_ || in_progress_->task_id() != task.task_id()) return false;
  if (!task.has_train() || !task.train().has_secure()) return false;
  if (!in_progress_->has_train() || !in_progress_->train().has_secure()) return false;
  return !google::protobuf::util::MessageDifferencer::Equals(in_progress_->train().secure(),
                                                             task.train().secure());
}

v1::Task RoundTaskQueue::Take() {
  v1::Task task = std::move(waiting_.front());
  waiting_.pop_front();
  in_progress_ = task;
  return task;
}

}  // namespace tverr::node
