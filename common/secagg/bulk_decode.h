// Decoding a whole sum vector at once, for the coordinator's unmasking:
// the same values as Quantizer::Decode element by element, bit for bit,
// without a call and a division per element. Internal to
// tverr_secagg_*; pure function.
#ifndef TVERR_COMMON_SECAGG_BULK_DECODE_H_
#define TVERR_COMMON_SECAGG_BULK_DECODE_H_

#include <cstddef>
#include <cstdint>

#include "tverr/v1/secagg.pb.h"

namespace tverr::secagg {

// out[i] = Quantizer(params, seed).Decode(sums[i], contributors) for
// i < count. `params` must pass CheckParams.
void DecodeSums(const v1::SecureAggregationParams& params, uint32_t contributors,
                const uint32_t* sums, size_t count, double* out);

}  // namespace tverr::secagg

#endif  // TVERR_COMMON_SECAGG_BULK_DECODE_H_
