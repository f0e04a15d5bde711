// An in-process fl-coordinator on 127.0.0.1 with real mutual TLS and a real
// CA, plus helpers to open client channels with chosen TLS files.
#ifndef TVERR_TESTS_INTEGRATION_COORDINATOR_FIXTURE_H_
#define TVERR_TESTS_INTEGRATION_COORDINATOR_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/tls/credentials.h"
#include "coordinator/server/coordinator_config.h"
#include "coordinator/server/coordinator_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace tverr::testing {

class CoordinatorFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = std::make_unique<TestPki>(tmp_.Sub("pki"), "nordic");
    coordinator_tls_ = pki_->Issue(v1::ROLE_COORDINATOR, "coordinator");
    StartCoordinator(coordinator_tls_, /*port=*/0);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  void StartCoordinator(const TlsDir& tls, int port, unsigned reload_seconds = 1) {
    v1::CoordinatorConfig config;
    config.set_listen_address(absl::StrCat("127.0.0.1:", port));
    config.set_consortium("nordic");
    config.set_state_dir(tmp_.Sub("coordinator-state"));
    config.mutable_tls()->set_cert_file(tls.cert());
    config.mutable_tls()->set_key_file(tls.key());
    config.mutable_tls()->set_ca_file(tls.ca());
    config.mutable_tls()->set_crl_dir(pki_->crl_dir());
    config.mutable_tls()->set_reload_interval_seconds(reload_seconds);
    config.set_heartbeat_interval_seconds(1);
    Configure(config);
    auto finished = coordinator::FinishCoordinatorConfig(config, "test", tmp_.path());
    ASSERT_TRUE(finished.ok()) << finished.status();
    auto server = coordinator::CoordinatorServer::Start(*finished);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // Lets a test change the coordinator's config before it starts.
  virtual void Configure(v1::CoordinatorConfig& /*config*/) {}

  std::string target() const { return absl::StrCat("localhost:", server_->port()); }

  // A fresh channel (own connection, never shared) presenting `tls`.
  std::shared_ptr<grpc::Channel> ChannelFor(const TlsDir& tls) {
    tls::TlsFiles files{tls.cert(), tls.key(), tls.ca(), "", 1};
    auto creds = tls::MakeChannelCredentials(files);
    EXPECT_TRUE(creds.ok()) << creds.status();
    return grpc::CreateCustomChannel(target(), *creds, UnsharedArgs());
  }

  static grpc::ChannelArguments UnsharedArgs() {
    grpc::ChannelArguments args = tls::DefaultChannelArguments();
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return args;
  }

  static std::unique_ptr<grpc::ClientContext> ContextWithDeadline(int seconds = 10) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return ctx;
  }

  TempDir tmp_;
  std::unique_ptr<TestPki> pki_;
  TlsDir coordinator_tls_;
  std::unique_ptr<coordinator::CoordinatorServer> server_;
};

}  // namespace tverr::testing

#endif  // TVERR_TESTS_INTEGRATION_COORDINATOR_FIXTURE_H_
