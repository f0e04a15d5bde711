#include "node/daemon/progress_reporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace tverr::node {
namespace {

v1::TaskProgress Progress(v1::TaskProgress::Stage stage, uint64_t done) {
  v1::TaskProgress p;
  p.set_run_id("run");
  p.set_round(1);
  p.set_stage(stage);
  p.set_done(done);
  p.set_total(100);
  return p;
}

class Recorder {
 public:
  void Send(const v1::TaskProgress& p) {
    absl::MutexLock lock(&mu_);
    sent_.push_back(p);
  }
  std::vector<v1::TaskProgress> sent() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }
  // Waits until `n` reports were sent (or 10 s).
  bool WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sent_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::TaskProgress> sent_ ABSL_GUARDED_BY(mu_);
};

TEST(ProgressReporter, StepsWithinAnIntervalAreCoalescedToTheLatest) {
  Recorder recorder;
  {
    ProgressReporter reporter([&](const v1::TaskProgress& p) { recorder.Send(p); },
                              absl::Seconds(1));
    reporter.Update(Progress(v1::TaskProgress::STAGE_TRAINING, 1));
    ASSERT_TRUE(recorder.WaitFor(1));  // a new stage goes out at once
    for (uint64_t i = 2; i <= 50; ++i) reporter.Update(Progress(v1::TaskProgress::STAGE_TRAINING, i));
    ASSERT_TRUE(recorder.WaitFor(2));  // then the latest, after the interval
    absl::SleepFor(absl::Milliseconds(200));
  }
  const std::vector<v1::TaskProgress> sent = recorder.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].done(), 1u);
  EXPECT_EQ(sent[1].done(), 50u);
}

TEST(ProgressReporter, ANewStageIsSentWithoutWaitingForTheInterval) {
  Recorder recorder;
  ProgressReporter reporter([&](const v1::TaskProgress& p) { recorder.Send(p); },
                            absl::Hours(1));
  reporter.Update(Progress(v1::TaskProgress::STAGE_PREPARING, 0));
  ASSERT_TRUE(recorder.WaitFor(1));
  reporter.Update(Progress(v1::TaskProgress::STAGE_TRAINING, 0));
  ASSERT_TRUE(recorder.WaitFor(2));
  reporter.Update(Progress(v1::TaskProgress::STAGE_TRAINING, 5));  // waits an hour
  reporter.Update(Progress(v1::TaskProgress::STAGE_EVALUATING, 0));
  ASSERT_TRUE(recorder.WaitFor(3));
  const std::vector<v1::TaskProgress> sent = recorder.sent();
  EXPECT_EQ(sent[2].stage(), v1::TaskProgress::STAGE_EVALUATING);
}

TEST(ProgressReporter, StopsPromptlyWithAReportPending) {
  Recorder recorder;
  const absl::Time start = absl::Now();
  {
    ProgressReporter reporter([&](const v1::TaskProgress& p) { recorder.Send(p); },
                              absl::Hours(1));
    reporter.Update(Progress(v1::TaskProgress::STAGE_TRAINING, 1));
    ASSERT_TRUE(recorder.WaitFor(1));
    reporter.Update(Progress(v1::TaskProgress::STAGE_TRAINING, 2));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace tverr::node
