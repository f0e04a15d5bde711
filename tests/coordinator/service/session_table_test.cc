#include "coordinator/service/session_table.h"

#include <gtest/gtest.h>

#include <thread>

namespace tverr::coordinator {
namespace {

TEST(SessionTable, NewJoinReplacesTheOldSession) {
  SessionTable table;
  std::string first = table.Open("fl://n/node/a");
  ASSERT_TRUE(table.AttachStream("fl://n/node/a", first).ok());
  EXPECT_TRUE(table.IsOnline("fl://n/node/a"));
  std::string second = table.Open("fl://n/node/a");
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
  std::string id = table.Open("fl://n/node/a");
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
  std::string id = table.Open("fl://n/node/a");
  absl::Status result;
  std::thread waiter([&] {
    result = table.WaitForTask("fl://n/node/a", id, absl::Seconds(60)).status();
  });
  table.Shutdown();
  waiter.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(table.AttachStream("fl://n/node/a", id).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tverr::coordinator
