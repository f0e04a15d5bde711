// fl-node's daemon in-process against an in-process coordinator, both over
// real mutual TLS: joining, staying online, coming back after the
// coordinator restarts, and stopping promptly.
#include "node/daemon/node_daemon.h"

#include <gtest/gtest.h>

#include <thread>

#include "node/daemon/node_config.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/support/subprocess.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::testing {
namespace {

class NodeDaemonTest : public CoordinatorFixture {
 protected:
  std::unique_ptr<node::NodeDaemon> MakeDaemon(const std::string& name) {
    TlsDir tls = pki_->Issue(v1::ROLE_NODE, name);
    v1::NodeConfig config;
    config.set_coordinator_address(target());
    config.set_consortium("nordic");
    config.mutable_tls()->set_cert_file(tls.cert());
    config.mutable_tls()->set_key_file(tls.key());
    config.mutable_tls()->set_ca_file(tls.ca());
    config.mutable_backoff()->set_initial_ms(50);
    config.mutable_backoff()->set_max_ms(300);
    auto finished = node::FinishNodeConfig(config, "test", tmp_.path());
    EXPECT_TRUE(finished.ok()) << finished.status();
    node::NodeDaemonOptions options;
    options.config = *finished;
    options.software_version = "test-1";
    options.capabilities.set_cpu_cores(2);
    options.backoff_seed = 1;
    return std::make_unique<node::NodeDaemon>(options);
  }

  // Online state of `identity` in the registry, as an operator sees it.
  bool Online(const std::string& identity) {
    auto stub = v1::OperatorService::NewStub(ChannelFor(operator_tls_));
    auto ctx = ContextWithDeadline();
    v1::ListNodesResponse response;
    if (!stub->ListNodes(ctx.get(), v1::ListNodesRequest(), &response).ok()) return false;
    for (const auto& n : response.nodes()) {
      if (n.identity() == identity) return n.online();
    }
    return false;
  }

  void SetUp() override {
    CoordinatorFixture::SetUp();
    operator_tls_ = pki_->Issue(v1::ROLE_OPERATOR, "ops");
  }

  TlsDir operator_tls_;
};

TEST_F(NodeDaemonTest, JoinsStaysOnlineAndStopsPromptly) {
  auto daemon = MakeDaemon("oslo-uh");
  std::thread runner([&] { daemon->Run(); });
  EXPECT_TRUE(WaitFor([&] { return daemon->connected(); }, absl::Seconds(20)));
  EXPECT_TRUE(WaitFor([&] { return Online("fl://nordic/node/oslo-uh"); }, absl::Seconds(20)));
  // Heartbeats (every second here) keep the session alive past the
  // coordinator's silence limit of three intervals.
  absl::SleepFor(absl::Seconds(4));
  EXPECT_TRUE(daemon->connected());
  EXPECT_EQ(daemon->successful_joins(), 1u);

  absl::Time start = absl::Now();
  daemon->Stop();
  runner.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(WaitFor([&] { return !Online("fl://nordic/node/oslo-uh"); }, absl::Seconds(10)));
}

TEST_F(NodeDaemonTest, RejoinsAfterTheCoordinatorRestarts) {
  auto daemon = MakeDaemon("bergen-hus");
  std::thread runner([&] { daemon->Run(); });
  ASSERT_TRUE(WaitFor([&] { return daemon->connected(); }, absl::Seconds(20)));

  const int port = server_->port();
  server_->Shutdown();
  server_.reset();
  EXPECT_TRUE(WaitFor([&] { return !daemon->connected(); }, absl::Seconds(20)));
  // While the coordinator is down the daemon keeps retrying (and can still
  // be stopped; see below).
  absl::SleepFor(absl::Milliseconds(500));
  StartCoordinator(coordinator_tls_, port);

  EXPECT_TRUE(WaitFor([&] { return daemon->successful_joins() >= 2 && daemon->connected(); },
                      absl::Seconds(20)));
  EXPECT_TRUE(WaitFor([&] { return Online("fl://nordic/node/bergen-hus"); }, absl::Seconds(20)));
  daemon->Stop();
  runner.join();
}

TEST_F(NodeDaemonTest, StopsPromptlyWhileTheCoordinatorIsUnreachable) {
  auto daemon = MakeDaemon("tromso-unn");
  server_->Shutdown();
  server_.reset();
  std::thread runner([&] { daemon->Run(); });
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(daemon->successful_joins(), 0u);
  absl::Time start = absl::Now();
  daemon->Stop();
  runner.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace tverr::testing
