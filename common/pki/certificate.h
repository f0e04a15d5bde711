// Reading X.509 certificates (PEM) into the facts Tverr uses: identity,
// fingerprint, serial, validity. OpenSSL lives behind this header.
// Functions are thread-safe.
#ifndef TVERR_COMMON_PKI_CERTIFICATE_H_
#define TVERR_COMMON_PKI_CERTIFICATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/pki/identity.h"

namespace tverr::pki {

struct CertificateInfo {
  // From the single fl:// URI SAN.
  Identity identity;
  // Lower-case hex SHA-256 over the DER encoding.
  std::string sha256_hex;
  // Lower-case hex serial number, no leading zeros.
  std::string serial_hex;
  // RFC 2253 subject and issuer names.
  std::string subject;
  std::string issuer;
  absl::Time not_before;
  absl::Time not_after;
  // DNS and IP SANs (IP in textual form).
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  // True when basicConstraints says CA:TRUE.
  bool is_ca = false;
};

// Parses the first certificate in `pem`. INVALID_ARGUMENT if it is not a PEM
// certificate, or if it does not carry exactly one fl:// URI SAN with a valid
// identity (CA certificates may carry none: identity is then empty with role
// ROLE_UNSPECIFIED).
absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view pem);

// Reads a file and parses it as above. NOT_FOUND if the file is missing.
absl::StatusOr<CertificateInfo> ReadCertificateFile(const std::string& path);

}  // namespace tverr::pki

#endif  // TVERR_COMMON_PKI_CERTIFICATE_H_
