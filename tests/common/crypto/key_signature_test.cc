#include "common/crypto/key_signature.h"

#include <filesystem>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/pki/certificate.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace tverr::crypto {
namespace {

using testing::ReadFileOrEmpty;
using testing::TempDir;
using testing::TestPki;
using testing::TlsDir;

constexpr char kContext[] = "tverr.test.keys";
constexpr char kMessage[] = "two X25519 public keys, round 7";

// The newest CRL in `crl_dir`: <hash>.r<n> with the highest n.
std::string NewestCrl(const std::string& crl_dir) {
  std::string newest;
  int newest_n = -1;
  for (const auto& entry : std::filesystem::directory_iterator(crl_dir)) {
    std::string name = entry.path().filename().string();
    size_t dot = name.rfind(".r");
    int n = 0;
    if (dot != std::string::npos && absl::SimpleAtoi(name.substr(dot + 2), &n) && n > newest_n) {
      newest_n = n;
      newest = entry.path().string();
    }
  }
  return ReadFileOrEmpty(newest);
}

class KeySignatureTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  TestPki pki_{tmp_.Sub("pki"), "nordic"};
  TlsDir oslo_ = pki_.Issue(v1::ROLE_NODE, "oslo-uh");
  TlsDir bergen_ = pki_.Issue(v1::ROLE_NODE, "bergen");

  SignatureTrust Trust() const {
    SignatureTrust trust;
    trust.ca_pem = ReadFileOrEmpty(oslo_.ca());
    return trust;
  }

  std::string Sign(const TlsDir& who, absl::string_view context = kContext,
                   absl::string_view message = kMessage) {
    auto signature = SignWithPrivateKeyFile(who.key(), context, message);
    EXPECT_TRUE(signature.ok()) << signature.status();
    return signature.ok() ? *signature : std::string();
  }

  absl::StatusOr<pki::Identity> Verify(const TlsDir& who, absl::string_view signature,
                                       const SignatureTrust& trust,
                                       absl::string_view context = kContext,
                                       absl::string_view message = kMessage) {
    return VerifySignature(ReadFileOrEmpty(who.cert()), context, message, signature, trust);
  }
};

TEST_F(KeySignatureTest, GoodSignatureVerifiesAndNamesTheSigner) {
  auto identity = Verify(oslo_, Sign(oslo_), Trust());
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, (pki::Identity{"nordic", v1::ROLE_NODE, "oslo-uh"}));
}

TEST_F(KeySignatureTest, SigningFromPemEqualsSigningFromFile) {
  auto signature = SignWithPrivateKeyPem(ReadFileOrEmpty(oslo_.key()), kContext, kMessage);
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(Verify(oslo_, *signature, Trust()).ok());
}

TEST_F(KeySignatureTest, FlippedSignatureByteFails) {
  const std::string signature = Sign(oslo_);
  for (size_t i = 0; i < signature.size(); ++i) {
    std::string altered = signature;
    altered[i] ^= 0x01;
    EXPECT_EQ(Verify(oslo_, altered, Trust()).status().code(), absl::StatusCode::kUnauthenticated)
        << "byte " << i;
  }
  EXPECT_EQ(Verify(oslo_, "", Trust()).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(KeySignatureTest, WrongMessageOrContextFails) {
  const std::string signature = Sign(oslo_);
  EXPECT_EQ(Verify(oslo_, signature, Trust(), kContext, "another message").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Verify(oslo_, signature, Trust(), "tverr.test.other", kMessage).status().code(),
            absl::StatusCode::kUnauthenticated);
  // The context/message boundary is part of what is signed.
  const std::string split = Sign(oslo_, "ab", "cd");
  EXPECT_EQ(Verify(oslo_, split, Trust(), "abc", "d").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(KeySignatureTest, AnotherNodesCertificateFails) {
  EXPECT_EQ(Verify(bergen_, Sign(oslo_), Trust()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(KeySignatureTest, CertificateFromAnotherCaFails) {
  TestPki other(tmp_.Sub("other"), "nordic");
  TlsDir impostor = other.Issue(v1::ROLE_NODE, "oslo-uh");
  auto result = Verify(impostor, Sign(impostor), Trust());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << result.status();
  EXPECT_NE(result.status().message().find("not trusted"), absl::string_view::npos);
}

TEST_F(KeySignatureTest, ExpiredCertificateFails) {
  SignatureTrust trust = Trust();
  trust.at = absl::Now() + absl::Hours(24 * 365 * 30);
  EXPECT_EQ(Verify(oslo_, Sign(oslo_), trust).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(KeySignatureTest, RevokedCertificateFailsWithTheCrl) {
  auto info = pki::ReadCertificateFile(bergen_.cert());
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(pki_.ca().Revoke(info->serial_hex).ok());
  SignatureTrust trust = Trust();
  trust.crl_pems = {NewestCrl(pki_.crl_dir())};
  ASSERT_FALSE(trust.crl_pems[0].empty());

  auto revoked = Verify(bergen_, Sign(bergen_), trust);
  EXPECT_EQ(revoked.status().code(), absl::StatusCode::kUnauthenticated) << revoked.status();
  EXPECT_TRUE(Verify(oslo_, Sign(oslo_), trust).ok());
  // Without CRLs there is no revocation check.
  EXPECT_TRUE(Verify(bergen_, Sign(bergen_), Trust()).ok());
}

TEST_F(KeySignatureTest, BadInputsAreInvalidArguments) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(SignWithPrivateKeyFile(oslo_.key(), "", kMessage).status().code(), kInvalid);
  EXPECT_EQ(SignWithPrivateKeyPem("not a key", kContext, kMessage).status().code(), kInvalid);
  EXPECT_EQ(
      SignWithPrivateKeyPem(ReadFileOrEmpty(oslo_.cert()), kContext, kMessage).status().code(),
      kInvalid);
  const std::string signature = Sign(oslo_);
  EXPECT_EQ(Verify(oslo_, signature, Trust(), "", kMessage).status().code(), kInvalid);
  EXPECT_EQ(VerifySignature("garbage", kContext, kMessage, signature, Trust()).status().code(),
            kInvalid);
  SignatureTrust no_ca;
  EXPECT_EQ(Verify(oslo_, signature, no_ca).status().code(), kInvalid);
  SignatureTrust bad_crl = Trust();
  bad_crl.crl_pems = {"garbage"};
  EXPECT_EQ(Verify(oslo_, signature, bad_crl).status().code(), kInvalid);
}

TEST_F(KeySignatureTest, MissingKeyFileIsNotFound) {
  EXPECT_EQ(SignWithPrivateKeyFile(tmp_.Sub("missing.pem"), kContext, kMessage).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tverr::crypto
