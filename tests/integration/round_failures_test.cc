// Rounds under bad conditions, against the real coordinator over mutual
// TLS: a participant that sends malformed updates (each refused with a
// reason while the round goes on), one that never answers (dropped at the
// deadline), and a round that cannot reach its minimum (fails cleanly).
// The well-behaved participant is a real node daemon training with
// LibTorch; the misbehaving one is a hand-driven client.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"

#include "common/crypto/sha256.h"
#include "common/tensor/tensor_codec.h"
#include "common/transfer/chunk_writer.h"
#include "coordinator/runs/run_spec.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "node/data/demo/demo_dataset.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"
#include "tests/integration/federation_fixture.h"
#include "tests/support/subprocess.h"
#include "tverr/v1/node.grpc.pb.h"

namespace tverr::testing {
namespace {

using ::testing::HasSubstr;

// A node driven by hand: joins, holds its task stream, uploads what the
// test tells it to.
class ManualNode {
 public:
  ManualNode(std::shared_ptr<grpc::Channel> channel) : stub_(v1::NodeService::NewStub(channel)) {
    grpc::ClientContext ctx;
    v1::JoinRequest join;
    join.set_software_version("manual");
    v1::JoinResponse joined;
    EXPECT_TRUE(stub_->Join(&ctx, join, &joined).ok());
    v1::TaskStreamRequest open;
    open.set_session_id(joined.session_id());
    reader_ = stub_->OpenTaskStream(&stream_ctx_, open);
    reader_thread_ = std::thread([this] {
      v1::Task task;
      while (reader_->Read(&task)) {
        if (task.has_train()) {
          std::lock_guard<std::mutex> lock(mu_);
          train_ = task.train();
        }
      }
    });
    // Alive (heartbeats) but never training: "silent" for the round only.
    session_id_ = joined.session_id();
    heartbeat_thread_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(300))) {
        grpc::ClientContext ctx;
        v1::HeartbeatRequest request;
        request.set_session_id(session_id_);
        v1::HeartbeatResponse response;
        (void)stub_->Heartbeat(&ctx, request, &response);
      }
    });
  }
  ~ManualNode() {
    stop_.Notify();
    heartbeat_thread_.join();
    stream_ctx_.TryCancel();
    reader_thread_.join();
  }
  std::optional<v1::TrainTask> train() {
    std::lock_guard<std::mutex> lock(mu_);
    return train_;
  }
  grpc::Status Upload(const std::string& run_id, uint64_t round, uint64_t samples,
                      const std::string& bytes) {
    grpc::ClientContext ctx;
    v1::UploadReceipt receipt;
    auto writer = stub_->Upload(&ctx, &receipt);
    v1::TransferHeader header;
    header.set_kind(v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    header.set_run_id(run_id);
    header.set_round(round);
    header.mutable_update()->set_samples(samples);
    (void)transfer::SendBytes(header, bytes, [&](const v1::Chunk& c) { return writer->Write(c); },
                              transfer::kMaxChunkBytes);
    writer->WritesDone();
    return writer->Finish();
  }

 private:
  std::unique_ptr<v1::NodeService::Stub> stub_;
  grpc::ClientContext stream_ctx_;
  std::unique_ptr<grpc::ClientReader<v1::Task>> reader_;
  std::thread reader_thread_;
  std::string session_id_;
  absl::Notification stop_;
  std::thread heartbeat_thread_;
  std::mutex mu_;
  std::optional<v1::TrainTask> train_;
};

class RoundFailuresTest : public FederationFixture {
 protected:
  void SetUp() override {
    FederationFixture::SetUp();
    node::demo::DemoOptions demo;
    demo.out_dir = tmp_.Sub("demo");
    demo.sites = {"oslo-uh"};
    demo.images_per_site = 120;
    ASSERT_TRUE(node::demo::WriteDemoSites(demo).ok());
    artifact_path_ = tmp_.Sub("lr.pt");
    ASSERT_TRUE(node::WriteLogisticRegression(artifact_path_, 1, 28, 28, 10, 5).ok());
    artifact_ = ReadFileOrEmpty(artifact_path_);
  }

  v1::RunSpec Spec(uint32_t min_nodes, uint32_t deadline_seconds) {
    v1::RunSpec spec = DemoSpec(artifact_, /*rounds=*/1, min_nodes);
    spec.mutable_optimizer()->set_learning_rate(0.01);
    spec.mutable_rounds()->set_phase_deadline_seconds(deadline_seconds);
    return coordinator::WithDefaults(spec);
  }

  tensor::TensorList Initial(const v1::RunSpec& spec) {
    auto trainer = node::LoadTorchScriptTrainer(artifact_path_, spec);
    EXPECT_TRUE(trainer.ok());
    return *(*trainer)->Weights();
  }

  std::unique_ptr<node::NodeDaemon> Daemon(const std::string& run_id) {
    return TrainingDaemon("oslo-uh", tmp_.Sub("demo"), run_id);
  }

  std::string artifact_path_;
  std::string artifact_;
};

TEST_F(RoundFailuresTest, BadUpdatesAreRefusedWithReasonsAndTheRoundGoesOn) {
  v1::RunSpec spec = Spec(/*min_nodes=*/1, /*deadline_seconds=*/60);
  const std::string run_id = *coordinator::RunId(spec);
  tensor::TensorList initial = Initial(spec);
  ManualNode manual(ChannelFor(pki_->Issue(v1::ROLE_NODE, "bad-actor")));
  // Holds its task stream, so it is selected; but it is not this round's
  // well-behaved participant until it has sent something valid.
  auto daemon = Daemon(run_id);
  std::thread runner([&] { daemon->Run(); });
  ASSERT_TRUE(WaitFor([&] { return daemon->connected(); }, absl::Seconds(20)));
  // Hold the daemon's training back? No need: the manual node's uploads are
  // judged on their own; the round waits for both (min 1, both selected).
  ASSERT_TRUE(server_->StartRun(spec, artifact_, initial).ok());
  ASSERT_TRUE(WaitFor([&] { return manual.train().has_value(); }, absl::Seconds(20)));
  const v1::TrainTask task = *manual.train();

  struct Bad {
    std::string name;
    std::function<grpc::Status()> send;
    std::string reason;
  };
  tensor::TensorList wrong_shape = initial;
  wrong_shape[0].shape = {static_cast<int64_t>(wrong_shape[0].values.size())};
  tensor::TensorList renamed = initial;
  renamed[0].name = "not.in.the.model";
  tensor::TensorList nan = initial;
  for (auto& t : nan) std::fill(t.values.begin(), t.values.end(), 0.0f);
  nan[0].values[3] = std::numeric_limits<float>::quiet_NaN();
  tensor::TensorList inf = initial;
  inf.back().values[0] = std::numeric_limits<float>::infinity();
  const std::vector<Bad> bads = {
      {"wrong run",
       [&] { return manual.Upload(std::string(64, 'e'), task.round(), 10, tensor::Encode(initial)); },
       "is not running"},
      {"closed or future round",
       [&] { return manual.Upload(run_id, task.round() + 1, 10, tensor::Encode(initial)); },
       "is not open"},
      {"zero samples", [&] { return manual.Upload(run_id, task.round(), 0, tensor::Encode(initial)); },
       "not plausible"},
      {"wrong shape",
       [&] { return manual.Upload(run_id, task.round(), 10, tensor::Encode(wrong_shape)); },
       "shape"},
  };
  for (const Bad& b : bads) {
    SCOPED_TRACE(b.name);
    grpc::Status s = b.send();
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(s.error_message(), HasSubstr(b.reason));
  }
  // A shape error dropped the manual node; the round goes on and commits
  // with the daemon's update.
  grpc::Status again = manual.Upload(run_id, task.round(), 10, tensor::Encode(initial));
  EXPECT_THAT(again.error_message(), HasSubstr("expects no update"));
  ASSERT_TRUE(WaitFor([&] { return server_->Progress().state != "running"; }, absl::Seconds(60)));
  coordinator::RunProgress p = server_->Progress();
  daemon->Stop();
  runner.join();
  ASSERT_EQ(p.state, "completed") << p.failure;
  ASSERT_EQ(p.history.size(), 1u);
  EXPECT_THAT(p.history[0].contributors, ::testing::ElementsAre("fl://nordic/node/oslo-uh"));
  EXPECT_THAT(p.history[0].dropped.at("fl://nordic/node/bad-actor"), HasSubstr("shape"));

  // Non-finite values and unknown names are refused the same way (a fresh
  // run so that the manual node is expected again).
  for (const auto& [name, list, reason] :
       std::vector<std::tuple<std::string, tensor::TensorList, std::string>>{
           {"nan", nan, "not finite"}, {"inf", inf, "not finite"}, {"renamed", renamed, "not.in.the.model"}}) {
    SCOPED_TRACE(name);
    v1::RunSpec next = Spec(1, 60);
    next.set_seed(next.seed() + 1 + name.size());
    const std::string next_id = *coordinator::RunId(next);
    ASSERT_TRUE(server_->StartRun(next, artifact_, initial).ok());
    ASSERT_TRUE(WaitFor(
        [&] { return manual.train().has_value() && manual.train()->run_id() == next_id; },
        absl::Seconds(20)));
    grpc::Status s = manual.Upload(next_id, 1, 10, tensor::Encode(list));
    EXPECT_THAT(s.error_message(), HasSubstr(reason));
    // No other participant (the daemon stopped): the round fails cleanly.
    ASSERT_TRUE(WaitFor([&] { return server_->Progress().state != "running"; }, absl::Seconds(20)));
    EXPECT_EQ(server_->Progress().state, "failed");
  }
}

TEST_F(RoundFailuresTest, SilentNodeIsDroppedAtTheDeadlineAndTooFewFailsTheRun) {
  // min 1: the daemon's update carries the round past the silent node.
  {
    v1::RunSpec spec = Spec(/*min_nodes=*/1, /*deadline_seconds=*/3);
    const std::string run_id = *coordinator::RunId(spec);
    ManualNode silent(ChannelFor(pki_->Issue(v1::ROLE_NODE, "silent")));
    auto daemon = Daemon(run_id);
    std::thread runner([&] { daemon->Run(); });
    ASSERT_TRUE(WaitFor([&] { return daemon->connected(); }, absl::Seconds(20)));
    ASSERT_TRUE(server_->StartRun(spec, artifact_, Initial(spec)).ok());
    ASSERT_TRUE(
        WaitFor([&] { return server_->Progress().state != "running"; }, absl::Seconds(30)));
    coordinator::RunProgress p = server_->Progress();
    daemon->Stop();
    runner.join();
    ASSERT_EQ(p.state, "completed") << p.failure;
    EXPECT_EQ(p.history[0].dropped.at("fl://nordic/node/silent"), "missed the training deadline");
  }
  // Only the silent node: the round fails at the deadline and, with no
  // retries, so does the run — with the reason.
  {
    v1::RunSpec spec = Spec(/*min_nodes=*/1, /*deadline_seconds=*/2);
    spec.set_seed(99);
    ManualNode silent(ChannelFor(pki_->Issue(v1::ROLE_NODE, "silent-2")));
    ASSERT_TRUE(server_->StartRun(spec, artifact_, Initial(spec)).ok());
    ASSERT_TRUE(
        WaitFor([&] { return server_->Progress().state != "running"; }, absl::Seconds(30)));
    coordinator::RunProgress p = server_->Progress();
    EXPECT_EQ(p.state, "failed");
    EXPECT_THAT(p.failure, HasSubstr("deadline passed with 0 update(s)"));
  }
}

}  // namespace
}  // namespace tverr::testing
