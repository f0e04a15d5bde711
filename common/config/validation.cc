#include "common/config/validation.h"

#include <sys/stat.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/config_loader.h"
#include "common/log/log.h"
#include "common/pki/identity.h"

namespace tverr::config {

void ConfigErrors::Add(absl::string_view field, absl::string_view problem) {
  errors_.push_back(absl::StrCat(source_, ": field '", field, "': ", problem));
}

absl::Status ConfigErrors::ToStatus() const {
  if (errors_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
}

namespace {

void CheckFile(absl::string_view field, const std::string& path, bool want_dir,
               ConfigErrors* errors) {
  if (path.empty()) {
    errors->Add(field, "is required");
    return;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    errors->Add(field, absl::StrCat(want_dir ? "directory " : "file ", path, " does not exist"));
  } else if (want_dir && !S_ISDIR(st.st_mode)) {
    errors->Add(field, absl::StrCat(path, " is not a directory"));
  } else if (!want_dir && !S_ISREG(st.st_mode)) {
    errors->Add(field, absl::StrCat(path, " is not a regular file"));
  }
}

}  // namespace

void ResolveAndValidateTls(const std::string& base_dir, bool require_crl_dir,
                           v1::TlsConfig* tls, ConfigErrors* errors) {
  tls->set_cert_file(ResolvePath(base_dir, tls->cert_file()));
  tls->set_key_file(ResolvePath(base_dir, tls->key_file()));
  tls->set_ca_file(ResolvePath(base_dir, tls->ca_file()));
  tls->set_crl_dir(ResolvePath(base_dir, tls->crl_dir()));
  if (tls->reload_interval_seconds() == 0) tls->set_reload_interval_seconds(60);
  if (tls->reload_interval_seconds() > 86400) {
    errors->Add("tls.reload_interval_seconds", "must be between 1 and 86400");
  }
  CheckFile("tls.cert_file", tls->cert_file(), false, errors);
  CheckFile("tls.key_file", tls->key_file(), false, errors);
  CheckFile("tls.ca_file", tls->ca_file(), false, errors);
  if (require_crl_dir) CheckFile("tls.crl_dir", tls->crl_dir(), true, errors);
}

void ValidateNameField(absl::string_view field, absl::string_view value, ConfigErrors* errors) {
  if (value.empty()) {
    errors->Add(field, "is required");
    return;
  }
  if (absl::Status s = pki::ValidateName(field, value); !s.ok()) {
    errors->Add(field, absl::StrCat("'", value, "' is not a valid name (1-63 of a-z 0-9 - . _, "
                                    "starting with a letter or digit)"));
  }
}

void ValidateAddressField(absl::string_view field, absl::string_view value,
                          ConfigErrors* errors) {
  size_t colon = value.rfind(':');
  uint32_t port = 0;
  if (value.empty()) {
    errors->Add(field, "is required");
  } else if (colon == absl::string_view::npos || colon == 0 ||
             !absl::SimpleAtoi(value.substr(colon + 1), &port) || port > 65535) {
    errors->Add(field, absl::StrCat("'", value, "' is not host:port with a port 0..65535"));
  }
}

void ValidateLogLevelField(absl::string_view field, absl::string_view value,
                           ConfigErrors* errors) {
  if (!IsValidLogLevel(value)) {
    errors->Add(field,
                absl::StrCat("'", value, "' is not one of debug, info, warning, error"));
  }
}

}  // namespace tverr::config
