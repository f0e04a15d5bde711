#include "coordinator/flctl/pki_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/pki/certificate.h"
#include "gtest/gtest.h"

namespace tverr::flctl {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Pki(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunPkiCommand(args, out, err);
  return {code, out.str(), err.str()};
}

mode_t ModeOf(const fs::path& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

class PkiCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat("tverr_flctl_pki_", info->name(), "_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string P(const std::string& name) const { return (root_ / name).string(); }

  void InitCa() {
    Result r = Pki({"init", "--ca_dir", P("ca"), "--consortium", "nordic"});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  fs::path root_;
};

TEST_F(PkiCommandTest, InitCreatesCa) {
  Result r = Pki({"init", "--ca_dir", P("ca"), "--consortium=nordic", "--days", "30"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("nordic"), std::string::npos) << r.out;
  EXPECT_EQ(ModeOf(root_ / "ca" / "ca.key"), 0600);
  EXPECT_NE(r.out.find((root_ / "ca" / "crl").string()), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PRIVATE KEY"), std::string::npos);

  Result again = Pki({"init", "--ca_dir", P("ca"), "--consortium", "nordic"});
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err.rfind("flctl pki init: ", 0), 0u) << again.err;
}

TEST_F(PkiCommandTest, IssueWritesKeyCertAndCaCopy) {
  InitCa();
  Result r = Pki({"issue", "--ca_dir", P("ca"), "--role", "coordinator", "--name", "main",
                  "--out_dir", P("coord"), "--dns", "localhost,coord.example.org", "--ip",
                  "127.0.0.1", "--days", "10"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("fl://nordic/coordinator/main"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(ModeOf(root_ / "coord" / "key.pem"), 0600);
  EXPECT_TRUE(fs::exists(root_ / "coord" / "ca.pem"));

  absl::StatusOr<pki::CertificateInfo> info = pki::ReadCertificateFile(P("coord/cert.pem"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"localhost", "coord.example.org"}));
  EXPECT_EQ(info->ip_addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_NEAR(absl::ToDoubleHours(info->not_after - absl::Now()), 240, 1);
  EXPECT_NE(r.out.find(info->serial_hex), std::string::npos);
  EXPECT_NE(r.out.find(info->sha256_hex), std::string::npos);

  // An existing key is never overwritten.
  Result again = Pki({"issue", "--ca_dir", P("ca"), "--role", "coordinator", "--name", "main",
                      "--out_dir", P("coord")});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

  // Only coordinators get DNS names.
  Result node = Pki({"issue", "--ca_dir", P("ca"), "--role", "node", "--name", "oslo", "--out_dir",
                     P("oslo"), "--dns", "oslo.example.org"});
  EXPECT_EQ(node.code, 1);
  EXPECT_EQ(node.err.rfind("flctl pki issue: ", 0), 0u) << node.err;
}

TEST_F(PkiCommandTest, RequestSignRevokeAndList) {
  InitCa();
  Result request = Pki({"request", "--consortium", "nordic", "--role", "node", "--name", "oslo-uh",
                        "--out_dir", P("oslo")});
  ASSERT_EQ(request.code, 0) << request.err;
  EXPECT_EQ(ModeOf(root_ / "oslo" / "key.pem"), 0600);
  ASSERT_TRUE(fs::exists(root_ / "oslo" / "request.csr"));

  Result wrong = Pki({"sign", "--ca_dir", P("ca"), "--csr", P("oslo/request.csr"), "--role", "node",
                      "--name", "bergen", "--out", P("oslo/cert.pem")});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("fl://nordic/node/oslo-uh"), std::string::npos) << wrong.err;
  EXPECT_FALSE(fs::exists(root_ / "oslo" / "cert.pem"));

  Result sign = Pki({"sign", "--ca_dir", P("ca"), "--csr", P("oslo/request.csr"), "--role", "node",
                     "--name", "oslo-uh", "--out", P("oslo/cert.pem")});
  ASSERT_EQ(sign.code, 0) << sign.err;
  absl::StatusOr<pki::CertificateInfo> info = pki::ReadCertificateFile(P("oslo/cert.pem"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->identity.Uri(), "fl://nordic/node/oslo-uh");

  Result show = Pki({"show", "--cert", P("oslo/cert.pem")});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find("fl://nordic/node/oslo-uh"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(info->sha256_hex), std::string::npos) << show.out;

  Result listed = Pki({"list", "--ca_dir", P("ca")});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find(info->serial_hex), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("valid"), std::string::npos) << listed.out;

  Result revoke = Pki({"revoke", "--ca_dir", P("ca"), "--cert", P("oslo/cert.pem")});
  ASSERT_EQ(revoke.code, 0) << revoke.err;
  EXPECT_NE(revoke.out.find(".r1"), std::string::npos) << "revocation writes the next CRL file: " << revoke.out;

  listed = Pki({"list", "--ca_dir", P("ca")});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find("revoked"), std::string::npos) << listed.out;

  Result twice = Pki({"revoke", "--ca_dir", P("ca"), "--serial", info->serial_hex});
  EXPECT_EQ(twice.code, 1);
  EXPECT_NE(twice.err.find("already revoked"), std::string::npos) << twice.err;

  Result crl = Pki({"crl", "--ca_dir", P("ca")});
  EXPECT_EQ(crl.code, 0) << crl.err;
}

TEST_F(PkiCommandTest, UsageErrorsExitTwo) {
  Result none = Pki({});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("usage: flctl pki"), std::string::npos);

  Result help = Pki({"help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: flctl pki"), std::string::npos);

  Result unknown_option = Pki({"init", "--ca_dir", P("ca"), "--consortium", "c", "--colour", "x"});
  EXPECT_EQ(unknown_option.code, 2);
  EXPECT_NE(unknown_option.err.find("--colour"), std::string::npos) << unknown_option.err;
  EXPECT_FALSE(fs::exists(root_ / "ca"));

  Result missing = Pki({"issue", "--ca_dir", P("ca"), "--role", "node"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--name"), std::string::npos) << missing.err;

  EXPECT_EQ(Pki({"frobnicate"}).code, 2);
  EXPECT_EQ(Pki({"list", "--ca_dir", P("ca"), "extra"}).code, 2);
  EXPECT_EQ(Pki({"init", "--ca_dir", P("ca"), "--consortium", "c", "--days", "0"}).code, 2);
  EXPECT_EQ(Pki({"revoke", "--ca_dir", P("ca")}).code, 2);
  EXPECT_EQ(
      Pki({"request", "--consortium", "c", "--role", "king", "--name", "n", "--out_dir", P("x")})
          .code,
      2);
  // A well-formed command that fails is not a usage error.
  EXPECT_EQ(Pki({"list", "--ca_dir", P("missing")}).code, 1);
}

}  // namespace
}  // namespace tverr::flctl
