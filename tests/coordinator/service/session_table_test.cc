#include "coordinator/service/session_table.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/time/clock.h"

namespace tverr::coordinator {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(SessionTable, NewJoinReplacesTheOldSession) {
  SessionTable table;
  std::string first = table.Open("fl://n/node/a", kT0);
  ASSERT_TRUE(table.AttachStream("fl://n/node/a", first).ok());
  EXPECT_TRUE(table.IsOnline("fl://n/node/a"));
  std::string second = table.Open("fl://n/node/a", kT0);
  EXPECT_NE(first, second);
  EXPECT_FALSE(table.IsCurrent("fl://n/node/a", first));
  EXPECT_TRUE(table.IsCurrent("fl://n/node/a", second));
  EXPECT_FALSE(table.IsOnline("fl://n/node/a")) << "the new session has no stream yet";
  EXPECT_EQ(table.WaitForTask("fl://n/node/a", first, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(table.AttachStream("fl://n/node/a", first).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SessionTable, QueuedTasksArriveInOrderAndTimeoutIsEmpty) {
  SessionTable table;
  std::string id = table.Open("fl://n/node/a", kT0);
  for (const char* t : {"t1", "t2"}) {
    v1::Task task;
    task.set_task_id(t);
    ASSERT_TRUE(table.Enqueue("fl://n/node/a", task).ok());
  }
  EXPECT_EQ((*table.WaitForTask("fl://n/node/a", id, absl::ZeroDuration()))->task_id(), "t1");
  EXPECT_EQ((*table.WaitForTask("fl://n/node/a", id, absl::ZeroDuration()))->task_id(), "t2");
  auto none = table.WaitForTask("fl://n/node/a", id, absl::Milliseconds(10));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(table.Enqueue("fl://n/node/zz", v1::Task()).code(), absl::StatusCode::kNotFound);
}

TEST(SessionTable, ShutdownWakesWaiters) {
  SessionTable table;
  std::string id = table.Open("fl://n/node/a", kT0);
  absl::Status result;
  std::thread waiter([&] {
    result = table.WaitForTask("fl://n/node/a", id, absl::Seconds(60)).status();
  });
  // Give the waiter time to block, so that the wake-up (not the early
  // check) is what ends the wait.
  absl::SleepFor(absl::Milliseconds(100));
  table.Shutdown();
  waiter.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(table.AttachStream("fl://n/node/a", id).code(), absl::StatusCode::kUnavailable);
}

TEST(SessionTable, OneStreamPerSession) {
  SessionTable table;
  std::string id = table.Open("fl://n/node/a", kT0);
  ASSERT_TRUE(table.AttachStream("fl://n/node/a", id).ok());
  EXPECT_EQ(table.AttachStream("fl://n/node/a", id).code(), absl::StatusCode::kFailedPrecondition);
  table.DetachStream("fl://n/node/a", id);
  EXPECT_FALSE(table.IsOnline("fl://n/node/a"));
  EXPECT_TRUE(table.AttachStream("fl://n/node/a", id).ok());
}

TEST(SessionTable, SilentSessionsAreDetectedAndClosed) {
  SessionTable table;
  const absl::Duration max_silence = absl::Seconds(30);
  std::string id = table.Open("fl://n/node/a", kT0);
  EXPECT_FALSE(table.Silent("fl://n/node/a", id, kT0 + absl::Seconds(30), max_silence));
  EXPECT_TRUE(table.Silent("fl://n/node/a", id, kT0 + absl::Seconds(31), max_silence));
  EXPECT_TRUE(table.Heartbeat("fl://n/node/a", id, kT0 + absl::Seconds(20)));
  EXPECT_FALSE(table.Silent("fl://n/node/a", id, kT0 + absl::Seconds(45), max_silence));
  EXPECT_FALSE(table.Heartbeat("fl://n/node/a", "other", kT0));
  table.Close("fl://n/node/a", id);
  EXPECT_FALSE(table.IsCurrent("fl://n/node/a", id));
  EXPECT_FALSE(table.Heartbeat("fl://n/node/a", id, kT0)) << "a closed session must rejoin";
}

}  // namespace
}  // namespace tverr::coordinator
