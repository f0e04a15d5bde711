#include "common/crypto/mask_prg.h"

#include <openssl/evp.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tverr::crypto {
namespace {

MaskSeed Seed(uint8_t fill) {
  MaskSeed seed;
  for (size_t i = 0; i < seed.bytes.size(); ++i) seed.bytes[i] = static_cast<uint8_t>(fill + i);
  return seed;
}

MaskNonce Nonce(uint8_t fill) {
  MaskNonce nonce;
  nonce.fill(fill);
  return nonce;
}

MaskPrg Prg(const MaskSeed& seed, const MaskNonce& nonce) {
  auto prg = MaskPrg::Create(seed, nonce);
  EXPECT_TRUE(prg.ok()) << prg.status();
  return std::move(*prg);
}

uint32_t LittleEndian32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// The first `words` words of the stream, computed here straight from
// OpenSSL: AES-256-CTR over zeros from counter block nonce ‖ 00000000.
std::vector<uint32_t> ReferenceWords(const MaskSeed& seed, const MaskNonce& nonce, size_t words) {
  unsigned char iv[16] = {};
  std::memcpy(iv, nonce.data(), nonce.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<unsigned char> zeros(words * 4), stream(words * 4);
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex2(ctx, EVP_aes_256_ctr(), seed.bytes.data(), iv, nullptr), 1);
  EXPECT_EQ(
      EVP_EncryptUpdate(ctx, stream.data(), &len, zeros.data(), static_cast<int>(zeros.size())), 1);
  EVP_CIPHER_CTX_free(ctx);
  std::vector<uint32_t> out(words);
  for (size_t i = 0; i < words; ++i) out[i] = LittleEndian32(&stream[4 * i]);
  return out;
}

// NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt): keystream = ciphertext XOR
// plaintext. Its initial counter block f0f1...fe ff is nonce f0..fb with
// block index 0xfcfdfeff, i.e. element offset 4 * 0xfcfdfeff: the vector
// also checks random access far into the stream.
TEST(MaskPrgTest, Sp80038aF55Vector) {
  const std::string key =
      absl::HexStringToBytes("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  const std::string plaintext = absl::HexStringToBytes(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const std::string ciphertext = absl::HexStringToBytes(
      "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
      "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6");
  auto seed = MaskSeed::FromBytes(key);
  ASSERT_TRUE(seed.ok());
  MaskNonce nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xf0 + i);
  MaskPrg prg = Prg(*seed, nonce);

  std::vector<uint32_t> acc(16, 0);
  ASSERT_TRUE(prg.AddTo(uint64_t{0xfcfdfeff} * 4, absl::MakeSpan(acc)).ok());
  for (size_t i = 0; i < acc.size(); ++i) {
    unsigned char ks[4];
    for (int b = 0; b < 4; ++b) ks[b] = plaintext[4 * i + b] ^ ciphertext[4 * i + b];
    EXPECT_EQ(acc[i], LittleEndian32(ks)) << "word " << i;
  }
}

TEST(MaskPrgTest, MatchesOpenSslAesCtrOverZeros) {
  // More than one internal buffer, and not a whole number of blocks.
  constexpr size_t kWords = 3 * 2048 + 7;
  const MaskSeed seed = Seed(3);
  const MaskNonce nonce = Nonce(0x5a);
  MaskPrg prg = Prg(seed, nonce);
  std::vector<uint32_t> acc(kWords, 0);
  ASSERT_TRUE(prg.AddTo(0, absl::MakeSpan(acc)).ok());
  EXPECT_EQ(acc, ReferenceWords(seed, nonce, kWords));
}

TEST(MaskPrgTest, AnySplitGivesTheSameResultAsOneCall) {
  constexpr size_t kWords = 20011;
  std::mt19937 rng(42);
  std::vector<uint32_t> start(kWords);
  for (uint32_t& v : start) v = rng();
  MaskPrg prg = Prg(Seed(9), Nonce(1));

  std::vector<uint32_t> whole = start;
  ASSERT_TRUE(prg.AddTo(0, absl::MakeSpan(whole)).ok());

  for (int trial = 0; trial < 20; ++trial) {
    std::vector<uint32_t> pieces = start;
    size_t offset = 0;
    while (offset < kWords) {
      // Mostly small, sometimes large pieces, at arbitrary offsets.
      size_t n = trial % 2 == 0 ? 1 + rng() % 9 : 1 + rng() % 5000;
      n = std::min(n, kWords - offset);
      ASSERT_TRUE(prg.AddTo(offset, absl::MakeSpan(pieces).subspan(offset, n)).ok());
      offset += n;
    }
    ASSERT_EQ(pieces, whole) << "trial " << trial;
  }

  // Pieces applied out of order land in the same places.
  std::vector<uint32_t> backwards = start;
  for (size_t end = kWords; end > 0;) {
    size_t begin = end >= 777 ? end - 777 : 0;
    ASSERT_TRUE(prg.AddTo(begin, absl::MakeSpan(backwards).subspan(begin, end - begin)).ok());
    end = begin;
  }
  EXPECT_EQ(backwards, whole);
}

TEST(MaskPrgTest, SubtractUndoesAddModulo2To32) {
  constexpr size_t kWords = 5000;
  std::vector<uint32_t> start(kWords);
  for (size_t i = 0; i < kWords; ++i) start[i] = 0xffffffffu - static_cast<uint32_t>(i);
  MaskPrg prg = Prg(Seed(1), Nonce(2));
  std::vector<uint32_t> acc = start;
  ASSERT_TRUE(prg.AddTo(3, absl::MakeSpan(acc)).ok());
  EXPECT_NE(acc, start);
  ASSERT_TRUE(prg.SubtractFrom(3, absl::MakeSpan(acc).subspan(0, 1234)).ok());
  ASSERT_TRUE(prg.SubtractFrom(3 + 1234, absl::MakeSpan(acc).subspan(1234)).ok());
  EXPECT_EQ(acc, start);
}

// Two parties adding +mask and -mask leave the sum unchanged: how pairwise
// masks cancel in secure aggregation.
TEST(MaskPrgTest, PairwiseMasksCancelInASum) {
  constexpr size_t kWords = 1000;
  MaskPrg u = Prg(Seed(4), Nonce(0));
  MaskPrg v = Prg(Seed(4), Nonce(0));
  std::vector<uint32_t> x(kWords, 10), y(kWords, 20);
  ASSERT_TRUE(u.AddTo(0, absl::MakeSpan(x)).ok());
  ASSERT_TRUE(v.SubtractFrom(0, absl::MakeSpan(y)).ok());
  for (size_t i = 0; i < kWords; ++i) EXPECT_EQ(static_cast<uint32_t>(x[i] + y[i]), 30u);
}

TEST(MaskPrgTest, SeedAndNonceSeparateStreams) {
  constexpr size_t kWords = 64;
  auto words = [](const MaskSeed& seed, const MaskNonce& nonce) {
    MaskPrg prg = Prg(seed, nonce);
    std::vector<uint32_t> acc(kWords, 0);
    EXPECT_TRUE(prg.AddTo(0, absl::MakeSpan(acc)).ok());
    return acc;
  };
  EXPECT_NE(words(Seed(1), Nonce(0)), words(Seed(2), Nonce(0)));
  EXPECT_NE(words(Seed(1), Nonce(0)), words(Seed(1), Nonce(1)));
  EXPECT_EQ(words(Seed(1), Nonce(0)), words(Seed(1), Nonce(0)));
}

TEST(MaskPrgTest, RangeBeyondTheStreamIsRejected) {
  MaskPrg prg = Prg(Seed(1), Nonce(0));
  std::vector<uint32_t> acc(8, 5);
  EXPECT_EQ(prg.AddTo(MaskPrg::kMaxElements - 7, absl::MakeSpan(acc)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(prg.AddTo(MaskPrg::kMaxElements + 1, absl::MakeSpan(acc).subspan(0, 0)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(acc, std::vector<uint32_t>(8, 5));
  // The last words of the stream are reachable.
  EXPECT_TRUE(prg.AddTo(MaskPrg::kMaxElements - 8, absl::MakeSpan(acc)).ok());
  EXPECT_TRUE(prg.AddTo(MaskPrg::kMaxElements, absl::MakeSpan(acc).subspan(0, 0)).ok());
}

TEST(MaskPrgTest, RandomSeedsDiffer) {
  auto a = RandomMaskSeed();
  auto b = RandomMaskSeed();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->bytes, b->bytes);
}

}  // namespace
}  // namespace tverr::crypto
