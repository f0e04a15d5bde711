#include "common/pki/key_request.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/pki/openssl_util.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

using internal::BioPtr;
using internal::MemBio;
using internal::X509Ptr;
using internal::EvpPkeyPtr;
using internal::ExtensionStackPtr;
using internal::GeneralNamesPtr;
using internal::OpenSslError;
using internal::PosixError;
using internal::X509ExtensionPtr;
using internal::X509ReqPtr;

absl::Status ValidateIdentity(const Identity& identity) {
  // The URI round trip checks the role and both names in one place.
  return ParseIdentityUri(identity.Uri()).status();
}

absl::StatusOr<X509ReqPtr> BuildRequest(EVP_PKEY* key, const Identity& identity,
                                        const std::vector<std::string>& dns_names,
                                        const std::vector<std::string>& ip_addresses) {
  X509ReqPtr req(X509_REQ_new());
  if (req == nullptr || X509_REQ_set_version(req.get(), 0) != 1) {  // 0 = PKCS#10 v1
    return OpenSslError(absl::StatusCode::kInternal, "X509_REQ_new");
  }
  RETURN_IF_ERROR(internal::AddNameEntries(X509_REQ_get_subject_name(req.get()),
                                           internal::IdentitySubject(identity)));
  if (X509_REQ_set_pubkey(req.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "X509_REQ_set_pubkey");
  }
  ASSIGN_OR_RETURN(X509ExtensionPtr san,
                   internal::MakeSanExtension(identity, dns_names, ip_addresses));
  ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
  if (exts == nullptr || sk_X509_EXTENSION_push(exts.get(), san.get()) == 0) {
    return OpenSslError(absl::StatusCode::kInternal, "sk_X509_EXTENSION_push");
  }
  san.release();  // Owned by `exts` now.
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "X509_REQ_add_extensions");
  }
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot sign request");
  }
  return req;
}

// Reads the fl:// URI, DNS and IP names from the request's SAN extension.
absl::Status ReadRequestedNames(X509_REQ* req, RequestInfo& info) {
  ExtensionStackPtr exts(X509_REQ_get_extensions(req));
  GeneralNamesPtr names;
  if (exts != nullptr) {
    names.reset(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
  }
  ERR_clear_error();  // An absent extension is reported below, not as an OpenSSL error.
  internal::SanNames sans = internal::ReadSanNames(names.get());
  if (sans.fl_uris.empty()) return absl::InvalidArgumentError("request carries no fl:// URI SAN");
  // A bad first URI is reported as such even when a second one follows.
  ASSIGN_OR_RETURN(info.identity, ParseIdentityUri(sans.fl_uris[0]));
  if (sans.fl_uris.size() > 1) {
    return absl::InvalidArgumentError("request carries several fl:// URIs");
  }
  info.dns_names = std::move(sans.dns_names);
  info.ip_addresses = std::move(sans.ip_addresses);
  return absl::OkStatus();
}

// Creates `path` via a fresh temp file in the same directory (so rename is
// atomic), with exactly `mode`, and makes both file and rename durable.
absl::Status AtomicWriteFile(const std::string& path, absl::string_view contents, mode_t mode) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  unsigned char nonce[8];
  if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "RAND_bytes");
  }
  const std::string tmp = absl::StrCat(
      path, ".tmp-", crypto::ToHex(absl::string_view(reinterpret_cast<char*>(nonce), 8)));
  // O_EXCL + O_NOFOLLOW: never write through a file or link someone planted.
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return PosixError(errno, absl::StrCat("cannot create ", tmp));
  auto fail = [&](absl::string_view what) {
    absl::Status status = PosixError(errno, absl::StrCat(what, " ", path));
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return status;
  };
  // The umask may have narrowed `mode`; set it exactly (never wider).
  if (fchmod(fd, mode) != 0) return fail("cannot chmod");
  for (size_t done = 0; done < contents.size();) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return fail("cannot fsync");
  int rc = close(fd);
  fd = -1;
  if (rc != 0) return fail("cannot close");
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename into");
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return PosixError(errno, absl::StrCat("cannot open ", dir.string()));
  rc = fsync(dir_fd);
  int saved = errno;
  close(dir_fd);
  if (rc != 0) return PosixError(saved, absl::StrCat("cannot fsync ", dir.string()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KeyAndRequest> GenerateKeyAndRequest(const Identity& identity,
                                                    const std::vector<std::string>& dns_names,
                                                    const std::vector<std::string>& ip_addresses) {
  RETURN_IF_ERROR(ValidateIdentity(identity));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, internal::GenerateP256Key());
  ASSIGN_OR_RETURN(X509ReqPtr req, BuildRequest(key.get(), identity, dns_names, ip_addresses));
  KeyAndRequest out;
  ASSIGN_OR_RETURN(out.csr_pem,
                   internal::ToPem(PEM_write_bio_X509_REQ, req.get(), "cannot encode request"));
  ASSIGN_OR_RETURN(out.private_key_pem, internal::PrivateKeyPem(key.get()));
  return out;
}

absl::StatusOr<RequestInfo> ParseRequestPem(absl::string_view csr_pem) {
  BioPtr bio = internal::MemBio(csr_pem);
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (req == nullptr) return OpenSslError(absl::StatusCode::kInvalidArgument, "not a PEM request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());  // Owned by `req`.
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "request signature does not verify");
  }
  RequestInfo info;
  RETURN_IF_ERROR(ReadRequestedNames(req.get(), info));
  return info;
}

absl::Status CheckKeyMatchesCertificate(absl::string_view private_key_pem,
                                        absl::string_view certificate_pem) {
  BioPtr key_bio = MemBio(private_key_pem);
  EvpPkeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)
                         : nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("holds no PEM private key");
  }
  BioPtr cert_bio = MemBio(certificate_pem);
  X509Ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  const bool match = cert != nullptr && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) return absl::InvalidArgumentError("private key does not belong to the certificate");
  return absl::OkStatus();
}

absl::Status WriteSecretFile(const std::string& path, absl::string_view contents) {
  return AtomicWriteFile(path, contents, 0600);
}

absl::Status WritePublicFile(const std::string& path, absl::string_view contents) {
  return AtomicWriteFile(path, contents, 0644);
}

}  // namespace tverr::pki
