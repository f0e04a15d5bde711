#include "common/pki/certificate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

// RAII for the OpenSSL objects this file touches. (certificate.cc,
// key_request.cc and certificate_authority.cc each keep their own few lines
// of these: the pki module has no private header to share them.)
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, OpenSslFree<BASIC_CONSTRAINTS_free>>;

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

absl::StatusOr<std::string> DerSha256Hex(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "cannot DER-encode certificate");
  std::string digest =
      crypto::ToHex(crypto::Sha256(absl::string_view(reinterpret_cast<const char*>(der), len)));
  OPENSSL_free(der);
  return digest;
}

absl::StatusOr<std::string> SerialHex(const X509* cert) {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (bn == nullptr) return OpenSslError(absl::StatusCode::kInvalidArgument, "bad serial number");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return OpenSslError(absl::StatusCode::kInternal, "cannot print serial");
  std::string out = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  // BN_bn2hex prints whole bytes; the documented form has no leading zeros.
  size_t first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

absl::StatusOr<std::string> NameRfc2253(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot print name");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t, absl::string_view what) {
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("bad ", what, " time"));
  }
  // ASN1 times are UTC; timegm (not mktime) keeps the local zone out of it.
  return absl::FromTimeT(timegm(&tm));
}

std::string IpToString(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {0};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  if (len == 4) return inet_ntop(AF_INET, bytes, buf, sizeof(buf)) ? buf : "";
  if (len == 16) return inet_ntop(AF_INET6, bytes, buf, sizeof(buf)) ? buf : "";
  return absl::StrCat("<", len, "-byte address>");
}

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

// Fills identity, DNS and IP fields from the subjectAltName extension.
absl::Status ReadSubjectAltNames(X509* cert, CertificateInfo& info) {
  int crit = 0;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (names == nullptr && crit != -1) {
    // -1 means "absent"; anything else is an extension we could not decode.
    return OpenSslError(absl::StatusCode::kInvalidArgument, "bad subjectAltName extension");
  }
  std::vector<std::string> fl_uris;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI) {
      std::string uri = Asn1String(name->d.uniformResourceIdentifier);
      if (absl::StartsWith(uri, "fl://")) fl_uris.push_back(std::move(uri));
    } else if (name->type == GEN_DNS) {
      info.dns_names.push_back(Asn1String(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(IpToString(name->d.iPAddress));
    }
  }
  if (fl_uris.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate carries ", fl_uris.size(), " fl:// URI SANs; want exactly one"));
  }
  if (fl_uris.empty()) {
    if (info.is_ca) return absl::OkStatus();
    return absl::InvalidArgumentError("certificate carries no fl:// URI SAN");
  }
  ASSIGN_OR_RETURN(info.identity, ParseIdentityUri(fl_uris[0]));
  return absl::OkStatus();
}

// NOT_FOUND if `path` is missing; other errno values map likewise.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::string contents;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return absl::ErrnoToStatus(saved, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    contents.append(buf, n);
  }
  close(fd);
  return contents;
}

bool IsCa(X509* cert) {
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
  return bc != nullptr && bc->ca != 0;
}

}  // namespace

absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "not a PEM certificate");
  }
  CertificateInfo info;
  info.is_ca = IsCa(cert.get());
  ASSIGN_OR_RETURN(info.sha256_hex, DerSha256Hex(cert.get()));
  ASSIGN_OR_RETURN(info.serial_hex, SerialHex(cert.get()));
  ASSIGN_OR_RETURN(info.subject, NameRfc2253(X509_get_subject_name(cert.get())));
  ASSIGN_OR_RETURN(info.issuer, NameRfc2253(X509_get_issuer_name(cert.get())));
  ASSIGN_OR_RETURN(info.not_before, AsnTime(X509_get0_notBefore(cert.get()), "notBefore"));
  ASSIGN_OR_RETURN(info.not_after, AsnTime(X509_get0_notAfter(cert.get()), "notAfter"));
  RETURN_IF_ERROR(ReadSubjectAltNames(cert.get(), info));
  return info;
}

absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadWholeFile(path));
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(pem);
  if (!info.ok()) {
    return absl::Status(info.status().code(), absl::StrCat(path, ": ", info.status().message()));
  }
  return info;
}

}  // namespace tverr::pki
