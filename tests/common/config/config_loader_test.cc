#include "common/config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/validation.h"
#include "tests/support/temp_dir.h"
#include "tverr/v1/config.pb.h"

namespace tverr::config {
namespace {

using ::testing::HasSubstr;

TEST(LoadTextProtoFile, ParsesAValidFile) {
  testing::TempDir tmp;
  testing::WriteFileOrDie(tmp.Sub("c.textproto"),
                          "consortium: \"nordic\"\ntls { cert_file: \"a.pem\" }\n");
  v1::CoordinatorConfig config;
  ASSERT_TRUE(LoadTextProtoFile(tmp.Sub("c.textproto"), &config).ok());
  EXPECT_EQ(config.consortium(), "nordic");
  EXPECT_EQ(config.tls().cert_file(), "a.pem");
}

TEST(LoadTextProtoFile, NamesFileLineAndColumnOfAnUnknownField) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("c.textproto");
  testing::WriteFileOrDie(path, "consortium: \"nordic\"\n  consortum: \"x\"\n");
  v1::CoordinatorConfig config;
  absl::Status s = LoadTextProtoFile(path, &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(path + ":2:"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("consortum"));
}

TEST(LoadTextProtoFile, ReportsWrongTypesAndMissingFiles) {
  testing::TempDir tmp;
  std::string path = tmp.Sub("c.textproto");
  testing::WriteFileOrDie(path, "heartbeat_interval_seconds: \"soon\"\n");
  v1::CoordinatorConfig config;
  EXPECT_THAT(std::string(LoadTextProtoFile(path, &config).message()), HasSubstr(path + ":1:"));
  EXPECT_EQ(LoadTextProtoFile(tmp.Sub("none"), &config).code(), absl::StatusCode::kNotFound);
}

TEST(ResolvePath, RelativePathsAreRelativeToTheConfigDirectory) {
  EXPECT_EQ(DirName("/etc/tverr/node.textproto"), "/etc/tverr");
  EXPECT_EQ(DirName("node.textproto"), ".");
  EXPECT_EQ(ResolvePath("/etc/tverr", "tls/cert.pem"), "/etc/tverr/tls/cert.pem");
  EXPECT_EQ(ResolvePath("/etc/tverr", "/abs/cert.pem"), "/abs/cert.pem");
  EXPECT_EQ(ResolvePath("/etc/tverr", ""), "");
}

TEST(ConfigErrors, ListsEveryProblemWithFileAndField) {
  ConfigErrors errors("node.textproto");
  ValidateNameField("consortium", "Bad Name", &errors);
  ValidateAddressField("coordinator_address", "localhost", &errors);
  ValidateLogLevelField("log_level", "loud", &errors);
  ValidateAddressField("ok_address", "localhost:7443", &errors);
  absl::Status s = errors.ToStatus();
  EXPECT_THAT(std::string(s.message()), HasSubstr("node.textproto: field 'consortium'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("node.textproto: field 'coordinator_address'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("node.textproto: field 'log_level'"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("ok_address")));
}

}  // namespace
}  // namespace tverr::config

namespace tverr::config {
namespace {

// The documented examples in deploy/ must stay valid against the schema.
TEST(DeployExamples, ParseAgainstTheConfigSchema) {
  v1::CoordinatorConfig coordinator;
  EXPECT_TRUE(LoadTextProtoFile(std::string(TVERR_SOURCE_DIR) +
                                    "/deploy/examples/coordinator.textproto",
                                &coordinator)
                  .ok());
  EXPECT_EQ(coordinator.consortium(), "nordic-radiology");
  v1::NodeConfig node;
  EXPECT_TRUE(
      LoadTextProtoFile(std::string(TVERR_SOURCE_DIR) + "/deploy/examples/node.textproto", &node)
          .ok());
  EXPECT_EQ(node.coordinator_address(), "fl.example.org:7443");
}

}  // namespace
}  // namespace tverr::config
