// Minimal parser for flctl subcommand arguments: positional words and
// --name=value / --name value / --flag options. Each subcommand declares the
// options it accepts; anything else is an error naming the option.
#ifndef TVERR_COORDINATOR_FLCTL_ARGS_H_
#define TVERR_COORDINATOR_FLCTL_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tverr::flctl {

struct Args {
  std::vector<std::string> positional;
  // Repeated options keep every value in order.
  std::map<std::string, std::vector<std::string>> options;

  bool Has(const std::string& name) const { return options.count(name) > 0; }
  // Last value of `name`, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  // All values of a repeatable option; comma-separated values are split.
  std::vector<std::string> GetList(const std::string& name) const;
  // Last value, or INVALID_ARGUMENT "missing required option --name".
  absl::StatusOr<std::string> Require(const std::string& name) const;
};

// `value_options` take a value; `bool_options` do not. INVALID_ARGUMENT for an
// unknown option or a missing value.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string>& value_options,
                               const std::set<std::string>& bool_options = {});

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_ARGS_H_
