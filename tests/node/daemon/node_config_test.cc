#include "node/daemon/node_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

#include <filesystem>

namespace tverr::node {
namespace {

using ::testing::HasSubstr;

class NodeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::TestPki pki(tmp_.Sub("pki"), "nordic");
    testing::TlsDir tls = pki.Issue(v1::ROLE_NODE, "oslo-uh");
    for (const char* f : {"cert.pem", "key.pem", "ca.pem"}) {
      std::filesystem::copy_file(tls.dir + "/" + f, tmp_.Sub(f));
    }
  }
  std::string Write(const std::string& text) {
    std::string path = tmp_.Sub("node.textproto");
    testing::WriteFileOrDie(path, text);
    return path;
  }
  testing::TempDir tmp_;
};

constexpr char kTls[] =
    "tls { cert_file: \"cert.pem\" key_file: \"key.pem\" ca_file: \"ca.pem\" }\n";

TEST_F(NodeConfigTest, DefaultsApply) {
  auto c = LoadNodeConfig(
      Write(std::string("coordinator_address: \"fl.example.org:7443\"\nconsortium: \"nordic\"\n") +
            kTls),
      {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->backoff().initial_ms(), 500u);
  EXPECT_EQ(c->backoff().max_ms(), 30000u);
  EXPECT_DOUBLE_EQ(c->backoff().multiplier(), 2.0);
  EXPECT_DOUBLE_EQ(c->backoff().jitter(), 0.2);
  EXPECT_EQ(c->state_dir(), tmp_.Sub("node-state"));
  EXPECT_EQ(c->tls().ca_file(), tmp_.Sub("ca.pem"));
}

TEST_F(NodeConfigTest, OverridesAndErrors) {
  NodeOverrides o;
  o.coordinator_address = "other:1";
  auto c = LoadNodeConfig(
      Write(std::string("coordinator_address: \"x:1\"\nconsortium: \"nordic\"\n") + kTls), o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->coordinator_address(), "other:1");

  std::string path = Write(std::string("consortium: \"nordic\"\nbackoff { initial_ms: 5000 "
                                       "max_ms: 100 multiplier: 0.5 jitter: 3 }\n") +
                           kTls);
  auto bad = LoadNodeConfig(path, {});
  ASSERT_FALSE(bad.ok());
  std::string msg(bad.status().message());
  EXPECT_THAT(msg, HasSubstr(path + ": field 'coordinator_address': is required"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'backoff.max_ms'"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'backoff.multiplier'"));
  EXPECT_THAT(msg, HasSubstr(path + ": field 'backoff.jitter'"));
}

TEST_F(NodeConfigTest, DataSectionResolvesPathsAndDefaults) {
  auto c = LoadNodeConfig(
      Write(std::string("coordinator_address: \"x:1\"\nconsortium: \"nordic\"\n") + kTls +
            "data { directory { manifest: \"labels.csv\" }\n"
            "  pacs { host: \"pacs.hospital.local\" port: 104 called_ae_title: \"RESEARCH\"\n"
            "         store_directory: \"pacs-store\" modality: \"CT\" } }\n"),
      {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data().directory().directory(), tmp_.Sub("pacs-store"));
  EXPECT_EQ(c->data().directory().manifest(), tmp_.Sub("labels.csv"));
  EXPECT_EQ(c->data().pacs().store_directory(), tmp_.Sub("pacs-store"));
  EXPECT_EQ(c->data().cache_dir(), tmp_.Sub("node-state") + "/data-cache");
}

TEST_F(NodeConfigTest, DataSectionProblemsAreNamed) {
  std::string path = Write(
      std::string("coordinator_address: \"x:1\"\nconsortium: \"nordic\"\n") + kTls +
      "data { pacs { port: 70000 called_ae_title: \"A-TITLE-LONGER-THAN-16\" } }\n");
  auto c = LoadNodeConfig(path, {});
  ASSERT_FALSE(c.ok());
  std::string msg(c.status().message());
  for (const char* field : {"data.pacs.host", "data.pacs.port", "data.pacs.called_ae_title",
                            "data.pacs.store_directory", "data.directory.directory",
                            "data.directory.manifest"}) {
    EXPECT_THAT(msg, HasSubstr(path + ": field '" + field + "'"));
  }
}

TEST_F(NodeConfigTest, ApprovedRunsMustBeRunIds) {
  std::string path = Write(
      std::string("coordinator_address: \"x:1\"\nconsortium: \"nordic\"\n") + kTls +
      "approved_runs: \"" + std::string(64, 'a') + "\"\napproved_runs: \"my-run\"\n");
  auto c = LoadNodeConfig(path, {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(path + ": field 'approved_runs[1]': 'my-run' is not a run id"));
}

TEST_F(NodeConfigTest, CertificateOfAnotherConsortiumIsRefusedAtStart) {
  std::string path =
      Write(std::string("coordinator_address: \"x:1\"\nconsortium: \"baltic\"\n") + kTls);
  auto c = LoadNodeConfig(path, {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(path + ": field 'tls': certificate file"));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("is for fl://nordic/node/oslo-uh, not a node of consortium 'baltic'"));
}

}  // namespace
}  // namespace tverr::node
