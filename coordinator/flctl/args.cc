#include "coordinator/flctl/args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tverr::flctl {

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) return fallback;
  return it->second.back();
}

std::vector<std::string> Args::GetList(const std::string& name) const {
  std::vector<std::string> out;
  auto it = options.find(name);
  if (it == options.end()) return out;
  for (const std::string& v : it->second) {
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      out.emplace_back(part);
    }
  }
  return out;
}

absl::StatusOr<std::string> Args::Require(const std::string& name) const {
  if (!Has(name) || Get(name).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing required option --", name));
  }
  return Get(name);
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string>& value_options,
                               const std::set<std::string>& bool_options) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!absl::StartsWith(a, "--")) {
      args.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_options.count(name)) {
      if (has_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("option --", name, " takes no value (or true/false)"));
      }
      args.options[name].push_back(has_value ? value : "true");
      continue;
    }
    if (!value_options.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
    }
    if (!has_value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option --", name, " needs a value"));
      }
      value = argv[++i];
    }
    args.options[name].push_back(value);
  }
  return args;
}

}  // namespace tverr::flctl
