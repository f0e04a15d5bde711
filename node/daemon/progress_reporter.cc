#include "node/daemon/progress_reporter.h"

#include "absl/time/clock.h"

namespace tverr::node {

ProgressReporter::ProgressReporter(Send send, absl::Duration interval)
    : send_(std::move(send)), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

ProgressReporter::~ProgressReporter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void ProgressReporter::Update(const v1::TaskProgress& progress) {
  absl::MutexLock lock(&mu_);
  if (progress.stage() != latest_.stage() || progress.round() != latest_.round() ||
      progress.run_id() != latest_.run_id()) {
    urgent_ = true;
  }
  latest_ = progress;
  pending_ = true;
}

void ProgressReporter::Loop() {
  absl::Time last_sent = absl::InfinitePast();
  while (true) {
    v1::TaskProgress report;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || urgent_;
      };
      // Wake for urgent reports at once, for the others once the interval
      // since the last report has passed.
      if (pending_) {
        mu_.AwaitWithDeadline(absl::Condition(&ready), last_sent + interval_);
      } else {
        auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || pending_; };
        mu_.Await(absl::Condition(&any));
        if (!urgent_ && !stopping_) {
          mu_.AwaitWithDeadline(absl::Condition(&ready), last_sent + interval_);
        }
      }
      if (stopping_) return;
      if (!pending_) continue;
      report = latest_;
      pending_ = false;
      urgent_ = false;
    }
    send_(report);
    last_sent = absl::Now();
  }
}

}  // namespace tverr::node
