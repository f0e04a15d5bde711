// The consortium certificate authority, kept in a directory:
//
//   <dir>/ca.crt        CA certificate (0644)
//   <dir>/ca.key        CA private key, P-256 (0600)
//   <dir>/index.tsv     one line per issued certificate:
//                       serial  role  name  not_after(RFC3339)  status(V|R)
//                       revoked_at(RFC3339 or -)  sha256
//   <dir>/crl/          CRL directory for `TlsConfig.crl_dir`, file named
//                       <subject-hash>.r<n> as `openssl rehash` would name
//                       it; each new CRL takes the next n (see WriteCrl)
//
// Every certificate carries the URI SAN fl://<consortium>/<role>/<name>.
// Coordinator certificates get serverAuth+clientAuth and the requested
// DNS/IP SANs; other roles get clientAuth only. The CA decides the identity
// and extensions itself; it never copies extensions from a CSR.
//
// Not thread-safe; one process at a time should operate on a CA directory.
#ifndef TVERR_COMMON_PKI_CERTIFICATE_AUTHORITY_H_
#define TVERR_COMMON_PKI_CERTIFICATE_AUTHORITY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pki/identity.h"

namespace tverr::pki {

struct IssueOptions {
  // Identity to put in the certificate. Its consortium must be the CA's.
  Identity identity;
  // SANs; only allowed for ROLE_COORDINATOR.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  // Validity. Default: now - 5 minutes .. now + 365 days. Tests may set an
  // interval entirely in the past to make an expired certificate.
  absl::Time not_before = absl::InfinitePast();  // InfinitePast = default
  absl::Time not_after = absl::InfinitePast();   // InfinitePast = default
};

struct IssuedCertificate {
  std::string serial_hex;
  std::string role;
  std::string name;
  absl::Time not_after;
  bool revoked = false;
  absl::Time revoked_at;
  std::string sha256_hex;
};

class CertificateAuthority {
 public:
  // Creates a new CA for `consortium` in `dir` (created if missing; must not
  // already hold a CA: ALREADY_EXISTS). Writes an initial empty CRL.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> Create(
      const std::string& dir, const std::string& consortium,
      absl::Duration validity = absl::Hours(24 * 3650));

  // Opens an existing CA directory. NOT_FOUND / INVALID_ARGUMENT with the
  // file named on problems.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> Open(const std::string& dir);

  ~CertificateAuthority();

  const std::string& consortium() const;
  // PEM of the CA certificate.
  const std::string& certificate_pem() const;
  // Path of the CRL directory (<dir>/crl).
  std::string crl_dir() const;

  // Signs `csr_pem` (verified first) as `options.identity`. The CSR's own
  // fl:// URI must equal options.identity (FAILED_PRECONDITION otherwise),
  // so an operator cannot sign a request for someone else by mistake.
  // Records the certificate in index.tsv. Returns the certificate PEM.
  absl::StatusOr<std::string> SignRequest(const std::string& csr_pem,
                                          const IssueOptions& options);

  // Convenience: generates key + CSR in memory and signs it. Returns
  // {private_key_pem, certificate_pem}.
  absl::StatusOr<std::pair<std::string, std::string>> Issue(const IssueOptions& options);

  // Marks the certificate with `serial_hex` revoked (NOT_FOUND if never
  // issued by this CA; ALREADY_EXISTS if already revoked) and rewrites the
  // CRL. The change is durable when this returns.
  absl::Status Revoke(const std::string& serial_hex);

  // Rewrites the CRL (validity 30 days from now) from index.tsv.
  absl::Status WriteCrl();

  // All certificates issued, in issue order.
  std::vector<IssuedCertificate> List() const;

 private:
  struct State;
  explicit CertificateAuthority(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tverr::pki

#endif  // TVERR_COMMON_PKI_CERTIFICATE_AUTHORITY_H_
