// Sends a node's task progress (v1::TaskProgress) to the coordinator from a
// thread of its own, so that training never waits on the network: Update()
// only stores the latest value; the thread sends it when the stage changes
// or at most every `interval`. Reports that fail are dropped (progress is
// informational; the next one supersedes it). Thread-safe.
#ifndef TVERR_NODE_DAEMON_PROGRESS_REPORTER_H_
#define TVERR_NODE_DAEMON_PROGRESS_REPORTER_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tverr/v1/node.pb.h"

namespace tverr::node {

class ProgressReporter {
 public:
  using Send = std::function<void(const v1::TaskProgress&)>;
  ProgressReporter(Send send, absl::Duration interval);
  // Stops the thread (a report being sent finishes first).
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // The task's latest progress.
  void Update(const v1::TaskProgress& progress);

 private:
  void Loop();

  const Send send_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  v1::TaskProgress latest_ ABSL_GUARDED_BY(mu_);
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool urgent_ ABSL_GUARDED_BY(mu_) = false;  // stage, run or round changed
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_PROGRESS_REPORTER_H_
