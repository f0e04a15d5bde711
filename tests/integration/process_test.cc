// Real fl-coordinator, fl-node and flctl processes on loopback: enrolment,
// reconnection after the coordinator is killed, and config errors at start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

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

}  // namespace
}  // namespace tverr::testing
