#include "common/secagg/quantizer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

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
      levels_(static_cast<double>((uint64_t{1} << params.bits()) - 1)),
      state_(seed) {}

void Quantizer::Encode(double weight, const float* values, size_t count, uint32_t* out) {
  const double clip = clip_;
  const double scale = levels_ / (2 * clip);
  const double levels = levels_;
  const uint32_t max_level = static_cast<uint32_t>(levels_);
  constexpr double kTwoToMinus32 = 1.0 / 4294967296.0;
  uint64_t state = state_;
  for (size_t i = 0; i < count; ++i) {
    double x = weight * static_cast<double>(values[i]);
    x = std::min(std::max(x, -clip), clip);
    // In [0, levels], up to rounding.
    const double y = std::min((x + clip) * scale, levels);
    const double floor = std::floor(y);
    // Round up with probability y - floor: E[q] = y. 32 random bits per
    // element bias that by at most 2^-32 of a level.
    const double u = static_cast<double>(SplitMix64(&state) >> 32) * kTwoToMinus32;
    const uint32_t q = static_cast<uint32_t>(floor) + (u < y - floor ? 1u : 0u);
    out[i] = std::min(q, max_level);
  }
  state_ = state;
}

double Quantizer::Decode(uint32_t sum, uint32_t contributors) const {
  return static_cast<double>(sum) * (2 * clip_ / levels_) -
         static_cast<double>(contributors) * clip_;
}

double Quantizer::ErrorBound(uint32_t contributors) const {
  const double n = static_cast<double>(contributors);
  // Each encoding is off by less than one level; the slack covers double
  // rounding in Encode and Decode (values up to n * clip, 2^-52 relative).
  return n * (2 * clip_ / levels_) + n * clip_ * 1e-13;
}

}  // namespace tverr::secagg
