#include "common/crypto/aes_gcm.h"

#include <cstring>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tverr::crypto {
namespace {

AesGcmKey Key(absl::string_view hex) {
  auto key = AesGcmKey::FromBytes(absl::HexStringToBytes(hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

AesGcmNonce Nonce(absl::string_view hex) {
  std::string bytes = absl::HexStringToBytes(hex);
  AesGcmNonce nonce{};
  EXPECT_EQ(bytes.size(), nonce.size());
  std::memcpy(nonce.data(), bytes.data(), nonce.size());
  return nonce;
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

// D. McGrew and J. Viega, "The Galois/Counter Mode of Operation (GCM)"
// (the specification submitted to NIST), Appendix B, test cases 13-16: the
// AES-256 cases with a 96-bit IV. Case 16 has both AAD and plaintext.
constexpr GcmVector kGcmSpecVectors[] = {
    {"test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"test case 15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AesGcmTest, GcmSpecVectorsSeal) {
  for (const GcmVector& v : kGcmSpecVectors) {
    auto sealed = AesGcmSeal(Key(v.key), Nonce(v.iv), absl::HexStringToBytes(v.plaintext),
                             absl::HexStringToBytes(v.aad));
    ASSERT_TRUE(sealed.ok()) << v.name << ": " << sealed.status();
    EXPECT_EQ(absl::BytesToHexString(*sealed), std::string(v.ciphertext) + v.tag) << v.name;
  }
}

TEST(AesGcmTest, GcmSpecVectorsOpen) {
  for (const GcmVector& v : kGcmSpecVectors) {
    auto plaintext = AesGcmOpen(Key(v.key), Nonce(v.iv),
                                absl::HexStringToBytes(std::string(v.ciphertext) + v.tag),
                                absl::HexStringToBytes(v.aad));
    ASSERT_TRUE(plaintext.ok()) << v.name << ": " << plaintext.status();
    EXPECT_EQ(absl::BytesToHexString(*plaintext), v.plaintext) << v.name;
  }
}

class AesGcmTamperTest : public ::testing::Test {
 protected:
  const GcmVector& v_ = kGcmSpecVectors[3];
  AesGcmKey key_ = Key(v_.key);
  AesGcmNonce nonce_ = Nonce(v_.iv);
  std::string aad_ = absl::HexStringToBytes(v_.aad);
  std::string sealed_ = absl::HexStringToBytes(std::string(v_.ciphertext) + v_.tag);

  void ExpectRejected(const AesGcmKey& key, const AesGcmNonce& nonce, absl::string_view sealed,
                      absl::string_view aad) {
    auto opened = AesGcmOpen(key, nonce, sealed, aad);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument) << opened.status();
  }
};

TEST_F(AesGcmTamperTest, EveryFlippedBitIsRejected) {
  for (size_t i = 0; i < sealed_.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = sealed_;
      altered[i] ^= static_cast<char>(1 << bit);
      ExpectRejected(key_, nonce_, altered, aad_);
    }
  }
}

TEST_F(AesGcmTamperTest, WrongAadKeyOrNonceIsRejected) {
  ExpectRejected(key_, nonce_, sealed_, "");
  std::string aad = aad_;
  aad[0] ^= 1;
  ExpectRejected(key_, nonce_, sealed_, aad);
  AesGcmKey key = key_;
  key.bytes[31] ^= 1;
  ExpectRejected(key, nonce_, sealed_, aad_);
  AesGcmNonce nonce = nonce_;
  nonce[0] ^= 1;
  ExpectRejected(key_, nonce, sealed_, aad_);
}

TEST_F(AesGcmTamperTest, TruncatedOrExtendedInputIsRejected) {
  for (size_t n = 0; n < sealed_.size(); ++n) {
    ExpectRejected(key_, nonce_, sealed_.substr(0, n), aad_);
  }
  ExpectRejected(key_, nonce_, sealed_ + "x", aad_);
}

TEST(AesGcmTest, RoundTripsLargeAndEmptyMessages) {
  AesGcmKey key;
  key.bytes.fill(7);
  AesGcmNonce nonce{};
  std::string large(1 << 20, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 31);
  for (const std::string& message : {std::string(), large}) {
    auto sealed = AesGcmSeal(key, nonce, message, "aad");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), message.size() + kAesGcmTagSize);
    auto opened = AesGcmOpen(key, nonce, *sealed, "aad");
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, message);
  }
}

}  // namespace
}  // namespace tverr::crypto
