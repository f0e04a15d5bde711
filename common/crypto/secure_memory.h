// Secret bytes outside OpenSSL: wiping them, holding them in types that wipe
// themselves, and comparing them in constant time. Code outside common/crypto
// uses these instead of calling OpenSSL. Thread-safe (no shared state).
#ifndef TVERR_COMMON_CRYPTO_SECURE_MEMORY_H_
#define TVERR_COMMON_CRYPTO_SECURE_MEMORY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tverr::crypto {

// Overwrites `size` bytes at `data` with zeros in a way the compiler does not
// remove as a dead store (OPENSSL_cleanse).
void SecureWipe(void* data, size_t size);

// True when `a` and `b` hold the same bytes. The time taken depends on the
// lengths only (which are not secret): use it for MACs, tags and other values
// an attacker must not learn byte by byte.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// `N` secret bytes, wiped when destroyed (copies wipe themselves too).
// `Tag` only makes distinct types for distinct roles, so that a mask seed
// cannot be passed where an AES key or an X25519 private key is expected.
template <size_t N, typename Tag>
struct SecretBytes {
  static constexpr size_t kSize = N;

  std::array<uint8_t, N> bytes{};

  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  ~SecretBytes() { SecureWipe(bytes.data(), N); }

  // Exactly N bytes, for example a secret recovered by ShamirReconstruct.
  // INVALID_ARGUMENT for another length (the message names only lengths).
  static absl::StatusOr<SecretBytes> FromBytes(absl::string_view data) {
    if (data.size() != N) {
      return absl::InvalidArgumentError(
          absl::StrCat("secret must be ", N, " bytes, got ", data.size()));
    }
    SecretBytes out;
    std::memcpy(out.bytes.data(), data.data(), N);
    return out;
  }

  // A view of the bytes, valid while this object lives.
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes.data()), N);
  }
};

}  // namespace tverr::crypto

#endif  // TVERR_COMMON_CRYPTO_SECURE_MEMORY_H_
