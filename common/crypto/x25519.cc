#include "common/crypto/x25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_error.h"
#include "common/status/status_macros.h"

namespace tverr::crypto {
namespace {

using internal::OpenSslInternal;
using EvpPkeyPtr = internal::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = internal::OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

absl::StatusOr<EvpPkeyPtr> PrivateKey(const X25519PrivateKey& key) {
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, key.bytes.data(),
                                                  key.bytes.size()));
  if (pkey == nullptr) return OpenSslInternal("X25519: cannot load private key");
  return pkey;
}

absl::StatusOr<X25519PublicKey> PublicKeyOf(EVP_PKEY* pkey) {
  X25519PublicKey out;
  size_t len = out.bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey, out.bytes.data(), &len) != 1 || len != out.bytes.size()) {
    return OpenSslInternal("X25519: cannot read public key");
  }
  return out;
}

}  // namespace

absl::StatusOr<X25519PublicKey> X25519PublicKey::FromBytes(absl::string_view data) {
  if (data.size() != kX25519KeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("X25519 public key must be ", kX25519KeySize, " bytes, got ", data.size()));
  }
  X25519PublicKey out;
  std::memcpy(out.bytes.data(), data.data(), kX25519KeySize);
  return out;
}

std::string X25519PublicKey::ToBytes() const {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

absl::StatusOr<X25519KeyPair> GenerateX25519KeyPair() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (pkey == nullptr) return OpenSslInternal("X25519: key generation failed");
  X25519KeyPair pair;
  size_t len = pair.private_key.bytes.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), pair.private_key.bytes.data(), &len) != 1 ||
      len != pair.private_key.bytes.size()) {
    return OpenSslInternal("X25519: cannot read private key");
  }
  ASSIGN_OR_RETURN(pair.public_key, PublicKeyOf(pkey.get()));
  return pair;
}

absl::StatusOr<X25519PublicKey> X25519PublicKeyOf(const X25519PrivateKey& private_key) {
  ASSIGN_OR_RETURN(EvpPkeyPtr pkey, PrivateKey(private_key));
  return PublicKeyOf(pkey.get());
}

absl::StatusOr<X25519SharedSecret> X25519Agree(const X25519PrivateKey& mine,
                                               const X25519PublicKey& peer) {
  ASSIGN_OR_RETURN(EvpPkeyPtr own, PrivateKey(mine));
  EvpPkeyPtr peer_key(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.bytes.data(),
                                                     peer.bytes.size()));
  if (peer_key == nullptr) return OpenSslInternal("X25519: cannot load peer public key");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return OpenSslInternal("X25519: cannot start key agreement");
  }
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer_key.get(), /*validate_peer=*/0) != 1) {
    return OpenSslInternal("X25519: cannot set peer key");
  }
  X25519SharedSecret secret;
  size_t len = secret.bytes.size();
  // OpenSSL refuses an all-zero result (ossl_x25519 returns 0 for it); that
  // is the only way derivation fails once both keys have loaded.
  if (EVP_PKEY_derive(ctx.get(), secret.bytes.data(), &len) != 1) {
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument,
                                  "X25519: peer public key is a low-order point");
  }
  if (len != secret.bytes.size()) return absl::InternalError("X25519: short shared secret");
  static constexpr uint8_t kZeros[kX25519KeySize] = {};
  if (CRYPTO_memcmp(secret.bytes.data(), kZeros, sizeof(kZeros)) == 0) {
    return absl::InvalidArgumentError("X25519: peer public key is a low-order point");
  }
  return secret;
}

}  // namespace tverr::crypto
