#include "node/daemon/secure_rounds.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/secagg/secagg_round.h"

namespace tverr::node {
namespace {

v1::TrainTask SecureTask(const secagg_testing::Consortium& consortium) {
  secagg_testing::RoundSpec spec;
  v1::TrainTask task;
  task.set_run_id(spec.run_id);
  task.set_round(spec.round);
  task.mutable_global_weights()->set_digest(std::string(32, 'g'));
  *task.mutable_secure() = secagg_testing::MakeSetup(consortium, spec);
  task.mutable_secure()->set_my_index(1);
  return task;
}

// A reopened round: the worker waiting for the old session's shares is
// released at once, and the old client no longer answers phase tasks.
TEST(SecureRounds, SupersedeReleasesTheWaitingWorker) {
  const secagg_testing::Consortium& consortium = secagg_testing::TestConsortium();
  int advertised = 0;
  SecureRounds rounds({[&](const v1::SecAggAdvertiseRequest&) {
                         ++advertised;
                         return absl::OkStatus();
                       },
                       [](const v1::SecAggShareKeysRequest&) { return absl::OkStatus(); },
                       [](const v1::SecAggUnmaskRequest&) { return absl::OkStatus(); }});
  const v1::TrainTask task = SecureTask(consortium);
  auto client = rounds.Begin(consortium.ClientOptions(0, 2), task);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(advertised, 1);

  absl::Status waited;
  absl::Time returned;
  std::atomic<bool> done{false};
  std::thread worker([&] {
    waited = rounds.AwaitShares(task.run_id(), task.round(), absl::Now() + absl::Seconds(60));
    returned = absl::Now();
    done = true;
  });
  rounds.Supersede("another run", task.round());  // not this round: nothing happens
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(done) << "another run's supersession released this round's worker";
  const absl::Time superseded = absl::Now();
  rounds.Supersede(task.run_id(), task.round());
  worker.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kFailedPrecondition) << waited;
  EXPECT_LT(returned - superseded, absl::Seconds(5));

  // A new task for the round begins a new session.
  EXPECT_TRUE(rounds.Begin(consortium.ClientOptions(0, 2), task).ok());
  EXPECT_EQ(advertised, 2);
}

}  // namespace
}  // namespace tverr::node
