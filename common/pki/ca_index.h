// Internal to common/pki: the CA's index.tsv, its record of every
// certificate it issued, one tab-separated line each:
//
//   serial  role  name  not_after(RFC3339)  status(V|R)  revoked_at(RFC3339 or -)  sha256
//
// Pure text conversion, no file access; thread-safe.
#ifndef TVERR_COMMON_PKI_CA_INDEX_H_
#define TVERR_COMMON_PKI_CA_INDEX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/pki/certificate_authority.h"

namespace tverr::pki::internal {

// The index.tsv text for `issued`, in that order (times in whole seconds).
std::string FormatIndex(const std::vector<IssuedCertificate>& issued);

// Parses index.tsv text; empty lines are skipped. INVALID_ARGUMENT naming
// `path` and the line number for the first bad line (wrong field count, bad
// status, time, serial, role or name).
absl::StatusOr<std::vector<IssuedCertificate>> ParseIndex(const std::string& path,
                                                          absl::string_view text);

}  // namespace tverr::pki::internal

#endif  // TVERR_COMMON_PKI_CA_INDEX_H_
