// Collecting configuration problems so that one start reports all of them,
// each as "<file>: field '<field>': <problem>".
#ifndef TVERR_COMMON_CONFIG_VALIDATION_H_
#define TVERR_COMMON_CONFIG_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tverr/v1/config.pb.h"

namespace tverr::config {

class ConfigErrors {
 public:
  explicit ConfigErrors(std::string source) : source_(std::move(source)) {}
  void Add(absl::string_view field, absl::string_view problem);
  bool empty() const { return errors_.empty(); }
  // OK when no problem was added; INVALID_ARGUMENT listing them all otherwise.
  absl::Status ToStatus() const;

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

// Resolves the TLS paths against `base_dir`, fills the reload default, and
// checks that the files exist (and crl_dir when `require_crl_dir`).
void ResolveAndValidateTls(const std::string& base_dir, bool require_crl_dir,
                           v1::TlsConfig* tls, ConfigErrors* errors);

// Checks a consortium or principal name (see pki::ValidateName).
void ValidateNameField(absl::string_view field, absl::string_view value, ConfigErrors* errors);

// Checks "host:port" with a port in 0..65535.
void ValidateAddressField(absl::string_view field, absl::string_view value,
                          ConfigErrors* errors);

void ValidateLogLevelField(absl::string_view field, absl::string_view value,
                           ConfigErrors* errors);

}  // namespace tverr::config

#endif  // TVERR_COMMON_CONFIG_VALIDATION_H_
