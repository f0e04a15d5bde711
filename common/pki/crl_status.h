// Checking that a CRL directory really protects a server. gRPC's CRL check
// fails open: when a CA's CRL is missing from the directory, handshakes
// succeed without any revocation check. A coordinator therefore checks its
// CRL directory at start (refusing to start without it) and keeps checking
// it while it runs. Thread-safe.
#ifndef TVERR_COMMON_PKI_CRL_STATUS_H_
#define TVERR_COMMON_PKI_CRL_STATUS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tverr::pki {

// For every CA certificate in `ca_bundle_pem`: `crl_dir` holds its CRL
// (<hash>.r0 onwards), the newest one is signed by that CA and not expired.
// Returns the earliest nextUpdate of those newest CRLs. FAILED_PRECONDITION
// naming the CA and the file otherwise.
absl::StatusOr<absl::Time> CheckCrlDirectory(const std::string& crl_dir,
                                             absl::string_view ca_bundle_pem);

}  // namespace tverr::pki

#endif  // TVERR_COMMON_PKI_CRL_STATUS_H_
