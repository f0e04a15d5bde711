#include "common/crypto/shamir.h"

#include <openssl/bn.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common/crypto/shamir_internal.h"
#include "gtest/gtest.h"

namespace tverr::crypto {
namespace {

using shamir_internal::FieldElement;

std::vector<uint32_t> Xs(uint32_t n) {
  std::vector<uint32_t> xs(n);
  std::iota(xs.begin(), xs.end(), 1);
  return xs;
}

std::vector<ShamirShare> Split(absl::string_view secret, int t, const std::vector<uint32_t>& xs) {
  auto shares = ShamirSplit(secret, t, xs);
  EXPECT_TRUE(shares.ok()) << shares.status();
  return shares.ok() ? *shares : std::vector<ShamirShare>();
}

std::string Secret32(uint8_t first) {
  std::string s(32, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(first + 7 * i);
  return s;
}

// The field's prime 2^521 - 1 (the Mersenne prime M521, Robinson 1952) is
// prime, and it is the p that ShamirShare::Parse enforces.
TEST(ShamirTest, FieldPrimeIsM521) {
  BIGNUM* p = BN_new();
  BN_CTX* ctx = BN_CTX_new();
  ASSERT_EQ(BN_set_bit(p, 521), 1);
  ASSERT_EQ(BN_sub_word(p, 1), 1);
  EXPECT_EQ(BN_check_prime(p, ctx, nullptr), 1);

  std::string bytes(kShamirShareSize, '\0');
  bytes[3] = 1;  // x = 1
  ASSERT_EQ(BN_bn2binpad(p, reinterpret_cast<unsigned char*>(bytes.data()) + 4,
                         static_cast<int>(kShamirValueSize)),
            static_cast<int>(kShamirValueSize));
  EXPECT_EQ(ShamirShare::Parse(bytes).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(BN_sub_word(p, 1), 1);
  ASSERT_EQ(BN_bn2binpad(p, reinterpret_cast<unsigned char*>(bytes.data()) + 4,
                         static_cast<int>(kShamirValueSize)),
            static_cast<int>(kShamirValueSize));
  EXPECT_TRUE(ShamirShare::Parse(bytes).ok());
  BN_CTX_free(ctx);
  BN_free(p);
}

TEST(ShamirTest, EveryThresholdSubsetReconstructs) {
  const std::string secret = Secret32(1);
  const std::vector<ShamirShare> shares = Split(secret, 3, Xs(5));
  ASSERT_EQ(shares.size(), 5u);
  for (size_t a = 0; a < 5; ++a) {
    for (size_t b = a + 1; b < 5; ++b) {
      for (size_t c = b + 1; c < 5; ++c) {
        std::vector<ShamirShare> subset = {shares[c], shares[a], shares[b]};
        auto got = ShamirReconstruct(subset, 3);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(*got, secret);
      }
    }
  }
  // All five, consistent with each other.
  auto all = ShamirReconstruct(shares, 3);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, secret);
}

TEST(ShamirTest, SecretsOfEveryLengthRoundTripExactly) {
  for (size_t n = 0; n <= kShamirMaxSecretSize; ++n) {
    for (char fill : {'\0', '\x01', '\xff'}) {
      std::string secret(n, fill);
      auto got = ShamirReconstruct(Split(secret, 2, {7, 9, 1000}), 2);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, secret) << "length " << n;
    }
  }
}

TEST(ShamirTest, ThresholdOneSharesAreTheSecret) {
  auto got = ShamirReconstruct(std::vector<ShamirShare>{Split("abc", 1, Xs(3))[2]}, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "abc");
}

TEST(ShamirTest, SplittingIsRandomised) {
  const std::vector<ShamirShare> a = Split("same", 2, Xs(2));
  const std::vector<ShamirShare> b = Split("same", 2, Xs(2));
  EXPECT_NE(a[0].y, b[0].y);
}

TEST(ShamirTest, FewerThanThresholdSharesFail) {
  std::vector<ShamirShare> shares = Split(Secret32(2), 4, Xs(6));
  shares.resize(3);
  EXPECT_EQ(ShamirReconstruct(shares, 4).status().code(), absl::StatusCode::kFailedPrecondition);
}

// Interpolating t - 1 shares does not give the secret back (as a degree
// t - 2 polynomial would need), and claiming a lower threshold is caught.
TEST(ShamirTest, ThresholdMinusOneSharesGiveADifferentValue) {
  const std::string secret = Secret32(3);
  std::vector<ShamirShare> shares = Split(secret, 5, Xs(8));
  shares.resize(4);
  auto encoded = shamir_internal::EncodeSecret(secret);
  ASSERT_TRUE(encoded.ok());
  auto at_zero = shamir_internal::InterpolateAt(shares, {0});
  ASSERT_TRUE(at_zero.ok()) << at_zero.status();
  EXPECT_NE((*at_zero)[0], *encoded);
  EXPECT_EQ(ShamirReconstruct(shares, 4).status().code(), absl::StatusCode::kInvalidArgument);
}

// With a fixed polynomial of degree t - 1, the t - 1 shares at x = 1..t-1 are
// consistent with every candidate secret: for each candidate there is a
// share at x = t that completes them to a valid sharing of that candidate.
// So t - 1 shares carry no information about which secret was shared.
TEST(ShamirTest, ThresholdMinusOneSharesFitEveryCandidateSecret) {
  constexpr int kT = 4;
  const std::string secret = Secret32(4);
  auto encoded = shamir_internal::EncodeSecret(secret);
  ASSERT_TRUE(encoded.ok());
  // The polynomial through (0, secret) and three fixed points.
  std::vector<ShamirShare> defining(kT);
  defining[0].x = 0;
  defining[0].y = *encoded;
  for (int i = 1; i < kT; ++i) {
    defining[i].x = 100 + i;
    defining[i].y.fill(static_cast<uint8_t>(i));
    defining[i].y[0] = 0;  // Below p.
  }
  auto values = shamir_internal::InterpolateAt(defining, {1, 2, 3, 4});
  ASSERT_TRUE(values.ok()) << values.status();
  std::vector<ShamirShare> shares(kT);
  for (int i = 0; i < kT; ++i) {
    shares[i].x = static_cast<uint32_t>(i + 1);
    shares[i].y = (*values)[i];
  }
  auto full = ShamirReconstruct(shares, kT);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(*full, secret);

  const std::vector<ShamirShare> known(shares.begin(), shares.begin() + kT - 1);
  for (const std::string& candidate :
       {std::string(), std::string("x"), Secret32(200), std::string(32, '\xff'), secret}) {
    auto candidate_encoded = shamir_internal::EncodeSecret(candidate);
    ASSERT_TRUE(candidate_encoded.ok());
    std::vector<ShamirShare> points = known;
    points.push_back(ShamirShare{0, *candidate_encoded});
    auto completion = shamir_internal::InterpolateAt(points, {kT});
    ASSERT_TRUE(completion.ok()) << completion.status();
    std::vector<ShamirShare> completed = known;
    completed.push_back(ShamirShare{kT, (*completion)[0]});
    auto got = ShamirReconstruct(completed, kT);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, candidate);
  }
}

TEST(ShamirTest, LargeGroupHundredSharesThresholdFiftyOne) {
  constexpr int kN = 100;
  constexpr int kT = 51;
  const std::string secret = Secret32(5);
  std::vector<ShamirShare> shares = Split(secret, kT, Xs(kN));
  ASSERT_EQ(shares.size(), static_cast<size_t>(kN));

  std::mt19937 rng(7);
  for (int trial = 0; trial < 3; ++trial) {
    std::shuffle(shares.begin(), shares.end(), rng);
    auto got = ShamirReconstruct(absl::MakeConstSpan(shares).subspan(0, kT), kT);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, secret);
  }
  auto all = ShamirReconstruct(shares, kT);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, secret);

  // One altered share among the extra ones is detected...
  shares[kN - 1].y[kShamirValueSize - 1] ^= 1;
  EXPECT_EQ(ShamirReconstruct(shares, kT).status().code(), absl::StatusCode::kInvalidArgument);
  // ...and so is one among the first t.
  std::swap(shares[0], shares[kN - 1]);
  EXPECT_EQ(ShamirReconstruct(absl::MakeConstSpan(shares).subspan(0, kT), kT).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ShamirTest, SharesSerialiseToFixedLength) {
  for (const ShamirShare& share : Split(Secret32(6), 2, {1, 0xfffffffe})) {
    std::string bytes = share.Serialize();
    EXPECT_EQ(bytes.size(), kShamirShareSize);
    auto parsed = ShamirShare::Parse(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->x, share.x);
    EXPECT_EQ(parsed->y, share.y);
  }
}

TEST(ShamirTest, MalformedShareBytesAreRejected) {
  const std::string good = Split(Secret32(7), 2, {3, 4})[0].Serialize();
  EXPECT_EQ(ShamirShare::Parse(good.substr(0, kShamirShareSize - 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirShare::Parse(good + "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirShare::Parse("").status().code(), absl::StatusCode::kInvalidArgument);
  std::string zero_x = good;
  zero_x[3] = 0;
  EXPECT_EQ(ShamirShare::Parse(zero_x).status().code(), absl::StatusCode::kInvalidArgument);
  std::string too_big = good;
  too_big[4] = 0x02;  // y >= 2^521 > p
  EXPECT_EQ(ShamirShare::Parse(too_big).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShamirTest, SplitRejectsBadArguments) {
  auto code = [](absl::string_view secret, int t, std::vector<uint32_t> xs) {
    return ShamirSplit(secret, t, xs).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code("s", 0, Xs(3)), kInvalid);
  EXPECT_EQ(code("s", -1, Xs(3)), kInvalid);
  EXPECT_EQ(code("s", 4, Xs(3)), kInvalid);
  EXPECT_EQ(code("s", 1, {}), kInvalid);
  EXPECT_EQ(code("s", 2, {0, 1, 2}), kInvalid);
  EXPECT_EQ(code("s", 2, {1, 2, 1}), kInvalid);
  EXPECT_EQ(code(std::string(kShamirMaxSecretSize + 1, 'a'), 2, Xs(3)), kInvalid);
}

TEST(ShamirTest, ReconstructRejectsBadShares) {
  std::vector<ShamirShare> shares = Split(Secret32(8), 2, Xs(3));
  EXPECT_EQ(ShamirReconstruct(shares, 0).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<ShamirShare> repeated = {shares[0], shares[1], shares[0]};
  EXPECT_EQ(ShamirReconstruct(repeated, 2).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<ShamirShare> zero = shares;
  zero[1].x = 0;
  EXPECT_EQ(ShamirReconstruct(zero, 2).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<ShamirShare> too_big = shares;
  too_big[0].y.fill(0xff);
  EXPECT_EQ(ShamirReconstruct(too_big, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tverr::crypto
