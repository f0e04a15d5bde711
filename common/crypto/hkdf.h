// HKDF-SHA256 (RFC 5869), extract then expand, through OpenSSL's EVP_KDF.
// Secure aggregation derives every symmetric key and mask seed with it from
// an X25519 shared secret, binding the session id and the key's purpose.
// Thread-safe.
#ifndef TVERR_COMMON_CRYPTO_HKDF_H_
#define TVERR_COMMON_CRYPTO_HKDF_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tverr::crypto {

// The most HKDF-SHA256 can produce: 255 blocks of 32 bytes.
inline constexpr size_t kHkdfSha256MaxOutput = 255 * 32;

// Fills `out` with HKDF-SHA256(salt, ikm, info, L = out.size()).
//  - `ikm`: the input keying material, for example X25519SharedSecret::view().
//    Must not be empty.
//  - `salt`: may be empty, which RFC 5869 defines as 32 zero bytes.
//  - `info`: the context (purpose, session id, parties); may be empty. Two
//    keys for different purposes must differ in `info` or `salt`.
// Write into a SecretBytes' `bytes` (absl::MakeSpan(key.bytes)) so the key
// is wiped with it.
// INVALID_ARGUMENT if `ikm` is empty or out.size() is 0 or more than
// kHkdfSha256MaxOutput; INTERNAL if OpenSSL fails. On error `out` is zeroed.
absl::Status HkdfSha256(absl::string_view ikm, absl::string_view salt, absl::string_view info,
                        absl::Span<uint8_t> out);

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_HKDF_H_
