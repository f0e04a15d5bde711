#include "common/pki/ca_index.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/pki/identity.h"
#include "common/pki/openssl_util.h"
#include "common/status/status_macros.h"

namespace tverr::pki::internal {
namespace {

absl::StatusOr<absl::Time> ParseIndexTime(absl::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("bad time \"", text, "\": ", error));
  }
  return t;
}

absl::StatusOr<IssuedCertificate> ParseIndexLine(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
  if (f.size() != 7) {
    return absl::InvalidArgumentError(absl::StrCat("want 7 fields, got ", f.size()));
  }
  if (f[4] != "V" && f[4] != "R") return absl::InvalidArgumentError("status must be V or R");
  IssuedCertificate c;
  c.serial_hex = std::string(f[0]);
  c.role = std::string(f[1]);
  c.name = std::string(f[2]);
  c.sha256_hex = std::string(f[6]);
  c.revoked = f[4] == "R";
  ASSIGN_OR_RETURN(c.not_after, ParseIndexTime(f[3]));
  if (c.revoked) {
    ASSIGN_OR_RETURN(c.revoked_at, ParseIndexTime(f[5]));
  }
  if (c.serial_hex.empty() || NormalizeSerial(c.serial_hex) != c.serial_hex) {
    return absl::InvalidArgumentError("bad serial");
  }
  RETURN_IF_ERROR(ParseRole(c.role).status());
  RETURN_IF_ERROR(ValidateName("name", c.name));
  return c;
}

}  // namespace

std::string FormatIndex(const std::vector<IssuedCertificate>& issued) {
  std::string out;
  for (const IssuedCertificate& c : issued) {
    absl::StrAppend(&out, c.serial_hex, "\t", c.role, "\t", c.name, "\t", Rfc3339(c.not_after),
                    "\t", c.revoked ? "R" : "V", "\t", c.revoked ? Rfc3339(c.revoked_at) : "-",
                    "\t", c.sha256_hex, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<IssuedCertificate>> ParseIndex(const std::string& path,
                                                          absl::string_view text) {
  std::vector<IssuedCertificate> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    absl::StatusOr<IssuedCertificate> c = ParseIndexLine(line);
    if (!c.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", line_number, ": ", c.status().message()));
    }
    out.push_back(*std::move(c));
  }
  return out;
}

}  // namespace tverr::pki::internal
