#include "common/crypto/hkdf.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/crypto/sha256.h"
#include "gtest/gtest.h"

namespace tverr::crypto {
namespace {

std::string Range(int first, int end) {
  std::string s;
  for (int b = first; b < end; ++b) s.push_back(static_cast<char>(b));
  return s;
}

struct Rfc5869Case {
  const char* name;
  std::string ikm;
  std::string salt;
  std::string info;
  size_t length;
  const char* prk;
  const char* okm;
};

// RFC 5869 Appendix A, test cases 1-3 (SHA-256).
std::vector<Rfc5869Case> Rfc5869Cases() {
  return {
      {"A.1 basic", std::string(22, '\x0b'), absl::HexStringToBytes("000102030405060708090a0b0c"),
       absl::HexStringToBytes("f0f1f2f3f4f5f6f7f8f9"), 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"A.2 longer inputs and outputs", Range(0x00, 0x50), Range(0x60, 0xb0), Range(0xb0, 0x100),
       82, "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
       "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"A.3 zero-length salt and info", std::string(22, '\x0b'), "", "", 42,
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
}

TEST(HkdfSha256Test, Rfc5869TestCases) {
  for (const Rfc5869Case& c : Rfc5869Cases()) {
    std::vector<uint8_t> out(c.length);
    ASSERT_TRUE(HkdfSha256(c.ikm, c.salt, c.info, absl::MakeSpan(out)).ok()) << c.name;
    EXPECT_EQ(absl::BytesToHexString(
                  absl::string_view(reinterpret_cast<const char*>(out.data()), out.size())),
              c.okm)
        << c.name;
    // The vector's PRK, as a check on the vector itself: HMAC(salt, IKM),
    // with an empty salt meaning 32 zero bytes.
    std::string salt = c.salt.empty() ? std::string(32, '\0') : c.salt;
    EXPECT_EQ(ToHex(HmacSha256(salt, c.ikm)), c.prk) << c.name;
  }
}

TEST(HkdfSha256Test, ShorterOutputIsAPrefix) {
  const Rfc5869Case c = Rfc5869Cases()[0];
  std::vector<uint8_t> out(10);
  ASSERT_TRUE(HkdfSha256(c.ikm, c.salt, c.info, absl::MakeSpan(out)).ok());
  EXPECT_EQ(absl::BytesToHexString(
                absl::string_view(reinterpret_cast<const char*>(out.data()), out.size())),
            std::string(c.okm).substr(0, 20));
}

TEST(HkdfSha256Test, InfoSeparatesKeys) {
  std::vector<uint8_t> a(32), b(32);
  ASSERT_TRUE(HkdfSha256("shared secret", "session", "purpose a", absl::MakeSpan(a)).ok());
  ASSERT_TRUE(HkdfSha256("shared secret", "session", "purpose b", absl::MakeSpan(b)).ok());
  EXPECT_NE(a, b);
}

TEST(HkdfSha256Test, MaximumLengthWorks) {
  std::vector<uint8_t> out(kHkdfSha256MaxOutput);
  EXPECT_TRUE(HkdfSha256("ikm", "salt", "info", absl::MakeSpan(out)).ok());
}

TEST(HkdfSha256Test, RejectsBadArgumentsAndZeroesOutput) {
  std::vector<uint8_t> out(32, 0xaa);
  EXPECT_EQ(HkdfSha256("", "salt", "info", absl::MakeSpan(out)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out, std::vector<uint8_t>(32, 0));

  std::vector<uint8_t> empty;
  EXPECT_EQ(HkdfSha256("ikm", "salt", "info", absl::MakeSpan(empty)).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> too_long(kHkdfSha256MaxOutput + 1);
  EXPECT_EQ(HkdfSha256("ikm", "salt", "info", absl::MakeSpan(too_long)).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tverr::crypto
