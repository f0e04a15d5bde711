// SHA-256 (OpenSSL EVP), one-shot and incremental. Thread-compatible.
#ifndef TVERR_COMMON_CRYPTO_SHA256_H_
#define TVERR_COMMON_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tverr::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(absl::string_view data);

// Lower-case hex of arbitrary bytes.
std::string ToHex(absl::string_view bytes);
std::string ToHex(const Sha256Digest& digest);
inline absl::string_view AsStringView(const Sha256Digest& d) {
  return absl::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

// HMAC-SHA256(key, data).
Sha256Digest HmacSha256(absl::string_view key, absl::string_view data);

// `n` bytes from OpenSSL's CSPRNG, as lower-case hex (2n characters).
std::string RandomHex(size_t n);

// Incremental hashing for data that arrives in pieces.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(absl::string_view data);
  // Returns the digest; the hasher must not be used afterwards.
  Sha256Digest Finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL stays out of this header.
};

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_SHA256_H_
