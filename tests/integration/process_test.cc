// Real fl-coordinator, fl-node and flctl processes on loopback: enrolment,
// reconnection after the coordinator is killed, and config errors at start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "common/audit/verifier.h"
#include "common/tls/credentials.h"
#include "tverr/v1/node.grpc.pb.h"

namespace tverr::testing {
namespace {

using ::testing::HasSubstr;

const std::string kBin = TVERR_BIN_DIR;
const std::string kCoordinator = kBin + "/coordinator/fl-coordinator";
const std::string kNode = kBin + "/node/fl-node";
const std::string kFlctl = kBin + "/coordinator/flctl";

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = std::make_unique<TestPki>(tmp_.Sub("pki"), "nordic");
    coordinator_tls_ = pki_->Issue(v1::ROLE_COORDINATOR, "coordinator");
    operator_tls_ = pki_->Issue(v1::ROLE_OPERATOR, "ops");
  }

  std::string WriteCoordinatorConfig(const std::string& listen) {
    std::string path = tmp_.Sub("coordinator.textproto");
    WriteFileOrDie(path, absl::StrCat(
        "listen_address: \"", listen, "\"\n",
        "consortium: \"nordic\"\n",
        "state_dir: \"coordinator-state\"\n",
        "port_file: \"coordinator.port\"\n",
        "heartbeat_interval_seconds: 1\n",
        "tls {\n  cert_file: \"", coordinator_tls_.cert(), "\"\n  key_file: \"",
        coordinator_tls_.key(), "\"\n  ca_file: \"", coordinator_tls_.ca(),
        "\"\n  crl_dir: \"", pki_->crl_dir(), "\"\n}\n"));
    return path;
  }

  std::string WriteNodeConfig(const std::string& name, int port) {
    TlsDir tls = pki_->Issue(v1::ROLE_NODE, name);
    std::string path = tmp_.Sub(name + ".textproto");
    WriteFileOrDie(path, absl::StrCat(
        "coordinator_address: \"localhost:", port, "\"\n",
        "consortium: \"nordic\"\n",
        "state_dir: \"", name, "-state\"\n",
        "backoff { initial_ms: 100 max_ms: 1000 }\n",
        "tls {\n  cert_file: \"", tls.cert(), "\"\n  key_file: \"", tls.key(),
        "\"\n  ca_file: \"", tls.ca(), "\"\n}\n"));
    return path;
  }

  std::unique_ptr<Subprocess> StartCoordinator(const std::string& config) {
    return std::make_unique<Subprocess>(
        std::vector<std::string>{kCoordinator, "--config=" + config},
        tmp_.Sub("coordinator.log"));
  }

  int ReadPort() {
    int port = 0;
    std::string text = ReadFileOrEmpty(tmp_.Sub("coordinator.port"));
    return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) ? port : 0;
  }

  // `flctl nodes --format json` as the operator.
  std::string ListNodes(int port) {
    std::string out;
    RunProgram({kFlctl, "nodes", absl::StrCat("--coordinator=localhost:", port),
                "--tls_dir=" + operator_tls_.dir, "--format=json"},
               &out);
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<TestPki> pki_;
  TlsDir coordinator_tls_;
  TlsDir operator_tls_;
};

TEST_F(ProcessTest, NodeReconnectsByItselfAfterCoordinatorIsKilled) {
  auto coordinator = StartCoordinator(WriteCoordinatorConfig("127.0.0.1:0"));
  int port = 0;
  ASSERT_TRUE(WaitFor([&] { return (port = ReadPort()) > 0; }, absl::Seconds(20)))
      << ReadFileOrEmpty(coordinator->log_path());

  Subprocess node({kNode, "--config=" + WriteNodeConfig("oslo-uh", port)}, tmp_.Sub("node.log"));
  ASSERT_TRUE(WaitFor(
      [&] { return ListNodes(port).find("\"online\": true") != std::string::npos; },
      absl::Seconds(30)))
      << ListNodes(port) << ReadFileOrEmpty(node.log_path());
  EXPECT_THAT(ListNodes(port), HasSubstr("\"join_count\": \"1\""));

  // kill -9: no chance to say goodbye. Restart on the same port.
  coordinator->Stop(SIGKILL);
  ASSERT_TRUE(node.running());
  coordinator = StartCoordinator(WriteCoordinatorConfig(absl::StrCat("127.0.0.1:", port)));

  // The node notices, backs off, reconnects and joins again by itself; the
  // registry (SQLite) kept the first join.
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string nodes = ListNodes(port);
        return nodes.find("\"online\": true") != std::string::npos &&
               nodes.find("\"join_count\": \"2\"") != std::string::npos;
      },
      absl::Seconds(30)))
      << ListNodes(port) << ReadFileOrEmpty(node.log_path());

  EXPECT_EQ(node.Stop(SIGTERM), 0) << "fl-node exits cleanly on SIGTERM";
  int status = coordinator->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // Nothing secret in the logs.
  std::string logs = ReadFileOrEmpty(node.log_path()) + ReadFileOrEmpty(coordinator->log_path());
  EXPECT_THAT(logs, ::testing::Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(ProcessTest, BadConfigStopsTheProgramNamingFileAndField) {
  std::string path = tmp_.Sub("bad.textproto");
  WriteFileOrDie(path, "listen_address: \"nowhere\"\nconsortium: \"Nordic!\"\n");
  std::string out;
  EXPECT_EQ(RunProgram({kCoordinator, "--config=" + path}, &out), 2);
  EXPECT_THAT(out, HasSubstr(path + ": field 'listen_address'"));
  EXPECT_THAT(out, HasSubstr(path + ": field 'consortium'"));
  EXPECT_THAT(out, HasSubstr(path + ": field 'tls'"));

  WriteFileOrDie(path, "consortium: \"nordic\"\nlisten_adress: \"x:1\"\n");
  EXPECT_EQ(RunProgram({kCoordinator, "--config=" + path}, &out), 2);
  EXPECT_THAT(out, HasSubstr(path + ":2:"));
  EXPECT_THAT(out, HasSubstr("listen_adress"));

  WriteFileOrDie(path, "coordinator_address: \"localhost:7443\"\nconsortium: \"nordic\"\n"
                       "tls { cert_file: \"missing.pem\" key_file: \"k\" ca_file: \"c\" }\n");
  EXPECT_EQ(RunProgram({kNode, "--config=" + path}, &out), 2);
  EXPECT_THAT(out, HasSubstr(path + ": field 'tls.cert_file': file " + tmp_.path() +
                             "/missing.pem does not exist"));

  EXPECT_EQ(RunProgram({kNode, "--config=" + tmp_.Sub("absent.textproto")}, &out), 2);
  EXPECT_THAT(out, HasSubstr("absent.textproto cannot be read"));
}

TEST_F(ProcessTest, CoordinatorRefusesToStartOnBusyPort) {
  auto first = StartCoordinator(WriteCoordinatorConfig("127.0.0.1:0"));
  int port = 0;
  ASSERT_TRUE(WaitFor([&] { return (port = ReadPort()) > 0; }, absl::Seconds(20)));
  std::string out;
  std::string config = WriteCoordinatorConfig(absl::StrCat("127.0.0.1:", port));
  EXPECT_EQ(RunProgram({kCoordinator, "--config=" + config,
                        "--state_dir=" + tmp_.Sub("second-state"),
                        "--port_file=" + tmp_.Sub("second.port")},
                       &out),
            1);
  EXPECT_THAT(out, HasSubstr("cannot listen on"));
}

// kill -9 of the coordinator while many records are being written: every
// record whose action was acknowledged (each Join that got its OK) is in
// the log after the restart, a half-written tail is reported (never
// silently kept or dropped), and the log verifies.
TEST_F(ProcessTest, AuditLogKeepsEveryAcknowledgedRecordThroughKillMinusNine) {
  const std::string config = WriteCoordinatorConfig("127.0.0.1:0");
  auto coordinator = StartCoordinator(config);
  ASSERT_TRUE(WaitFor([&] { return ReadPort() > 0; }, absl::Seconds(20)));
  const int port = ReadPort();
  // Four nodes joining again and again (each join is durable before its
  // OK), and an operator calling a node RPC (refused and recorded).
  std::atomic<uint64_t> acknowledged{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 5; ++i) {
    const TlsDir tls = i < 4 ? pki_->Issue(v1::ROLE_NODE, absl::StrCat("site-", i)) : operator_tls_;
    clients.emplace_back([&, tls, i] {
      tls::TlsFiles files{tls.cert(), tls.key(), tls.ca(), "", 1};
      auto creds = tls::MakeChannelCredentials(files);
      if (!creds.ok()) return;
      auto stub = v1::NodeService::NewStub(
          grpc::CreateCustomChannel(absl::StrCat("localhost:", port), *creds,
                                    tls::DefaultChannelArguments()));
      while (!stop.load()) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        v1::JoinRequest join;
        join.set_software_version("load");
        v1::JoinResponse joined;
        if (stub->Join(&ctx, join, &joined).ok() && i < 4) ++acknowledged;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return acknowledged.load() > 1000; }, absl::Seconds(60)));
  coordinator->Stop(SIGKILL);
  const uint64_t acked = acknowledged.load();
  stop = true;
  for (auto& t : clients) t.join();

  // Restart: the log opens (repairing a torn tail if the kill left one),
  // then stop it cleanly and check the files offline.
  std::filesystem::remove(tmp_.Sub("coordinator.port"));
  coordinator = StartCoordinator(config);
  ASSERT_TRUE(WaitFor([&] { return ReadPort() > 0; }, absl::Seconds(20)))
      << ReadFileOrEmpty(tmp_.Sub("coordinator.log"));
  ASSERT_EQ(WEXITSTATUS(coordinator->Stop(SIGTERM)), 0);
  const std::string dir = tmp_.Sub("coordinator-state/audit");
  std::map<v1::AuditEvent, uint64_t> events;
  std::string restart_reason;
  audit::VerifyOptions options;
  options.on_record = [&](uint64_t, const v1::AuditRecord& r) {
    ++events[r.event()];
    if (r.event() == v1::COORDINATOR_STARTED) restart_reason = r.reason();
  };
  absl::StatusOr<audit::VerifyResult> verdict = audit::VerifyLogDirectory(
      dir, ReadFileOrEmpty(tmp_.Sub("coordinator-state/audit-key.pub.pem")), options);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->ok) << verdict->message;
  EXPECT_GE(events[v1::NODE_JOINED], acked) << "an acknowledged join is missing from the log";
  EXPECT_GT(events[v1::AUTHORIZATION_FAILED], 0u);
  EXPECT_EQ(events[v1::COORDINATOR_STARTED], 2u);
  // A torn tail, if the kill left one, was moved aside and reported.
  const bool torn = std::filesystem::exists(dir + "/records.jsonl.torn-1");
  EXPECT_EQ(torn, restart_reason.find("torn") != std::string::npos) << restart_reason;
}

}  // namespace
}  // namespace tverr::testing
