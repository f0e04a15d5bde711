#include "coordinator/server/coordinator_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace tverr::coordinator {
namespace {

using ::testing::HasSubstr;

class CoordinatorConfigTest : public ::testing::Test {
 protected:
  // Real certificates: the config check reads them (role, consortium,
  // key match, CRL).
  void SetUp() override {
    testing::TestPki pki(tmp_.Sub("pki"), "nordic");
    testing::TlsDir tls = pki.Issue(v1::ROLE_COORDINATOR, "coordinator");
    std::filesystem::rename(tls.dir, tmp_.Sub("tls"));
    std::filesystem::rename(pki.crl_dir(), tmp_.Sub("tls/crl"));
  }
  std::string Write(const std::string& text) {
    std::string path = tmp_.Sub("coordinator.textproto");
    testing::WriteFileOrDie(path, text);
    return path;
  }
  testing::TempDir tmp_;
};

constexpr char kTls[] =
    "tls { cert_file: \"tls/cert.pem\" key_file: \"tls/key.pem\" ca_file: \"tls/ca.pem\" "
    "crl_dir: \"tls/crl\" }\n";

TEST_F(CoordinatorConfigTest, DefaultsAndRelativePaths) {
  auto config = LoadCoordinatorConfig(Write(std::string("consortium: \"nordic\"\n") + kTls), {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "0.0.0.0:7443");
  EXPECT_EQ(config->log_level(), "info");
  EXPECT_EQ(config->heartbeat_interval_seconds(), 10u);
  EXPECT_EQ(config->max_transfer_bytes(), uint64_t{2} << 30);
  EXPECT_EQ(config->state_dir(), tmp_.Sub("state"));
  EXPECT_EQ(config->tls().cert_file(), tmp_.Sub("tls/cert.pem"));
  EXPECT_EQ(config->tls().crl_dir(), tmp_.Sub("tls/crl"));
  EXPECT_EQ(config->tls().reload_interval_seconds(), 60u);
}

TEST_F(CoordinatorConfigTest, FlagsOverrideTheFile) {
  CoordinatorOverrides overrides;
  overrides.listen_address = "127.0.0.1:9000";
  overrides.log_level = "debug";
  overrides.state_dir = "/var/lib/tverr";
  auto config = LoadCoordinatorConfig(
      Write(std::string("consortium: \"nordic\"\nlisten_address: \"0.0.0.0:1\"\n") + kTls),
      overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "127.0.0.1:9000");
  EXPECT_EQ(config->log_level(), "debug");
  EXPECT_EQ(config->state_dir(), "/var/lib/tverr");
}

TEST_F(CoordinatorConfigTest, EveryProblemIsNamed) {
  std::string path = Write(
      "consortium: \"\"\nlisten_address: \"7443\"\nlog_level: \"chatty\"\n"
      "heartbeat_interval_seconds: 99999\n"
      "tls { cert_file: \"nope.pem\" key_file: \"tls/key.pem\" ca_file: \"tls/ca.pem\" "
      "crl_dir: \"tls/cert.pem\" }\n");
  auto config = LoadCoordinatorConfig(path, {});
  ASSERT_FALSE(config.ok());
  std::string msg(config.status().message());
  EXPECT_THAT(msg, HasSubstr(path + ": field 'consortium': is required"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'listen_address'"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'log_level'"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'heartbeat_interval_seconds'"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'tls.cert_file': file " + tmp_.Sub("nope.pem")));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'tls.crl_dir'"));
  EXPECT_THAT(msg, HasSubstr("is not a directory"));
}

TEST_F(CoordinatorConfigTest, CertificateOfTheWrongRoleOrConsortiumIsRefused) {
  testing::TestPki other(tmp_.Sub("other"), "nordic");
  testing::TlsDir node = other.Issue(v1::ROLE_NODE, "oslo");
  std::string path = Write(std::string("consortium: \"nordic\"\n") + "tls { cert_file: \"" +
                           node.cert() + "\" key_file: \"" + node.key() + "\" ca_file: \"" +
                           node.ca() + "\" crl_dir: \"" + other.crl_dir() + "\" }\n");
  auto config = LoadCoordinatorConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("is for fl://nordic/node/oslo, not a coordinator"));

  auto wrong_consortium =
      LoadCoordinatorConfig(Write(std::string("consortium: \"baltic\"\n") + kTls), {});
  ASSERT_FALSE(wrong_consortium.ok());
  EXPECT_THAT(std::string(wrong_consortium.status().message()),
              HasSubstr("not a coordinator of consortium 'baltic'"));
}

TEST_F(CoordinatorConfigTest, KeyOfAnotherCertificateIsRefused) {
  testing::TestPki other(tmp_.Sub("other"), "nordic");
  testing::TlsDir foreign = other.Issue(v1::ROLE_COORDINATOR, "coordinator");
  std::filesystem::copy_file(foreign.key(), tmp_.Sub("tls/key.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  std::string path = Write(std::string("consortium: \"nordic\"\n") + kTls);
  auto config = LoadCoordinatorConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr(path + ": field 'tls': key file"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("does not belong"));
}

// gRPC accepts certificates unchecked when the CA's CRL is missing, so the
// coordinator must refuse to start without one.
TEST_F(CoordinatorConfigTest, MissingOrForeignCrlIsRefused) {
  for (const auto& entry : std::filesystem::directory_iterator(tmp_.Sub("tls/crl"))) {
    std::filesystem::remove(entry.path());
  }
  std::string path = Write(std::string("consortium: \"nordic\"\n") + kTls);
  auto config = LoadCoordinatorConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("no CRL of CA"));

  testing::TestPki other(tmp_.Sub("other"), "nordic");  // same subject, other key
  for (const auto& entry : std::filesystem::directory_iterator(other.crl_dir())) {
    std::filesystem::copy_file(entry.path(), tmp_.Sub("tls/crl") + "/" +
                                                 entry.path().filename().string());
  }
  auto foreign = LoadCoordinatorConfig(path, {});
  ASSERT_FALSE(foreign.ok());
  EXPECT_THAT(std::string(foreign.status().message()), HasSubstr("is not signed by CA"));
}

TEST_F(CoordinatorConfigTest, MissingTlsBlockIsNamed) {
  std::string path = Write("consortium: \"nordic\"\n");
  auto config = LoadCoordinatorConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path + ": field 'tls'"));
}

}  // namespace
}  // namespace tverr::coordinator
