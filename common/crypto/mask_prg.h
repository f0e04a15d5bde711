// The pseudo-random generator behind secure aggregation masks: AES-256-CTR
// keyed by a 32-byte seed, read as a stream of uint32 words in Z_2^32, added
// to or subtracted from a caller's accumulator in place. Thread-compatible:
// one MaskPrg per thread (it holds an OpenSSL cipher context).
//
// The stream: word i (i = 0, 1, ...) is the little-endian uint32 at bytes
// 4i..4i+3 of AES-256-CTR(key = seed) over zeros, with the 16-byte counter
// block nonce ‖ BE32(i / 4). A stream therefore has at most kMaxElements
// words, and two different nonces under one seed give disjoint keystreams.
//
// Random access: AddTo(offset, acc) applies words offset .. offset+size-1,
// so an update that streams in pieces is masked piece by piece, with exactly
// the result of one call over the whole vector. Memory: an 8 KiB keystream
// buffer on the stack per call, never a mask-sized buffer.
#ifndef TVERR_COMMON_CRYPTO_MASK_PRG_H_
#define TVERR_COMMON_CRYPTO_MASK_PRG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/crypto/secure_memory.h"

namespace tverr::crypto {

inline constexpr size_t kMaskSeedSize = 32;
inline constexpr size_t kMaskNonceSize = 12;

// Secret; wiped when destroyed. A pairwise seed comes from HkdfSha256 over
// an X25519 shared secret; a self-mask seed from the CSPRNG (RandomMaskSeed).
using MaskSeed = SecretBytes<kMaskSeedSize, struct MaskSeedTag>;

// A domain separator: one (seed, nonce) pair is one mask stream. Both ends
// of a pairwise mask must use the same nonce. When each seed masks one
// vector only, a fixed all-zero nonce is fine.
using MaskNonce = std::array<uint8_t, kMaskNonceSize>;

// A fresh seed from OpenSSL's CSPRNG. INTERNAL if it fails.
absl::StatusOr<MaskSeed> RandomMaskSeed();

class MaskPrg {
 public:
  // Words per stream: 2^32 counter blocks of 4 words (2^34, ~17e9 elements).
  static constexpr uint64_t kMaxElements = uint64_t{1} << 34;

  // INTERNAL if OpenSSL cannot set up AES-256-CTR.
  static absl::StatusOr<MaskPrg> Create(const MaskSeed& seed, const MaskNonce& nonce);

  MaskPrg(MaskPrg&&) noexcept;
  MaskPrg& operator=(MaskPrg&&) noexcept;
  ~MaskPrg();  // Wipes the key schedule.

  // acc[i] += word(offset + i) for every i, modulo 2^32.
  // OUT_OF_RANGE (and `acc` untouched) if offset + acc.size() exceeds
  // kMaxElements; INTERNAL if OpenSSL fails, in which case `acc` may be
  // partly masked and must be discarded.
  absl::Status AddTo(uint64_t offset, absl::Span<uint32_t> acc);

  // acc[i] -= word(offset + i), modulo 2^32: undoes AddTo. Errors as AddTo.
  absl::Status SubtractFrom(uint64_t offset, absl::Span<uint32_t> acc);

 private:
  struct State;  // The OpenSSL context, kept out of this header.
  explicit MaskPrg(std::unique_ptr<State> state);
  absl::Status Apply(uint64_t offset, absl::Span<uint32_t> acc, bool subtract);

  std::unique_ptr<State> state_;
};

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_MASK_PRG_H_
