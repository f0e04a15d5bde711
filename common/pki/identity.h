// Who a principal is: consortium, role and name, as written in its
// certificate's URI SAN `fl://<consortium>/<role>/<name>`.
// Pure value type; thread-compatible.
#ifndef TVERR_COMMON_PKI_IDENTITY_H_
#define TVERR_COMMON_PKI_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tverr/v1/common.pb.h"

namespace tverr::pki {

struct Identity {
  std::string consortium;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::string name;

  // fl://<consortium>/<role>/<name>, for example fl://nordic/node/oslo-uh.
  std::string Uri() const;

  friend bool operator==(const Identity& a, const Identity& b) {
    return a.consortium == b.consortium && a.role == b.role && a.name == b.name;
  }
};

// "node", "researcher", "auditor", "operator", "coordinator"; "unspecified"
// otherwise.
std::string RoleName(v1::Role role);

// Inverse of RoleName. INVALID_ARGUMENT for an unknown name or "unspecified".
absl::StatusOr<v1::Role> ParseRole(absl::string_view name);

// Consortium and principal names: 1..63 characters of [a-z0-9-._], starting
// with a letter or digit. INVALID_ARGUMENT naming `what` otherwise.
absl::Status ValidateName(absl::string_view what, absl::string_view name);

// Parses fl://<consortium>/<role>/<name>. INVALID_ARGUMENT if the scheme,
// the number of parts, the role or a name is wrong.
absl::StatusOr<Identity> ParseIdentityUri(absl::string_view uri);

}  // namespace tverr::pki

#endif  // TVERR_COMMON_PKI_IDENTITY_H_
