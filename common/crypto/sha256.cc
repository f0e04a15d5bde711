#include "common/crypto/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace tverr::crypto {

Sha256Digest Sha256(absl::string_view data) {
  Sha256Hasher h;
  h.Update(data);
  return h.Finish();
}

std::string ToHex(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string ToHex(const Sha256Digest& digest) { return ToHex(AsStringView(digest)); }

Sha256Digest HmacSha256(absl::string_view key, absl::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr) {
    std::abort();  // only fails on allocation failure
  }
  return out;
}

std::string RandomHex(size_t n) {
  std::string bytes(n, '\0');
  // A broken random generator is not recoverable.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return ToHex(bytes);
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure or a missing SHA-256 is not recoverable.
  if (ctx_ == nullptr ||
      EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Hasher::Update(absl::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  return out;
}

}  // namespace tverr::crypto
