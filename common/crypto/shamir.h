// Shamir t-of-n secret sharing (Shamir 1979) over the prime field GF(p),
// p = 2^521 - 1 (the Mersenne prime M521), with Lagrange interpolation.
// Secure aggregation shares each node's mask-key private key and self-mask
// seed with it. Thread-safe; randomness from OpenSSL's CSPRNG.
//
// Secrets are byte strings of 0..32 bytes and round-trip exactly: a secret
// s is the field element whose big-endian bytes are 0x01 ‖ s (< 2^264 < p),
// so leading zero bytes survive and a reconstruction from wrong shares is
// detected with overwhelming probability.
//
// Shares: x is the caller's index of the recipient (nonzero, distinct), y is
// f(x) as 66 big-endian bytes; serialised as BE32(x) ‖ y, always 70 bytes.
// Any t shares reveal the secret; t - 1 reveal nothing about it.
// Computations use OpenSSL BIGNUM, which is not constant-time: splitting
// and reconstruction time may depend on the values involved.
#ifndef TVERR_COMMON_CRYPTO_SHAMIR_H_
#define TVERR_COMMON_CRYPTO_SHAMIR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tverr::crypto {

inline constexpr size_t kShamirMaxSecretSize = 32;
inline constexpr size_t kShamirValueSize = 66;  // ceil(521 / 8)
inline constexpr size_t kShamirShareSize = 4 + kShamirValueSize;

struct ShamirShare {
  uint32_t x = 0;
  // f(x), big-endian, less than p.
  std::array<uint8_t, kShamirValueSize> y{};

  ~ShamirShare();  // Wipes y: t shares are as secret as the secret.

  // BE32(x) ‖ y: kShamirShareSize bytes.
  std::string Serialize() const;
  // The inverse. INVALID_ARGUMENT if `bytes` is not kShamirShareSize long,
  // x is 0, or y is not less than p.
  static absl::StatusOr<ShamirShare> Parse(absl::string_view bytes);
};

// Splits `secret` into one share per entry of `xs`, any `threshold` of which
// reconstruct it (a random polynomial of degree threshold - 1 with the
// encoded secret as constant term). Shares come back in the order of `xs`.
// INVALID_ARGUMENT if the secret is longer than kShamirMaxSecretSize,
// threshold < 1 or threshold > xs.size(), or an x is 0 or repeated.
// INTERNAL if OpenSSL fails.
absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(absl::string_view secret, int threshold,
                                                     absl::Span<const uint32_t> xs);

// Recovers the secret from at least `threshold` shares. The first
// `threshold` shares determine the polynomial; every further share must lie
// on it, so a corrupted or substituted share is detected (though not
// identified) when more than `threshold` are given. Cost: `threshold`
// modular inversions plus O(threshold) multiplications per share.
// The result is secret: wipe it (SecureWipe) when done.
//  - INVALID_ARGUMENT: threshold < 1; an x is 0 or repeated; a y is not less
//    than p; the shares are inconsistent with each other; or the result is
//    not an encoded secret (wrong shares or wrong threshold).
//  - FAILED_PRECONDITION: fewer than `threshold` shares.
//  - INTERNAL: OpenSSL fails.
absl::StatusOr<std::string> ShamirReconstruct(absl::Span<const ShamirShare> shares, int threshold);

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_SHAMIR_H_
