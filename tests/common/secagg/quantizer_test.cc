#include "common/secagg/quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/secagg/bulk_decode.h"
#include "gtest/gtest.h"

namespace tverr::secagg {
namespace {

v1::SecureAggregationParams Params(double clip, uint32_t bits, uint32_t max_nodes) {
  v1::SecureAggregationParams p;
  p.set_clip(clip);
  p.set_bits(bits);
  p.set_max_nodes(max_nodes);
  return p;
}

TEST(QuantizerTest, CheckParamsAcceptsAndRefuses) {
  struct Case {
    double clip;
    uint32_t bits;
    uint32_t max_nodes;
    bool ok;
    const char* field;  // named in the message when refused
  };
  const Case cases[] = {
      {1e4, 26, 64, true, ""},
      {1.0, 8, 2, true, ""},
      {1.0, 31, 2, true, ""},          // 31 + 1 = 32
      {1.0, 25, 100, true, ""},        // 25 + ceil(log2 100) = 25 + 7
      {1e4, 27, 64, false, "bits"},    // 27 + 6 = 33
      {1e4, 26, 65, false, "bits"},    // 26 + 7 = 33
      {1.0, 32, 2, false, "bits"},     // 32 + 1
      {1.0, 7, 2, false, "bits"},      // too coarse
      {1.0, 16, 1, false, "max_nodes"},
      {0.0, 16, 4, false, "clip"},
      {-1.0, 16, 4, false, "clip"},
      {INFINITY, 16, 4, false, "clip"},
      {NAN, 16, 4, false, "clip"},
  };
  for (const Case& c : cases) {
    absl::Status status = CheckParams(Params(c.clip, c.bits, c.max_nodes));
    if (c.ok) {
      EXPECT_TRUE(status.ok()) << c.clip << " " << c.bits << " " << c.max_nodes << ": " << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
          << c.clip << " " << c.bits << " " << c.max_nodes;
      EXPECT_NE(status.message().find(c.field), absl::string_view::npos) << status;
    }
  }
}

TEST(QuantizerTest, MaxSamplesLeavesHeadroomForMaxNodes) {
  EXPECT_EQ(MaxSamples(Params(1, 26, 64)), 0xFFFFFFFFu / 64);
  const uint32_t m = MaxSamples(Params(1, 20, 1000));
  EXPECT_LE(uint64_t{m} * 1000, uint64_t{0xFFFFFFFFu});
  EXPECT_GT(uint64_t{m + 1} * 1000, uint64_t{0xFFFFFFFFu});
}

TEST(QuantizerTest, StochasticRoundingIsUnbiased) {
  // 8 bits: a level is 2 * clip / 255, so a biased rounding would show.
  const v1::SecureAggregationParams params = Params(1.0, 8, 2);
  Quantizer q(params, /*seed=*/42);
  const double step = 2.0 / 255;
  for (float x : {0.3337f, -0.7771f, 0.0001f, 0.99f}) {
    constexpr int kN = 200000;
    std::vector<float> values(kN, x);
    std::vector<uint32_t> out(kN);
    q.Encode(/*weight=*/1.0, values.data(), kN, out.data());
    double mean = 0;
    for (uint32_t v : out) mean += q.Decode(v, 1);
    mean /= kN;
    // Each decoded value is within one level; the mean of kN independent
    // roundings within 5 standard deviations (<= step / 2 each).
    EXPECT_NEAR(mean, x, 5 * (step / 2) / std::sqrt(double{kN})) << x;
    // Only the two neighbouring levels occur.
    for (uint32_t v : out) ASSERT_LT(std::abs(q.Decode(v, 1) - x), step) << x;
  }
}

TEST(QuantizerTest, ClipsToTheRange) {
  Quantizer q(Params(2.5, 16, 8), /*seed=*/1);
  const float values[] = {3.0f, -3.0f, 1e30f, -1e30f, 2.5f, -2.5f};
  uint32_t out[6];
  q.Encode(/*weight=*/1.0, values, 6, out);
  EXPECT_EQ(out[0], 65535u);
  EXPECT_EQ(out[1], 0u);
  EXPECT_EQ(out[2], 65535u);
  EXPECT_EQ(out[3], 0u);
  EXPECT_EQ(out[4], 65535u);
  EXPECT_EQ(out[5], 0u);
  EXPECT_DOUBLE_EQ(q.Decode(out[0], 1), 2.5);
  EXPECT_DOUBLE_EQ(q.Decode(out[1], 1), -2.5);
  // The weight is applied before clipping: 1000 samples x 0.01 = 10 > 2.5.
  const float small = 0.01f;
  q.Encode(/*weight=*/1000.0, &small, 1, out);
  EXPECT_EQ(out[0], 65535u);
}

TEST(QuantizerTest, MaxNodesEncodingsOfTheLargestValueDoNotWrap) {
  for (const auto& params : {Params(1e4, 26, 64), Params(1.0, 25, 100), Params(3.0, 31, 2)}) {
    Quantizer q(params, /*seed=*/7);
    const float top = static_cast<float>(params.clip());
    uint32_t sum = 0;
    uint64_t exact = 0;
    for (uint32_t i = 0; i < params.max_nodes(); ++i) {
      uint32_t word;
      q.Encode(/*weight=*/1.0, &top, 1, &word);
      sum += word;  // modulo 2^32, as the masked sum is
      exact += word;
    }
    EXPECT_EQ(uint64_t{sum}, exact) << params.ShortDebugString();
    EXPECT_NEAR(q.Decode(sum, params.max_nodes()), params.max_nodes() * params.clip(),
                q.ErrorBound(params.max_nodes()))
        << params.ShortDebugString();
    // And the smallest: all zeros.
    const float bottom = -top;
    uint32_t word;
    q.Encode(/*weight=*/1.0, &bottom, 1, &word);
    EXPECT_EQ(word, 0u);
  }
}

TEST(QuantizerTest, SumOfEncodingsDecodesWithinTheErrorBound) {
  const v1::SecureAggregationParams params = Params(100.0, 20, 32);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> value(-0.2f, 0.2f);
  constexpr int kNodes = 32;
  constexpr int kElements = 5000;
  std::vector<uint32_t> sum(kElements, 0);
  std::vector<double> exact(kElements, 0);
  for (int node = 0; node < kNodes; ++node) {
    Quantizer q(params, /*seed=*/1000 + node);
    const double weight = 100 + node * 17;  // clips some values (|w x| up to 127)
    std::vector<float> values(kElements);
    for (float& v : values) v = value(rng);
    std::vector<uint32_t> out(kElements);
    q.Encode(weight, values.data(), kElements, out.data());
    for (int i = 0; i < kElements; ++i) {
      sum[i] += out[i];
      exact[i] += std::clamp(weight * values[i], -100.0, 100.0);
    }
  }
  Quantizer q(params, 0);
  const double bound = q.ErrorBound(kNodes);
  EXPECT_NEAR(bound, kNodes * 200.0 / ((1 << 20) - 1), 1e-3 * bound);
  double worst = 0;
  for (int i = 0; i < kElements; ++i) {
    worst = std::max(worst, std::abs(q.Decode(sum[i], kNodes) - exact[i]));
  }
  EXPECT_LE(worst, bound);
  // The bound is not loose by orders of magnitude either.
  EXPECT_GT(worst, bound / 100);
}

TEST(QuantizerTest, SameSeedSameEncoding) {
  const v1::SecureAggregationParams params = Params(1.0, 12, 8);
  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i));
  std::vector<uint32_t> a(1000), b(1000), c(1000);
  Quantizer(params, 9).Encode(1.0, values.data(), 1000, a.data());
  Quantizer(params, 9).Encode(1.0, values.data(), 1000, b.data());
  Quantizer(params, 10).Encode(1.0, values.data(), 1000, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(QuantizerTest, BulkDecodeIsDecodeBitForBit) {
  const v1::SecureAggregationParams params = Params(1234.5, 26, 64);
  Quantizer q(params, 0);
  std::mt19937 rng(3);
  std::vector<uint32_t> sums(4096);
  for (uint32_t& s : sums) s = static_cast<uint32_t>(rng());
  sums[0] = 0;
  sums[1] = 0xFFFFFFFFu;
  for (uint32_t contributors : {1u, 7u, 64u}) {
    std::vector<double> out(sums.size());
    DecodeSums(params, contributors, sums.data(), sums.size(), out.data());
    for (size_t i = 0; i < sums.size(); ++i) {
      ASSERT_EQ(out[i], q.Decode(sums[i], contributors)) << i;  // exactly
    }
  }
}

}  // namespace
}  // namespace tverr::secagg
