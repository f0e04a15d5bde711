// Fixed-point encoding of a node's input to a secure sum (see
// v1::SecureAggregationParams): each element x of the sample-weighted delta
// is clipped to [-clip, clip] and mapped to an integer in [0, 2^bits - 1]
// with stochastic rounding (unbiased: E[decode(encode(x))] = clip(x)); the
// sum of up to max_nodes encodings cannot wrap modulo 2^32. Decoding a sum
// of N encodings gives the sum of the N clipped values within
// ErrorBound(N).
#ifndef TVERR_COMMON_SECAGG_QUANTIZER_H_
#define TVERR_COMMON_SECAGG_QUANTIZER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::secagg {

// OK when clip is finite and > 0, max_nodes >= 2, bits >= 8 and
// bits + ceil(log2(max_nodes)) <= 32. INVALID_ARGUMENT naming the field
// otherwise.
absl::Status CheckParams(const v1::SecureAggregationParams& params);

// Largest sample count one node may put into the sum.
uint32_t MaxSamples(const v1::SecureAggregationParams& params);

class Quantizer {
 public:
  // `params` must pass CheckParams. `seed` seeds the stochastic rounding
  // (callers draw it from the CSPRNG).
  Quantizer(const v1::SecureAggregationParams& params, uint64_t seed);

  // out[i] = encode(weight * values[i]) for i < count. Non-finite values
  // must have been refused before.
  void Encode(double weight, const float* values, size_t count, uint32_t* out);

  // The sum of `contributors` clipped values from the sum of their
  // encodings.
  double Decode(uint32_t sum, uint32_t contributors) const;

  // Largest |Decode(sum of encodings) - sum of clipped values| for one
  // element of a sum of `contributors` inputs.
  double ErrorBound(uint32_t contributors) const;

 private:
  double clip_;
  double levels_;  // 2^bits - 1
  uint64_t state_;
};

}  // namespace tverr::secagg

#endif  // TVERR_COMMON_SECAGG_QUANTIZER_H_
