// Key pairs and certificate signing requests, made where the key will live
// (for example at the hospital), so a private key never has to travel.
// Keys are ECDSA P-256. Thread-safe.
#ifndef TVERR_COMMON_PKI_KEY_REQUEST_H_
#define TVERR_COMMON_PKI_KEY_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pki/identity.h"

namespace tverr::pki {

struct KeyAndRequest {
  // PKCS#8 PEM private key. Secret: never log it.
  std::string private_key_pem;
  // PKCS#10 PEM request with subject CN=<name>, OU=<role>, O=<consortium>
  // and a SAN extension request holding the fl:// URI plus any DNS/IP names.
  std::string csr_pem;
};

// Generates a fresh P-256 key and a CSR for `identity`. INVALID_ARGUMENT for
// an invalid identity or IP address.
absl::StatusOr<KeyAndRequest> GenerateKeyAndRequest(
    const Identity& identity, const std::vector<std::string>& dns_names = {},
    const std::vector<std::string>& ip_addresses = {});

// What a CSR asks for, after its self-signature has been verified.
struct RequestInfo {
  Identity identity;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};

// Parses a PEM CSR and verifies its signature. INVALID_ARGUMENT if it is
// malformed, the signature is bad, or it has no valid fl:// URI SAN.
absl::StatusOr<RequestInfo> ParseRequestPem(absl::string_view csr_pem);

// OK if `private_key_pem` is the key of the certificate in
// `certificate_pem`; INVALID_ARGUMENT otherwise. Messages never contain key
// material.
absl::Status CheckKeyMatchesCertificate(absl::string_view private_key_pem,
                                        absl::string_view certificate_pem);

// Writes `contents` to `path` with mode 0600 (created with that mode, never
// widened), durably (fsync), replacing any existing file atomically.
absl::Status WriteSecretFile(const std::string& path, absl::string_view contents);

// Writes a public file (mode 0644) atomically and durably.
absl::Status WritePublicFile(const std::string& path, absl::string_view contents);

}  // namespace tverr::pki

#endif  // TVERR_COMMON_PKI_KEY_REQUEST_H_
