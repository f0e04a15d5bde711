// Loading textproto configuration files. Parse errors name the file, line
// and column; unknown fields are errors (a typo must not silently fall back
// to a default).
#ifndef TVERR_COMMON_CONFIG_CONFIG_LOADER_H_
#define TVERR_COMMON_CONFIG_CONFIG_LOADER_H_

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/status.h"

namespace tverr::config {

// Reads `path` into `message`. NOT_FOUND if the file cannot be read;
// INVALID_ARGUMENT "<path>:<line>:<column>: <problem>" if it does not parse.
absl::Status LoadTextProtoFile(const std::string& path, google::protobuf::Message* message);

// Directory part of `path` ("." when it has none).
std::string DirName(const std::string& path);

// `path` if absolute or empty, else `base_dir`/`path`.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace tverr::config

#endif  // TVERR_COMMON_CONFIG_CONFIG_LOADER_H_
