// The last step of a secure round on the coordinator: removing every mask
// stream from the sum and decoding it, on several threads. The words are
// cut into blocks of 16K (64 KiB) and each thread takes a contiguous run of
// whole blocks; for one block at a time it applies every stream at the
// block's offset (MaskPrg is random access) and then decodes the block, so
// each word of the sum is read and written once while in cache and no
// mask-sized buffer exists. The result is the same, bit for bit, whatever
// the number of threads. Internal to SecAggServer.
//
// Thread-compatible: Run starts its threads and joins them before it
// returns; an Unmasker is used by one caller at a time.
#ifndef TVERR_COORDINATOR_SECAGG_UNMASK_H_
#define TVERR_COORDINATOR_SECAGG_UNMASK_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto/mask_prg.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::coordinator::secagg_internal {

// Words per block (see above).
inline constexpr uint64_t kUnmaskBlockWords = 16384;
// Upper bound on the threads of a default Finish (beyond it the memory bus,
// not AES, limits).
inline constexpr int kMaxUnmaskThreads = 16;

// One mask stream to remove: a survivor's self mask or a pairwise mask
// between a dropped node and a survivor (its seed derived once, here).
struct MaskStream {
  crypto::MaskSeed seed;
  bool add = false;  // add the stream to the sum (else subtract it)
};

// `requested` threads, or with 0 one per hardware thread up to
// kMaxUnmaskThreads; at least 1.
int UnmaskThreads(int requested);

class Unmasker {
 public:
  // Prepares to unmask a sum of `words` words with `threads` threads (fewer
  // when there are fewer blocks): one MaskPrg per stream per thread, made
  // here. INTERNAL if OpenSSL cannot set one up; nothing is touched then.
  static absl::StatusOr<Unmasker> Create(const std::vector<MaskStream>& streams,
                                         const crypto::MaskNonce& nonce, uint64_t words,
                                         int threads);

  Unmasker(Unmasker&&) noexcept;
  Unmasker& operator=(Unmasker&&) noexcept;
  ~Unmasker();

  int threads() const { return static_cast<int>(prgs_.size()); }

  // Removes every stream from `sum` (the `words` given to Create) and sets
  // `out` to the decoded first `elements` words (elements < words), as
  // secagg::DecodeSums(params, contributors, ...). On error (INTERNAL from
  // OpenSSL) the sum is partly unmasked and unusable.
  absl::Status Run(const v1::SecureAggregationParams& params, uint32_t contributors,
                   uint64_t elements, std::vector<uint32_t>& sum, std::vector<double>& out);

 private:
  Unmasker(std::vector<std::vector<crypto::MaskPrg>> prgs, std::vector<bool> add, uint64_t words);

  // prgs_[thread][stream]; add_[stream].
  std::vector<std::vector<crypto::MaskPrg>> prgs_;
  std::vector<bool> add_;
  uint64_t words_;
};

}  // namespace tverr::coordinator::secagg_internal

#endif  // TVERR_COORDINATOR_SECAGG_UNMASK_H_
