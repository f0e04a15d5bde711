#include "common/pki/identity.h"

#include <array>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace tverr::pki {
namespace {

constexpr absl::string_view kScheme = "fl://";
constexpr size_t kMaxNameLength = 63;

// Every role a certificate may carry, with its URI spelling.
constexpr std::array<std::pair<v1::Role, absl::string_view>, 5> kRoleNames = {{
    {v1::ROLE_NODE, "node"},
    {v1::ROLE_RESEARCHER, "researcher"},
    {v1::ROLE_AUDITOR, "auditor"},
    {v1::ROLE_OPERATOR, "operator"},
    {v1::ROLE_COORDINATOR, "coordinator"},
}};

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string Identity::Uri() const {
  return absl::StrCat(kScheme, consortium, "/", RoleName(role), "/", name);
}

std::string RoleName(v1::Role role) {
  for (const auto& [value, name] : kRoleNames) {
    if (value == role) return std::string(name);
  }
  return "unspecified";
}

absl::StatusOr<v1::Role> ParseRole(absl::string_view name) {
  for (const auto& [value, role_name] : kRoleNames) {
    if (role_name == name) return value;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown role \"", name, "\" (want node, researcher, auditor, operator or coordinator)"));
}

absl::Status ValidateName(absl::string_view what, absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be 1..", kMaxNameLength, " characters, got ", name.size()));
  }
  // Names end up in URIs, file names and RFC 2253 subjects; the small
  // alphabet keeps them unambiguous in all three.
  if (!IsLowerAlnum(name[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", name, "\" must start with a lower-case letter or digit"));
  }
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '-' && c != '.' && c != '_') {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " \"", name, "\" may only contain [a-z0-9-._]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Identity> ParseIdentityUri(absl::string_view uri) {
  if (!absl::StartsWith(uri, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("identity URI \"", uri, "\" does not start with ", kScheme));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(uri.substr(kScheme.size()), '/');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity URI \"", uri, "\" is not of the form fl://<consortium>/<role>/<name>"));
  }
  Identity identity;
  RETURN_IF_ERROR(ValidateName("consortium", parts[0]));
  ASSIGN_OR_RETURN(identity.role, ParseRole(parts[1]));
  RETURN_IF_ERROR(ValidateName("name", parts[2]));
  identity.consortium = std::string(parts[0]);
  identity.name = std::string(parts[2]);
  return identity;
}

}  // namespace tverr::pki
