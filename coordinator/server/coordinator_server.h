// fl-coordinator as a library: opens the state, builds the TLS server with
// all services, and serves until Shutdown(). main.cc and in-process
// integration tests both use it.
#ifndef TVERR_COORDINATOR_SERVER_COORDINATOR_SERVER_H_
#define TVERR_COORDINATOR_SERVER_COORDINATOR_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/crypto/sha256.h"
#include "common/tensor/named_tensors.h"
#include "coordinator/round/round_manager.h"
#include "tverr/v1/run.pb.h"
#include "tverr/v1/config.pb.h"
#include "tverr/v1/transfer.pb.h"

namespace tverr::coordinator {

class CoordinatorServer {
 public:
  // Starts serving `config` (already validated by FinishCoordinatorConfig).
  // UNAVAILABLE if the address cannot be bound; other errors name the state
  // or TLS file at fault.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(
      const v1::CoordinatorConfig& config);

  virtual ~CoordinatorServer() = default;

  // Port actually bound (useful with port 0).
  virtual int port() const = 0;
  // Makes a payload (model artifact, global weights) downloadable by nodes.
  virtual absl::StatusOr<crypto::Sha256Digest> Publish(v1::PayloadKind kind,
                                                       absl::string_view data) = 0;
  // Starts a training run (spec validated, with defaults) from `initial`
  // weights; rounds then proceed with the online nodes.
  virtual absl::Status StartRun(const v1::RunSpec& spec, absl::string_view artifact,
                                tensor::TensorList initial) = 0;
  virtual RunProgress Progress() const = 0;
  virtual tensor::TensorList GlobalModel() const = 0;

  // Ends open streams and stops serving; returns when all handlers finished.
  virtual void Shutdown() = 0;
  // Blocks until Shutdown() has completed.
  virtual void Wait() = 0;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVER_COORDINATOR_SERVER_H_
