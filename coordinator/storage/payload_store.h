// The coordinator's payloads on disk, content-addressed, in places that
// never mix:
//   uploads/            what nodes sent (updates); never served to nodes,
//                       so no hospital can fetch another's update.
//   staged/             what researchers sent for runs not yet created
//                       (artifacts, initial weights); never served to nodes
//                       until CreateRun publishes them.
//   published/<kind>/   what the coordinator publishes for nodes to
//                       download (model artifacts, global weights).
// Thread-safe.
#ifndef TVERR_COORDINATOR_STORAGE_PAYLOAD_STORE_H_
#define TVERR_COORDINATOR_STORAGE_PAYLOAD_STORE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/sha256.h"
#include "common/store/blob_store.h"
#include "tverr/v1/transfer.pb.h"

namespace tverr::coordinator {

class PayloadStore {
 public:
  // Uses (creating) `dir`.
  static absl::StatusOr<std::unique_ptr<PayloadStore>> Open(const std::string& dir);

  // Where node uploads go.
  store::BlobStore& uploads() { return *uploads_; }
  // Where researcher uploads wait for their run.
  store::BlobStore& staged() { return *staged_; }
  // The bytes of a staged payload given its hex digest, verified.
  // NOT_FOUND when absent; DATA_LOSS when the file no longer matches.
  absl::StatusOr<std::string> ReadStaged(const std::string& sha256_hex) const;

  // Makes `data` available for download as `kind`; durable on return.
  absl::StatusOr<crypto::Sha256Digest> Publish(v1::PayloadKind kind, absl::string_view data);

  // A published payload: its kind and path. NOT_FOUND if nothing with this
  // digest was published (uploads are never found here).
  struct Published {
    v1::PayloadKind kind;
    std::string path;
  };
  absl::StatusOr<Published> FindPublished(const crypto::Sha256Digest& digest) const;

  // The bytes of a published payload given its hex digest, verified.
  // NOT_FOUND when absent; DATA_LOSS when the file no longer matches.
  absl::StatusOr<std::string> ReadPublished(const std::string& sha256_hex) const;

 private:
  PayloadStore() = default;
  std::unique_ptr<store::BlobStore> uploads_;
  std::unique_ptr<store::BlobStore> staged_;
  std::map<v1::PayloadKind, std::unique_ptr<store::BlobStore>> published_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_STORAGE_PAYLOAD_STORE_H_
