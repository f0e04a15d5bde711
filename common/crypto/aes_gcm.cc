#include "common/crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>

#include "common/crypto/openssl_error.h"
#include "common/status/status_macros.h"

namespace tverr::crypto {
namespace {

using internal::OpenSslInternal;
using CipherCtxPtr = internal::OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

// EVP takes int lengths: feed larger inputs in pieces.
constexpr size_t kMaxPiece = size_t{1} << 30;

// Runs `update` over `in` in pieces of at most kMaxPiece bytes, writing to
// `out` (nullptr for AAD).
template <typename Update>
bool UpdateInPieces(EVP_CIPHER_CTX* ctx, Update update, absl::string_view in, unsigned char* out) {
  const auto* data = reinterpret_cast<const unsigned char*>(in.data());
  for (size_t done = 0; done < in.size();) {
    size_t piece = std::min(in.size() - done, kMaxPiece);
    int written = 0;
    if (update(ctx, out == nullptr ? nullptr : out + done, &written, data + done,
               static_cast<int>(piece)) != 1) {
      return false;
    }
    done += piece;
  }
  return true;
}

// A context for AES-256-GCM with `key` and `nonce`, for encryption or
// decryption. The IV length is set before the IV: 12 is GCM's default, but
// being explicit keeps the nonce size in this file.
absl::StatusOr<CipherCtxPtr> NewContext(const AesGcmKey& key, const AesGcmNonce& nonce,
                                        bool encrypt) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslInternal("AES-GCM: cannot allocate context");
  if (EVP_CipherInit_ex2(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, encrypt ? 1 : 0,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_CipherInit_ex2(ctx.get(), nullptr, key.bytes.data(), nonce.data(), encrypt ? 1 : 0,
                         nullptr) != 1) {
    return OpenSslInternal("AES-GCM: cannot initialise");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<std::string> AesGcmSeal(const AesGcmKey& key, const AesGcmNonce& nonce,
                                       absl::string_view plaintext, absl::string_view aad) {
  ASSIGN_OR_RETURN(CipherCtxPtr ctx, NewContext(key, nonce, /*encrypt=*/true));
  std::string out(plaintext.size() + kAesGcmTagSize, '\0');
  auto* ciphertext = reinterpret_cast<unsigned char*>(out.data());
  int final_len = 0;
  if (!UpdateInPieces(ctx.get(), EVP_EncryptUpdate, aad, nullptr) ||
      !UpdateInPieces(ctx.get(), EVP_EncryptUpdate, plaintext, ciphertext) ||
      EVP_EncryptFinal_ex(ctx.get(), ciphertext + plaintext.size(), &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAesGcmTagSize),
                          ciphertext + plaintext.size()) != 1) {
    return OpenSslInternal("AES-GCM: encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(const AesGcmKey& key, const AesGcmNonce& nonce,
                                       absl::string_view sealed, absl::string_view aad) {
  if (sealed.size() < kAesGcmTagSize) {
    return absl::InvalidArgumentError("AES-GCM: sealed message is shorter than its tag");
  }
  absl::string_view ciphertext = sealed.substr(0, sealed.size() - kAesGcmTagSize);
  unsigned char tag[kAesGcmTagSize];
  std::copy_n(sealed.data() + ciphertext.size(), kAesGcmTagSize, reinterpret_cast<char*>(tag));

  ASSIGN_OR_RETURN(CipherCtxPtr ctx, NewContext(key, nonce, /*encrypt=*/false));
  std::string plaintext(ciphertext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  if (!UpdateInPieces(ctx.get(), EVP_DecryptUpdate, aad, nullptr) ||
      !UpdateInPieces(ctx.get(), EVP_DecryptUpdate, ciphertext, out) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAesGcmTagSize), tag) !=
          1) {
    SecureWipe(plaintext.data(), plaintext.size());
    return OpenSslInternal("AES-GCM: decryption failed");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out + ciphertext.size(), &final_len) != 1) {
    // The plaintext is unauthenticated: wipe it rather than hand it out.
    SecureWipe(plaintext.data(), plaintext.size());
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument,
                                  "AES-GCM: authentication failed");
  }
  return plaintext;
}

}  // namespace tverr::crypto
