#include "common/pki/key_request.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
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
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

// RAII for the OpenSSL objects this file touches (see certificate.cc for why
// each pki .cc keeps its own).
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslFree<X509_REQ_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslFree<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslFree<ASN1_STRING_free>>;

// `what` plus OpenSSL's reason for the most recent failure; clears the error
// queue so a later call does not report a stale error.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  unsigned long err = ERR_peek_last_error();
  ERR_clear_error();
  if (err == 0) return absl::Status(code, what);
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return absl::Status(code, absl::StrCat(what, ": ", buf));
}

// absl::ErrnoToStatus, but never OK: a failed call always yields an error.
absl::Status PosixError(int err, absl::string_view what) {
  if (err == 0) return absl::InternalError(what);
  return absl::ErrnoToStatus(err, what);
}

absl::Status ValidateIdentity(const Identity& identity) {
  // The URI round trip checks the role and both names in one place.
  return ParseIdentityUri(identity.Uri()).status();
}

// A DNS SAN: letters, digits, '-' and '.', no wildcards (a node never needs
// one, and a wildcard coordinator certificate would cover unrelated hosts).
absl::Status ValidateDnsName(absl::string_view dns) {
  bool ok = !dns.empty() && dns.size() <= 253 && dns.front() != '.' && dns.front() != '-';
  for (char c : dns) {
    ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid DNS name \"", dns, "\""));
  return absl::OkStatus();
}

absl::Status AddName(GENERAL_NAMES* names, int type, Asn1StringPtr value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return OpenSslError(absl::StatusCode::kInternal, "GENERAL_NAME_new");
  GENERAL_NAME_set0_value(name.get(), type, value.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) {
    return OpenSslError(absl::StatusCode::kInternal, "sk_GENERAL_NAME_push");
  }
  name.release();  // Owned by `names` now.
  return absl::OkStatus();
}

absl::Status AddIa5Name(GENERAL_NAMES* names, int type, absl::string_view text) {
  Asn1StringPtr s(ASN1_IA5STRING_new());
  if (s == nullptr || ASN1_STRING_set(s.get(), text.data(), static_cast<int>(text.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "ASN1_STRING_set");
  }
  return AddName(names, type, std::move(s));
}

// The subjectAltName extension: the fl:// URI, then DNS and IP names. Built
// from GENERAL_NAMEs rather than a config string so no value can smuggle in
// another entry.
absl::StatusOr<X509ExtensionPtr> MakeSanExtension(const Identity& identity,
                                                  const std::vector<std::string>& dns_names,
                                                  const std::vector<std::string>& ip_addresses) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return OpenSslError(absl::StatusCode::kInternal, "GENERAL_NAMES_new");
  RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_URI, identity.Uri()));
  for (const std::string& dns : dns_names) {
    RETURN_IF_ERROR(ValidateDnsName(dns));
    RETURN_IF_ERROR(AddIa5Name(names.get(), GEN_DNS, dns));
  }
  for (const std::string& ip : ip_addresses) {
    Asn1StringPtr octets(a2i_IPADDRESS(ip.c_str()));
    if (octets == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("invalid IP address \"", ip, "\""));
    }
    RETURN_IF_ERROR(AddName(names.get(), GEN_IPADD, std::move(octets)));
  }
  X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, /*crit=*/0, names.get()));
  if (ext == nullptr) return OpenSslError(absl::StatusCode::kInternal, "encode subjectAltName");
  return ext;
}

// CN=<name>, OU=<role>, O=<consortium>, added most general first so the
// RFC 2253 form reads in the documented order.
absl::Status SetSubject(X509_NAME* subject, const Identity& identity) {
  const std::pair<int, std::string> entries[] = {
      {NID_organizationName, identity.consortium},
      {NID_organizationalUnitName, RoleName(identity.role)},
      {NID_commonName, identity.name}};
  for (const auto& [nid, value] : entries) {
    if (X509_NAME_add_entry_by_NID(subject, nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "cannot build subject name");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError(absl::StatusCode::kInternal, "P-256 key generation");
  return key;
}

// PKCS#8 PEM, through a secure-memory BIO that is wiped when freed.
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot encode private key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

absl::StatusOr<X509ReqPtr> BuildRequest(EVP_PKEY* key, const Identity& identity,
                                        const std::vector<std::string>& dns_names,
                                        const std::vector<std::string>& ip_addresses) {
  X509ReqPtr req(X509_REQ_new());
  if (req == nullptr || X509_REQ_set_version(req.get(), 0) != 1) {  // 0 = PKCS#10 v1
    return OpenSslError(absl::StatusCode::kInternal, "X509_REQ_new");
  }
  RETURN_IF_ERROR(SetSubject(X509_REQ_get_subject_name(req.get()), identity));
  if (X509_REQ_set_pubkey(req.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "X509_REQ_set_pubkey");
  }
  ASSIGN_OR_RETURN(X509ExtensionPtr san, MakeSanExtension(identity, dns_names, ip_addresses));
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

std::string Asn1Text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

std::string IpText(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {0};
  const int len = ASN1_STRING_length(ip);
  const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC ||
      inet_ntop(family, ASN1_STRING_get0_data(ip), buf, sizeof(buf)) == nullptr) {
    return absl::StrCat("<", len, "-byte address>");
  }
  return buf;
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
  int fl_uris = 0;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI) {
      std::string uri = Asn1Text(name->d.uniformResourceIdentifier);
      if (!absl::StartsWith(uri, "fl://")) continue;
      if (++fl_uris > 1) return absl::InvalidArgumentError("request carries several fl:// URIs");
      ASSIGN_OR_RETURN(info.identity, ParseIdentityUri(uri));
    } else if (name->type == GEN_DNS) {
      info.dns_names.push_back(Asn1Text(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(IpText(name->d.iPAddress));
    }
  }
  if (fl_uris == 0) return absl::InvalidArgumentError("request carries no fl:// URI SAN");
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
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());
  ASSIGN_OR_RETURN(X509ReqPtr req, BuildRequest(key.get(), identity, dns_names, ip_addresses));
  KeyAndRequest out;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot encode request");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  out.csr_pem.assign(data, len);
  ASSIGN_OR_RETURN(out.private_key_pem, PrivateKeyPem(key.get()));
  return out;
}

absl::StatusOr<RequestInfo> ParseRequestPem(absl::string_view csr_pem) {
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
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

absl::Status WriteSecretFile(const std::string& path, absl::string_view contents) {
  return AtomicWriteFile(path, contents, 0600);
}

absl::Status WritePublicFile(const std::string& path, absl::string_view contents) {
  return AtomicWriteFile(path, contents, 0644);
}

}  // namespace tverr::pki
