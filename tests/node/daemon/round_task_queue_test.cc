#include "node/daemon/round_task_queue.h"

#include <gtest/gtest.h>

namespace tverr::node {
namespace {

v1::Task Train(const std::string& id, int64_t deadline = 1000) {
  v1::Task task;
  task.set_task_id(id);
  task.mutable_train()->set_run_id("run");
  task.mutable_train()->set_round(1);
  task.mutable_train()->set_deadline_unix_millis(deadline);
  return task;
}

TEST(RoundTaskQueue, RunsTasksInOrder) {
  RoundTaskQueue queue(4);
  ASSERT_TRUE(queue.Push(Train("t1")).ok());
  ASSERT_TRUE(queue.Push(Train("t2")).ok());
  EXPECT_EQ(queue.waiting(), 2u);
  EXPECT_EQ(queue.Take().task_id(), "t1");
  queue.Done();
  EXPECT_EQ(queue.Take().task_id(), "t2");
  EXPECT_TRUE(queue.empty());
}

TEST(RoundTaskQueue, RepeatOfWaitingOrRunningTaskIsRefused) {
  RoundTaskQueue queue(4);
  ASSERT_TRUE(queue.Push(Train("t1")).ok());
  absl::Status s = queue.Push(Train("t1"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "task t1 is already waiting");
  EXPECT_EQ(queue.waiting(), 1u);

  EXPECT_EQ(queue.Take().task_id(), "t1");
  s = queue.Push(Train("t1"));  // sent again while it is trained
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "task t1 is already in progress");
  EXPECT_TRUE(queue.empty());
  // Other tasks are queued meanwhile.
  EXPECT_TRUE(queue.Push(Train("t2")).ok());
}

// A coordinator that restarted reopens the round: the same task with a
// later deadline repeats the work in hand. Other differences make it new
// work, and so does a secure task (a new secure session).
TEST(RoundTaskQueue, OnlyTheSameWorkIsARepeat) {
  RoundTaskQueue queue(8);
  ASSERT_TRUE(queue.Push(Train("t1", 1000)).ok());
  queue.Take();
  EXPECT_EQ(queue.Push(Train("t1", 5000)).code(), absl::StatusCode::kAlreadyExists);

  v1::Task other_model = Train("t1", 5000);
  other_model.mutable_train()->mutable_global_weights()->set_digest("another model");
  EXPECT_TRUE(queue.Push(other_model).ok());

  queue.Done();
  v1::Task secure = Train("s1");
  secure.mutable_train()->mutable_secure()->set_threshold(2);
  ASSERT_TRUE(queue.Push(secure).ok());
  while (!queue.empty()) queue.Take();  // s1 in progress
  EXPECT_FALSE(queue.NewSessionForInProgress(secure)) << "the same session";
  v1::Task reopened = secure;
  reopened.mutable_train()->mutable_secure()->set_threshold(3);
  EXPECT_TRUE(queue.NewSessionForInProgress(reopened));
  EXPECT_FALSE(queue.NewSessionForInProgress(Train("s1"))) << "not secure";
  EXPECT_TRUE(queue.Push(secure).ok()) << "a secure task is never a repeat";
}

TEST(RoundTaskQueue, NewerVersionOfAWaitingTaskTakesItsPlace) {
  RoundTaskQueue queue(8);
  v1::Task old_session = Train("s1");
  old_session.mutable_train()->mutable_secure()->set_threshold(2);
  v1::Task new_session = Train("s1", 9000);
  new_session.mutable_train()->mutable_secure()->set_threshold(3);
  ASSERT_TRUE(queue.Push(Train("t0")).ok());
  ASSERT_TRUE(queue.Push(old_session).ok());
  ASSERT_TRUE(queue.Push(new_session).ok());
  EXPECT_EQ(queue.waiting(), 2u);
  EXPECT_EQ(queue.Take().task_id(), "t0");
  const v1::Task s1 = queue.Take();
  EXPECT_EQ(s1.train().secure().threshold(), 3u);
  EXPECT_EQ(s1.train().deadline_unix_millis(), 9000);
}

TEST(RoundTaskQueue, RepeatAfterTheTaskIsDoneIsNewWork) {
  // A retried round sends the same task id again: it must be trained again.
  RoundTaskQueue queue(4);
  ASSERT_TRUE(queue.Push(Train("t1")).ok());
  queue.Take();
  queue.Done();
  EXPECT_TRUE(queue.Push(Train("t1")).ok());
  EXPECT_EQ(queue.Take().task_id(), "t1");
}

TEST(RoundTaskQueue, FullQueueRefusesMore) {
  RoundTaskQueue queue(2);
  ASSERT_TRUE(queue.Push(Train("t1")).ok());
  ASSERT_TRUE(queue.Push(Train("t2")).ok());
  absl::Status s = queue.Push(Train("t3"));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "2 round tasks already waiting");
  // The task in progress does not count against the limit.
  queue.Take();
  EXPECT_TRUE(queue.Push(Train("t3")).ok());
}

}  // namespace
}  // namespace tverr::node
