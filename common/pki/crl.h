// Internal to common/pki: the CA's certificate revocation lists, kept in a
// hash directory that OpenSSL's X509_LOOKUP_hash_dir (and so gRPC's
// crl_directory option) reads: <crl_dir>/<subject-hash>.r<n>.
//
// Each call writes a new file with the next n and never overwrites an old
// one (crl.cc says why). Not thread-safe for one directory: like the
// CertificateAuthority that calls it, one writer at a time.
#ifndef TVERR_COMMON_PKI_CRL_H_
#define TVERR_COMMON_PKI_CRL_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/pki/certificate_authority.h"

namespace tverr::pki::internal {

// Signs, with `ca_key`, a v2 CRL for `ca_cert` listing every revoked entry of
// `issued` (thisUpdate now, nextUpdate now + `validity`, a growing cRLNumber
// and the CA's authorityKeyIdentifier), and writes it durably to `crl_dir` as
// the next <hash>.r<n>. May wait up to a second so that its lastUpdate is
// later than the previous CRL's. INVALID_ARGUMENT for a bad serial in
// `issued`; INTERNAL or the write's error otherwise.
absl::Status WriteNextCrl(const std::string& crl_dir, X509* ca_cert, EVP_PKEY* ca_key,
                          const std::vector<IssuedCertificate>& issued, absl::Duration validity);

}  // namespace tverr::pki::internal

#endif  // TVERR_COMMON_PKI_CRL_H_
