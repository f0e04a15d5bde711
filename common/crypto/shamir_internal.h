// Internal to common/crypto: not part of the module's API, include it only
// from common/crypto/shamir.cc and its tests.
//
// The field arithmetic under shamir.h, exposed so that tests can build
// polynomials of their choice and check what t - 1 shares do (not) reveal.
// Thread-safe.
#ifndef TVERR_COMMON_CRYPTO_SHAMIR_INTERNAL_H_
#define TVERR_COMMON_CRYPTO_SHAMIR_INTERNAL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/crypto/shamir.h"

namespace tverr::crypto::shamir_internal {

// An element of GF(2^521 - 1), big-endian.
using FieldElement = std::array<uint8_t, kShamirValueSize>;

// 0x01 ‖ secret as a field element. INVALID_ARGUMENT if the secret is longer
// than kShamirMaxSecretSize.
absl::StatusOr<FieldElement> EncodeSecret(absl::string_view secret);

// The inverse. INVALID_ARGUMENT if `value` is not of that form.
absl::StatusOr<std::string> DecodeSecret(const FieldElement& value);

// f(z) for each z in `at`, where f is the unique polynomial of degree less
// than points.size() through `points`. Unlike shares, points may have x = 0.
// INVALID_ARGUMENT if `points` is empty, two points share an x, or a y is
// not less than p; INTERNAL if OpenSSL fails.
absl::StatusOr<std::vector<FieldElement>> InterpolateAt(absl::Span<const ShamirShare> points,
                                                        absl::Span<const uint32_t> at);

}  // namespace tverr::crypto::shamir_internal

#endif  // TVERR_COMMON_CRYPTO_SHAMIR_INTERNAL_H_
