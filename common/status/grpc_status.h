// The one place where absl::Status and grpc::Status are converted. The codes
// are numerically identical; messages are passed through unchanged, so
// callers must not put paths, keys or patient data in statuses sent to peers.
#ifndef TVERR_COMMON_STATUS_GRPC_STATUS_H_
#define TVERR_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace tverr {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace tverr

#endif  // TVERR_COMMON_STATUS_GRPC_STATUS_H_
