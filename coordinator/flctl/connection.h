// How flctl reaches the coordinator: address and the caller's TLS files,
// from options or environment variables.
//   --coordinator host:port   (env TVERR_COORDINATOR)
//   --tls_dir D               D/cert.pem, D/key.pem, D/ca.pem as written by
//                             `flctl pki issue` (env TVERR_TLS_DIR)
//   --cert F --key F --ca F   individual files, overriding --tls_dir
#ifndef TVERR_COORDINATOR_FLCTL_CONNECTION_H_
#define TVERR_COORDINATOR_FLCTL_CONNECTION_H_

#include <grpcpp/channel.h>

#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/flctl/args.h"

namespace tverr::flctl {

// Option names Connect() reads; add them to a subcommand's accepted options.
const std::set<std::string>& ConnectionOptions();

// A TLS channel to the coordinator. Fails early, naming the file, if TLS
// files are missing or do not match.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Args& args);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_CONNECTION_H_
