#include "common/crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_error.h"
#include "common/crypto/secure_memory.h"

namespace tverr::crypto {
namespace {

using EvpKdfPtr = internal::OpenSslPtr<EVP_KDF, EVP_KDF_free>;
using EvpKdfCtxPtr = internal::OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;

// Derives into `out`; the caller zeroes it on failure.
absl::Status Derive(absl::string_view ikm, absl::string_view salt, absl::string_view info,
                    absl::Span<uint8_t> out) {
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) return internal::OpenSslInternal("HKDF: not available");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (ctx == nullptr) return internal::OpenSslInternal("HKDF: cannot allocate context");

  // RFC 5869 §2.2: an absent salt is HashLen zeros. Passing them explicitly
  // keeps the empty case off OpenSSL's zero-length parameter paths.
  static constexpr unsigned char kZeroSalt[32] = {};
  const void* salt_data = salt.empty() ? static_cast<const void*>(kZeroSalt) : salt.data();
  size_t salt_size = salt.empty() ? sizeof(kZeroSalt) : salt.size();

  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                                  ikm.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<void*>(salt_data),
                                                  salt_size);
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  // The default mode is extract-then-expand.
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return internal::OpenSslInternal("HKDF: derivation failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HkdfSha256(absl::string_view ikm, absl::string_view salt, absl::string_view info,
                        absl::Span<uint8_t> out) {
  if (ikm.empty()) {
    SecureWipe(out.data(), out.size());
    return absl::InvalidArgumentError("HKDF: input keying material is empty");
  }
  if (out.empty() || out.size() > kHkdfSha256MaxOutput) {
    SecureWipe(out.data(), out.size());
    return absl::InvalidArgumentError(absl::StrCat("HKDF: output length must be 1..",
                                                   kHkdfSha256MaxOutput, ", got ", out.size()));
  }
  absl::Status status = Derive(ikm, salt, info, out);
  if (!status.ok()) SecureWipe(out.data(), out.size());
  return status;
}

}  // namespace tverr::crypto
