// The node's side of NodeService.Download and NodeService.Upload: fetches
// published payloads (artifacts, global weights) by digest, checking every
// chunk, and uploads a round's weight update with its UpdateInfo.
// Thread-safe: Cancel() may be called from any thread while a call runs;
// Fetch and UploadUpdate may run concurrently.
#ifndef TVERR_NODE_DAEMON_PAYLOAD_CLIENT_H_
#define TVERR_NODE_DAEMON_PAYLOAD_CLIENT_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/worker/round_worker.h"
#include "tverr/v1/node.grpc.pb.h"
#include "tverr/v1/transfer.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace tverr::node {

struct PayloadClientOptions {
  // Largest payload Fetch accepts; a larger transfer is refused while it
  // streams. Default: 4 GiB.
  uint64_t max_download_bytes = uint64_t{4} << 30;
  // Deadline of each Download or Upload call. Default: 10 min.
  absl::Duration call_timeout = absl::Minutes(10);
};

class PayloadClient final : public PayloadFetcher {
 public:
  // `stub` must outlive this client.
  explicit PayloadClient(v1::NodeService::Stub* stub, PayloadClientOptions options = {});
  ~PayloadClient() override;

  // Downloads the payload whose SHA-256 is `sha256_hex` (64 lower-case hex
  // digits, else INVALID_ARGUMENT). The transfer must be well-formed, of kind
  // `kind` and within the size limit (INVALID_ARGUMENT otherwise); other
  // errors are the gRPC status (NOT_FOUND, UNAVAILABLE, DEADLINE_EXCEEDED,
  // CANCELLED after Cancel(), ...). The caller checks the digest of the
  // bytes against what it asked for (the trailer only proves integrity of
  // the transfer, not that it is the payload requested).
  absl::StatusOr<std::string> Fetch(const std::string& sha256_hex, v1::PayloadKind kind) override;

  // Uploads `tvts` as the weight update of `run_id`'s round `round`, with
  // `info` in the header, in 4 MiB chunks (`kind` MASKED_INPUT: the bytes
  // are a masked input of a secure round). OK once the coordinator returned
  // a receipt for exactly these bytes; the coordinator's refusal as its gRPC
  // status; DATA_LOSS if the receipt names other bytes.
  absl::Status UploadUpdate(const std::string& run_id, uint64_t round, const v1::UpdateInfo& info,
                            const std::string& tvts,
                            v1::PayloadKind kind = v1::PAYLOAD_KIND_WEIGHT_UPDATE);

  // Cancels the calls in flight and makes every later call fail with
  // CANCELLED.
  void Cancel();

 private:
  // Registers `ctx` for Cancel(); CANCELLED if Cancel() came first.
  absl::Status Begin(grpc::ClientContext* ctx);
  void End(grpc::ClientContext* ctx);

  v1::NodeService::Stub* const stub_;
  const PayloadClientOptions options_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> active_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_PAYLOAD_CLIENT_H_
