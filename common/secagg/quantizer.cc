#include "common/secagg/quantizer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/secagg/bulk_decode.h"

namespace tverr::secagg {
namespace {

// ceil(log2(n)) for n >= 1: the bits the sum of n values needs on top of
// one value's.
uint32_t CeilLog2(uint64_t n) {
  uint32_t k = 0;
  while ((uint64_t{1} << k) < n) ++k;
  return k;
}

// splitmix64 (Steele, Lea, Flood 2014): a fast generator whose outputs are
// equidistributed over 64 bits. Stochastic rounding needs fair coins, not
// secrecy: the rounding noise is hidden by the masks like the value itself.
inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The sum of `contributors` clipped values from the sum of their
// encodings: each encoding q stands for q * step - clip.
struct Decoder {
  Decoder(double clip, double levels, uint32_t contributors)
      : step(2 * clip / levels), offset(static_cast<double>(contributors) * clip) {}
  double operator()(uint32_t sum) const { return static_cast<double>(sum) * step - offset; }
  double step;
  double offset;
};

double Levels(uint32_t bits) { return static_cast<double>((uint64_t{1} << bits) - 1); }

}  // namespace

absl::Status CheckParams(const v1::SecureAggregationParams& params) {
  if (!std::isfinite(params.clip()) || params.clip() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation clip must be finite and > 0, got ", params.clip()));
  }
  if (params.max_nodes() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation max_nodes must be at least 2, got ", params.max_nodes()));
  }
  if (params.bits() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation bits must be at least 8, got ", params.bits()));
  }
  const uint32_t headroom = CeilLog2(params.max_nodes());
  if (uint64_t{params.bits()} + headroom > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure aggregation bits (", params.bits(), ") + ceil(log2(max_nodes = ",
        params.max_nodes(), ")) (", headroom, ") exceed 32: the sum could wrap modulo 2^32"));
  }
  return absl::OkStatus();
}

uint32_t MaxSamples(const v1::SecureAggregationParams& params) {
  if (params.max_nodes() == 0) return 0;
  return static_cast<uint32_t>(uint64_t{0xFFFFFFFFu} / params.max_nodes());
}

Quantizer::Quantizer(const v1::SecureAggregationParams& params, uint64_t seed)
    : clip_(params.clip()),
      levels_(Levels(params.bits())),
      state_(seed) {}

void Quantizer::Encode(double weight, const float* values, size_t count, uint32_t* out) {
  const double clip = clip_;
  const double scale = levels_ / (2 * clip);
  const double levels = levels_;
  constexpr double kTwoTo32 = 4294967296.0;
  uint64_t state = state_;
  // y in [0, levels] (up to rounding, hence the min); floor(y) is the
  // truncation since y >= 0. Round up when 32 random bits r satisfy
  // r < frac(y) 2^32, i.e. with probability frac(y) up to 2^-32: E[q] = y.
  // q <= levels, since frac(levels) = 0.
  auto encode = [=](float value, uint32_t random) -> uint32_t {
    double x = weight * static_cast<double>(value);
    x = x < -clip ? -clip : (x > clip ? clip : x);
    double y = (x + clip) * scale;
    y = y < levels ? y : levels;
    const int64_t floor = static_cast<int64_t>(y);
    const double frac = y - static_cast<double>(floor);
    return static_cast<uint32_t>(floor) +
           (static_cast<double>(random) < frac * kTwoTo32 ? 1u : 0u);
  };
  size_t i = 0;
  for (; i + 2 <= count; i += 2) {  // one 64-bit draw for two elements
    const uint64_t r = SplitMix64(&state);
    out[i] = encode(values[i], static_cast<uint32_t>(r));
    out[i + 1] = encode(values[i + 1], static_cast<uint32_t>(r >> 32));
  }
  if (i < count) out[i] = encode(values[i], static_cast<uint32_t>(SplitMix64(&state) >> 32));
  state_ = state;
}

double Quantizer::Decode(uint32_t sum, uint32_t contributors) const {
  return Decoder(clip_, levels_, contributors)(sum);
}

void DecodeSums(const v1::SecureAggregationParams& params, uint32_t contributors,
                const uint32_t* sums, size_t count, double* out) {
  const Decoder decode(params.clip(), Levels(params.bits()), contributors);
  for (size_t i = 0; i < count; ++i) out[i] = decode(sums[i]);
}

double Quantizer::ErrorBound(uint32_t contributors) const {
  const double n = static_cast<double>(contributors);
  // Each encoding is off by less than one level; the slack covers double
  // rounding in Encode and Decode (values up to n * clip, 2^-52 relative).
  return n * (2 * clip_ / levels_) + n * clip_ * 1e-13;
}

}  // namespace tverr::secagg
