// Preprocessed pixels on the node's local disk, so that later epochs and
// later runs skip DICOM decoding. An entry is keyed by content: the
// instance (SOPInstanceUID, file size and modification time) and the
// pipeline (PipelineFingerprint). Each entry carries its own SHA-256, so a
// corrupt entry is detected (DATA_LOSS) and the caller rebuilds it.
// Layout: <dir>/<key[0:2]>/<key>.tensor. Thread-safe.
#ifndef TVERR_NODE_DATA_TENSOR_CACHE_H_
#define TVERR_NODE_DATA_TENSOR_CACHE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tverr::node {

class TensorCache {
 public:
  // Uses (creating) `dir`.
  static absl::StatusOr<TensorCache> Open(const std::string& dir);

  // The key of an instance under a pipeline.
  static std::string Key(const std::string& pipeline_fingerprint,
                         const std::string& sop_instance_uid, uint64_t file_size,
                         int64_t file_mtime_ns);

  // NOT_FOUND when absent; DATA_LOSS when present but corrupt (wrong
  // magic, size or checksum), after which the caller should Put() again.
  absl::StatusOr<std::vector<float>> Get(const std::string& key) const;

  // Stores an entry, in place and not fsynced: an entry torn or lost in a
  // crash fails its checksum (or is missing) and is simply rebuilt.
  absl::Status Put(const std::string& key, const std::vector<float>& values) const;

  const std::string& dir() const { return dir_; }

 private:
  explicit TensorCache(std::string dir) : dir_(std::move(dir)) {}
  std::string PathOf(const std::string& key) const;
  std::string dir_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_TENSOR_CACHE_H_
