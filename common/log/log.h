// Logging for every Tverr program: Google glog (already a dependency of
// LibTorch), configured here once. Use LOG(INFO) / LOG(WARNING) /
// LOG(ERROR) / VLOG(1) from <glog/logging.h>.
//
// Rules (see docs/security.md): never log private keys, secrets, file
// contents, or anything read from DICOM. Log identities, digests and counts.
#ifndef TVERR_COMMON_LOG_LOG_H_
#define TVERR_COMMON_LOG_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tverr {

// Initialises glog for `program` writing to stderr, and routes gRPC's own
// log lines through glog too. Call once at the start of main().
void InitLogging(const char* program);

// Sets the minimum level: "debug", "info", "warning" or "error".
// INVALID_ARGUMENT for anything else.
absl::Status SetLogLevel(absl::string_view level);

// True when `level` is one of the names SetLogLevel accepts.
bool IsValidLogLevel(absl::string_view level);

}  // namespace tverr

#endif  // TVERR_COMMON_LOG_LOG_H_
