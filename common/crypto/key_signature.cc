#include "common/crypto/key_signature.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_error.h"
#include "common/crypto/secure_memory.h"
#include "common/pki/certificate.h"
#include "common/status/status_macros.h"

namespace tverr::crypto {
namespace {

using internal::OpenSslError;
using internal::OpenSslInternal;
using BioPtr = internal::OpenSslPtr<BIO, BIO_free_all>;
using EvpPkeyPtr = internal::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using MdCtxPtr = internal::OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using X509Ptr = internal::OpenSslPtr<X509, X509_free>;
using X509CrlPtr = internal::OpenSslPtr<X509_CRL, X509_CRL_free>;
using StorePtr = internal::OpenSslPtr<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = internal::OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

constexpr absl::string_view kDomain("tverr-signature-v1\0", 19);

// The bytes actually signed (see the header).
absl::StatusOr<std::string> SignedBytes(absl::string_view context, absl::string_view message) {
  if (context.empty()) return absl::InvalidArgumentError("signature: context must not be empty");
  const uint32_t n = static_cast<uint32_t>(context.size());
  const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  return absl::StrCat(kDomain, absl::string_view(length, 4), context, message);
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Never prompt for a passphrase: an encrypted key simply fails to load.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Ed25519 and Ed448 hash internally and take no digest; the rest use SHA-256.
const char* DigestFor(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return nullptr;
  return "SHA256";
}

absl::StatusOr<X509Ptr> ReadCertificate(absl::string_view pem, absl::string_view what) {
  BioPtr bio = MemBio(pem);
  X509Ptr cert(bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("signature: cannot read ", what));
  }
  return cert;
}

// A store trusting every certificate in trust.ca_pem, with trust.crl_pems.
absl::StatusOr<StorePtr> TrustStore(const SignatureTrust& trust) {
  StorePtr store(X509_STORE_new());
  if (store == nullptr) return OpenSslInternal("signature: cannot allocate store");
  BioPtr bio = MemBio(trust.ca_pem);
  if (bio == nullptr) return OpenSslInternal("signature: cannot allocate BIO");
  int cas = 0;
  while (X509Ptr ca{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      return OpenSslInternal("signature: cannot add CA certificate");
    }
    ++cas;
  }
  ERR_clear_error();  // The end of the bundle reads as an error.
  if (cas == 0) return absl::InvalidArgumentError("signature: no CA certificate in ca_pem");
  for (const std::string& crl_pem : trust.crl_pems) {
    BioPtr crl_bio = MemBio(crl_pem);
    X509CrlPtr crl(crl_bio == nullptr
                       ? nullptr
                       : PEM_read_bio_X509_CRL(crl_bio.get(), nullptr, nullptr, nullptr));
    if (crl == nullptr) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, "signature: cannot read CRL");
    }
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1) {
      return OpenSslInternal("signature: cannot add CRL");
    }
  }
  if (!trust.crl_pems.empty() && X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK) != 1) {
    return OpenSslInternal("signature: cannot enable CRL checks");
  }
  return store;
}

absl::Status VerifyChain(X509* cert, const SignatureTrust& trust) {
  ASSIGN_OR_RETURN(StorePtr store, TrustStore(trust));
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr || X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1) {
    return OpenSslInternal("signature: cannot set up certificate verification");
  }
  if (trust.at.has_value()) X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(*trust.at));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::UnauthenticatedError(absl::StrCat("signature: signer certificate not trusted: ",
                                                   X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SignWithPrivateKeyPem(absl::string_view private_key_pem,
                                                  absl::string_view context,
                                                  absl::string_view message) {
  ASSIGN_OR_RETURN(std::string tbs, SignedBytes(context, message));
  BioPtr bio = MemBio(private_key_pem);
  EvpPkeyPtr key(bio == nullptr ? nullptr
                                : PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, NoPassphrase,
                                                             nullptr, nullptr, nullptr));
  if (key == nullptr) {
    // OpenSSL's reason names the decoding step, never key bytes.
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "signature: cannot read private key PEM");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, DigestFor(key.get()), nullptr, nullptr, key.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(tbs.data()),
                     tbs.size()) != 1) {
    return OpenSslInternal("signature: cannot start signing");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) != 1) {
    return OpenSslInternal("signature: signing failed");
  }
  signature.resize(size);  // DER ECDSA signatures vary in length.
  return signature;
}

absl::StatusOr<std::string> SignWithPrivateKeyFile(const std::string& path,
                                                   absl::string_view context,
                                                   absl::string_view message) {
  // Read into one buffer, sized up front and wiped afterwards, so that no
  // stray copy of the key is left in freed memory.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("signature: cannot open ", path));
  struct stat st {};
  std::string pem;
  absl::Status status = absl::OkStatus();
  if (fstat(fd, &st) != 0) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("signature: cannot stat ", path));
  } else {
    pem.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < pem.size()) {
      ssize_t n = read(fd, pem.data() + done, pem.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) status = absl::ErrnoToStatus(errno, absl::StrCat("signature: cannot read ", path));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    pem.resize(done);
  }
  close(fd);
  absl::StatusOr<std::string> signature =
      status.ok() ? SignWithPrivateKeyPem(pem, context, message) : status;
  SecureWipe(pem.data(), pem.size());
  return signature;
}

absl::StatusOr<pki::Identity> VerifySignature(absl::string_view certificate_pem,
                                              absl::string_view context, absl::string_view message,
                                              absl::string_view signature,
                                              const SignatureTrust& trust) {
  ASSIGN_OR_RETURN(std::string tbs, SignedBytes(context, message));
  ASSIGN_OR_RETURN(X509Ptr cert, ReadCertificate(certificate_pem, "signer certificate"));
  ASSIGN_OR_RETURN(pki::CertificateInfo info, pki::ParseCertificatePem(certificate_pem));
  RETURN_IF_ERROR(VerifyChain(cert.get(), trust));

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "signature: cannot read the certificate's public key");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, DigestFor(key), nullptr,
                                                nullptr, key, nullptr) != 1) {
    return OpenSslInternal("signature: cannot start verification");
  }
  // 0 is a wrong signature, a negative value a malformed one: both fail.
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(tbs.data()),
                       tbs.size()) != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError("signature: does not verify");
  }
  return info.identity;
}

}  // namespace tverr::crypto
