// X25519 Diffie-Hellman (RFC 7748) on raw 32-byte keys: the per-round key
// pairs of secure aggregation (one for mask seeds, one for share
// encryption). OpenSSL's EVP API is behind this header. Thread-safe.
#ifndef TVERR_COMMON_CRYPTO_X25519_H_
#define TVERR_COMMON_CRYPTO_X25519_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/secure_memory.h"

namespace tverr::crypto {

inline constexpr size_t kX25519KeySize = 32;

// The raw private scalar (RFC 7748 §5; clamping is applied by X25519 itself,
// so any 32 bytes are a valid private key). Secret; wiped when destroyed.
using X25519PrivateKey = SecretBytes<kX25519KeySize, struct X25519PrivateKeyTag>;

// The raw X25519 output. Secret, and not uniformly random: never use it as a
// key, derive keys from it with HkdfSha256 (common/crypto/hkdf.h).
using X25519SharedSecret = SecretBytes<kX25519KeySize, struct X25519SharedSecretTag>;

// The raw u-coordinate (RFC 7748 §5), as advertised to peers.
struct X25519PublicKey {
  std::array<uint8_t, kX25519KeySize> bytes{};

  // Exactly 32 bytes, for example from a protobuf bytes field.
  // INVALID_ARGUMENT for another length. Low-order points are accepted here
  // and rejected by X25519Agree.
  static absl::StatusOr<X25519PublicKey> FromBytes(absl::string_view data);
  std::string ToBytes() const;

  friend bool operator==(const X25519PublicKey& a, const X25519PublicKey& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator!=(const X25519PublicKey& a, const X25519PublicKey& b) { return !(a == b); }
};

struct X25519KeyPair {
  X25519PrivateKey private_key;
  X25519PublicKey public_key;
};

// A fresh key pair from OpenSSL's CSPRNG. INTERNAL if OpenSSL fails.
absl::StatusOr<X25519KeyPair> GenerateX25519KeyPair();

// The public key belonging to `private_key`: lets a party that reconstructed
// a private key from Shamir shares check it against the advertised public
// key. INTERNAL if OpenSSL fails.
absl::StatusOr<X25519PublicKey> X25519PublicKeyOf(const X25519PrivateKey& private_key);

// X25519(mine, peer). INVALID_ARGUMENT if the result would be all zeros,
// which happens exactly when `peer` is a low-order point (RFC 7748 §6.1): a
// peer or the coordinator sent a bad key, and no key may be derived from it.
// INTERNAL if OpenSSL fails otherwise. Symmetric: X25519Agree(a, B) equals
// X25519Agree(b, A), so keys derived from it must also bind the direction
// when the two parties send under them (see aes_gcm.h).
absl::StatusOr<X25519SharedSecret> X25519Agree(const X25519PrivateKey& mine,
                                               const X25519PublicKey& peer);

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_X25519_H_
