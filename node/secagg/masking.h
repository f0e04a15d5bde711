// Builds a node's masked input: the quantised sample-weighted delta, the
// sample count as one more word, plus the self mask and plus or minus each
// pairwise mask, as little-endian uint32 words. Each mask stream is added
// block by block into one 64 KiB accumulator (no mask-sized buffer), so
// the cost is AES-CTR per peer rather than memory traffic. Internal to
// SecAggClient, which checks the node's rules first; thread-compatible.
#ifndef TVERR_NODE_SECAGG_MASKING_H_
#define TVERR_NODE_SECAGG_MASKING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/mask_prg.h"
#include "common/tensor/named_tensors.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::node::secagg_internal {

struct MaskTerm {
  crypto::MaskSeed seed;
  bool add = true;  // add the stream (else subtract it)
};

// `params` must pass secagg::CheckParams and 1 <= samples <= MaxSamples.
// INVALID_ARGUMENT: a non-finite value in `delta` (naming the tensor and
// element), or more elements than a mask stream covers. INTERNAL if
// OpenSSL fails. Nothing partly masked is returned.
absl::StatusOr<std::string> BuildMaskedInput(const tensor::TensorList& delta, uint64_t samples,
                                             const v1::SecureAggregationParams& params,
                                             uint64_t quantizer_seed,
                                             const crypto::MaskNonce& nonce,
                                             const std::vector<MaskTerm>& terms);

}  // namespace tverr::node::secagg_internal

#endif  // TVERR_NODE_SECAGG_MASKING_H_
