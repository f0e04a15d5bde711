// AES-256-GCM authenticated encryption (NIST SP 800-38D) with a 96-bit nonce
// and a 128-bit tag, through OpenSSL's EVP API. Secure aggregation encrypts
// each node's Shamir shares to each peer with it. Thread-safe.
//
// Nonce rule: a (key, nonce) pair must never seal two different messages;
// reuse reveals the XOR of the plaintexts and lets anyone forge tags. Keys
// derived from X25519Agree are the same at both ends, so either derive one
// key per direction (put sender and recipient, in that order, in the HKDF
// info) or give the two directions different nonces. With a key used for
// one message only, an all-zero nonce is fine.
#ifndef TVERR_COMMON_CRYPTO_AES_GCM_H_
#define TVERR_COMMON_CRYPTO_AES_GCM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secure_memory.h"

namespace tverr::crypto {

inline constexpr size_t kAesGcmKeySize = 32;
inline constexpr size_t kAesGcmNonceSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;

// Secret; wiped when destroyed. Fill it with HkdfSha256.
using AesGcmKey = SecretBytes<kAesGcmKeySize, struct AesGcmKeyTag>;
using AesGcmNonce = std::array<uint8_t, kAesGcmNonceSize>;

// Encrypts `plaintext` and authenticates it together with `aad` (which is
// not encrypted, and must be given again to AesGcmOpen). Returns
// ciphertext ‖ tag: plaintext.size() + kAesGcmTagSize bytes. INTERNAL if
// OpenSSL fails.
absl::StatusOr<std::string> AesGcmSeal(const AesGcmKey& key, const AesGcmNonce& nonce,
                                       absl::string_view plaintext, absl::string_view aad);

// The inverse: checks the tag over `sealed` (ciphertext ‖ tag) and `aad` and
// returns the plaintext. INVALID_ARGUMENT if `sealed` is shorter than a tag,
// or if authentication fails: wrong key, nonce or aad, or altered bytes,
// which GCM cannot tell apart. No plaintext is released on failure.
// INTERNAL if OpenSSL fails otherwise.
absl::StatusOr<std::string> AesGcmOpen(const AesGcmKey& key, const AesGcmNonce& nonce,
                                       absl::string_view sealed, absl::string_view aad);

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_AES_GCM_H_
