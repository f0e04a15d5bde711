#include "common/audit/audit_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/audit/file_util.h"
#include "common/audit/merkle.h"
#include "common/crypto/secure_memory.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"

namespace tverr::audit {
namespace {

template <auto kFree>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Free<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;

constexpr absl::string_view kDomain("tverr-audit-tree-head-v1\0", 25);
constexpr size_t kSignatureSize = 64;
constexpr size_t kPublicKeySize = 32;

// OpenSSL's queue may hold stale errors after a failure; it never holds key
// bytes, but we do not pass its text on (nothing here needs it).
absl::Status OpenSslFailure(absl::StatusCode code, absl::string_view what) {
  ERR_clear_error();
  return absl::Status(code, absl::StrCat("audit key: ", what));
}

void AppendBe(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Strict lower-case hex of exactly `size` bytes.
absl::StatusOr<std::string> FromHex(absl::string_view hex, size_t size, absl::string_view what) {
  if (hex.size() != 2 * size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be ", 2 * size, " hex digits, got ", hex.size()));
  }
  std::string out(size, '\0');
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(what, " must be lower-case hex"));
    }
    out[i / 2] = static_cast<char>(i % 2 == 0 ? v << 4 : (out[i / 2] | v));
  }
  return out;
}

absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* pkey) {
  std::string raw(kPublicKeySize, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != kPublicKeySize) {
    return OpenSslFailure(absl::StatusCode::kInternal, "cannot read the raw public key");
  }
  return raw;
}

std::string KeyId(absl::string_view raw_public_key) {
  return crypto::ToHex(crypto::Sha256(raw_public_key));
}

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return OpenSslFailure(absl::StatusCode::kInternal, "cannot write the public key PEM");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

bool IsEd25519(EVP_PKEY* pkey) { return EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519; }

// Never prompt: an encrypted key fails to load.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

absl::StatusOr<std::string> TreeHeadSigningBytes(const v1::AuditTreeHead& head) {
  ASSIGN_OR_RETURN(Hash root, HashFromHex(head.root_sha256()));
  if (head.time().size() > UINT32_MAX || head.run_id().size() > UINT32_MAX) {
    return absl::InvalidArgumentError("tree head: field too long");
  }
  std::string out(kDomain);
  AppendBe(head.tree_size(), 8, &out);
  out.append(reinterpret_cast<const char*>(root.data()), root.size());
  AppendBe(head.time().size(), 4, &out);
  out.append(head.time());
  AppendBe(head.run_id().size(), 4, &out);
  out.append(head.run_id());
  AppendBe(head.round(), 8, &out);
  return out;
}

AuditKey::AuditKey(void* pkey, std::string key_id, std::string public_key_pem)
    : pkey_(pkey), key_id_(std::move(key_id)), public_key_pem_(std::move(public_key_pem)) {}

AuditKey::~AuditKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

absl::StatusOr<std::unique_ptr<AuditKey>> AuditKey::Generate(const std::string& private_key_path,
                                                             const std::string& public_key_path) {
  for (const std::string* path : {&private_key_path, &public_key_path}) {
    struct stat st;
    if (lstat(path->c_str(), &st) == 0) {
      return absl::AlreadyExistsError(absl::StrCat("audit key: ", *path, " already exists"));
    }
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw_pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw_pkey) != 1) {
    return OpenSslFailure(absl::StatusCode::kInternal, "cannot generate an Ed25519 key");
  }
  PkeyPtr pkey(raw_pkey);

  // The private PEM lives only in a secure-memory BIO, wiped when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslFailure(absl::StatusCode::kInternal, "cannot encode the private key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  RETURN_IF_ERROR(internal::WriteNewFileDurably(
      private_key_path, absl::string_view(data, static_cast<size_t>(len)), 0600));

  ASSIGN_OR_RETURN(std::string public_pem, PublicKeyPem(pkey.get()));
  absl::Status status = internal::WriteNewFileDurably(public_key_path, public_pem, 0644);
  if (!status.ok()) {
    unlink(private_key_path.c_str());  // no half-made key pair
    return status;
  }
  ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey.get()));
  return std::unique_ptr<AuditKey>(new AuditKey(pkey.release(), KeyId(raw), std::move(public_pem)));
}

absl::StatusOr<std::unique_ptr<AuditKey>> AuditKey::Load(const std::string& private_key_path) {
  ASSIGN_OR_RETURN(std::string pem, internal::ReadWholeFile(private_key_path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(bio == nullptr ? nullptr
                              : PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, NoPassphrase,
                                                           nullptr, nullptr, nullptr));
  bio.reset();
  crypto::SecureWipe(pem.data(), pem.size());
  if (pkey == nullptr) {
    return OpenSslFailure(absl::StatusCode::kInvalidArgument,
                          absl::StrCat("cannot read a PEM private key from ", private_key_path));
  }
  if (!IsEd25519(pkey.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit key: ", private_key_path, " is not an Ed25519 key"));
  }
  ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey.get()));
  ASSIGN_OR_RETURN(std::string public_pem, PublicKeyPem(pkey.get()));
  return std::unique_ptr<AuditKey>(new AuditKey(pkey.release(), KeyId(raw), std::move(public_pem)));
}

absl::StatusOr<std::string> AuditKey::Sign(absl::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(kSignatureSize, '\0');
  size_t len = signature.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                            static_cast<EVP_PKEY*>(pkey_), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kSignatureSize) {
    return OpenSslFailure(absl::StatusCode::kInternal, "signing failed");
  }
  return signature;
}

absl::Status AuditKey::SignTreeHead(v1::AuditTreeHead* head) const {
  ASSIGN_OR_RETURN(std::string bytes, TreeHeadSigningBytes(*head));
  ASSIGN_OR_RETURN(std::string signature, Sign(bytes));
  head->set_key_id(key_id_);
  head->set_signature(crypto::ToHex(signature));
  return absl::OkStatus();
}

absl::StatusOr<AuditPublicKey> AuditPublicKey::FromPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(bio == nullptr ? nullptr
                              : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) {
    return OpenSslFailure(absl::StatusCode::kInvalidArgument,
                          "cannot read a PEM public key (BEGIN PUBLIC KEY)");
  }
  if (!IsEd25519(pkey.get())) {
    return absl::InvalidArgumentError("audit key: the public key is not an Ed25519 key");
  }
  AuditPublicKey out;
  ASSIGN_OR_RETURN(std::string raw, RawPublicKey(pkey.get()));
  out.key_id_ = KeyId(raw);
  // Verifying with one EVP_PKEY from several threads is safe (read-only).
  out.pkey_ = std::shared_ptr<void>(pkey.release(),
                                    [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  return out;
}

absl::Status AuditPublicKey::VerifyTreeHead(const v1::AuditTreeHead& head) const {
  if (head.key_id() != key_id_) {
    return absl::UnauthenticatedError(
        absl::StrCat("signed by another key (key_id ", head.key_id(), ", expected ", key_id_, ")"));
  }
  ASSIGN_OR_RETURN(std::string bytes, TreeHeadSigningBytes(head));
  ASSIGN_OR_RETURN(std::string signature, FromHex(head.signature(), kSignatureSize, "signature"));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                              static_cast<EVP_PKEY*>(pkey_.get()), nullptr) != 1) {
    return OpenSslFailure(absl::StatusCode::kInternal, "cannot set up verification");
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  if (rc != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError("signature does not verify with the audit public key");
  }
  return absl::OkStatus();
}

absl::Status VerifyTreeHead(const v1::AuditTreeHead& head, absl::string_view public_key_pem) {
  ASSIGN_OR_RETURN(AuditPublicKey key, AuditPublicKey::FromPem(public_key_pem));
  return key.VerifyTreeHead(head);
}

}  // namespace tverr::audit
