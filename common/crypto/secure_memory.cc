#include "common/crypto/secure_memory.h"

#include <openssl/crypto.h>

namespace tverr::crypto {

void SecureWipe(void* data, size_t size) {
  if (size > 0) OPENSSL_cleanse(data, size);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tverr::crypto
