#include "common/pki/certificate.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "common/pki/openssl_util.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

using internal::AsnTime;
using internal::BasicConstraintsPtr;
using internal::BioPtr;
using internal::GeneralNamesPtr;
using internal::OpenSslError;
using internal::X509Ptr;

absl::StatusOr<std::string> DerSha256Hex(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "cannot DER-encode certificate");
  std::string digest =
      crypto::ToHex(crypto::Sha256(absl::string_view(reinterpret_cast<const char*>(der), len)));
  OPENSSL_free(der);
  return digest;
}

absl::StatusOr<std::string> NameRfc2253(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot print name");
  }
  return internal::MemBioContents(bio.get());
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
  internal::SanNames sans = internal::ReadSanNames(names.get());
  info.dns_names = std::move(sans.dns_names);
  info.ip_addresses = std::move(sans.ip_addresses);
  if (sans.fl_uris.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("certificate carries ", sans.fl_uris.size(),
                                                   " fl:// URI SANs; want exactly one"));
  }
  if (sans.fl_uris.empty()) {
    if (info.is_ca) return absl::OkStatus();
    return absl::InvalidArgumentError("certificate carries no fl:// URI SAN");
  }
  ASSIGN_OR_RETURN(info.identity, ParseIdentityUri(sans.fl_uris[0]));
  return absl::OkStatus();
}

bool IsCa(X509* cert) {
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert, NID_basic_constraints, nullptr, nullptr)));
  return bc != nullptr && bc->ca != 0;
}

}  // namespace

absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view pem) {
  BioPtr bio = internal::MemBio(pem);
  if (bio == nullptr) return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "not a PEM certificate");
  }
  CertificateInfo info;
  info.is_ca = IsCa(cert.get());
  ASSIGN_OR_RETURN(info.sha256_hex, DerSha256Hex(cert.get()));
  ASSIGN_OR_RETURN(info.serial_hex, internal::SerialHex(X509_get0_serialNumber(cert.get())));
  ASSIGN_OR_RETURN(info.subject, NameRfc2253(X509_get_subject_name(cert.get())));
  ASSIGN_OR_RETURN(info.issuer, NameRfc2253(X509_get_issuer_name(cert.get())));
  ASSIGN_OR_RETURN(info.not_before, AsnTime(X509_get0_notBefore(cert.get()), "notBefore"));
  ASSIGN_OR_RETURN(info.not_after, AsnTime(X509_get0_notAfter(cert.get()), "notAfter"));
  RETURN_IF_ERROR(ReadSubjectAltNames(cert.get(), info));
  return info;
}

absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, internal::ReadWholeFile(path));
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(pem);
  if (!info.ok()) {
    return absl::Status(info.status().code(), absl::StrCat(path, ": ", info.status().message()));
  }
  return info;
}

}  // namespace tverr::pki
