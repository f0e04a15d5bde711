// Content-addressed files: a payload is stored under the lower-case hex of
// its SHA-256 in one directory. Writes go to a temporary file and become
// visible only when committed (fsync, rename, fsync of the directory), so a
// crash never leaves a partial blob under a digest name. Thread-safe: each
// writer owns its own temporary file.
#ifndef TVERR_COMMON_STORE_BLOB_STORE_H_
#define TVERR_COMMON_STORE_BLOB_STORE_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/sha256.h"

namespace tverr::store {

class BlobWriter;

class BlobStore {
 public:
  // Uses (and creates) `dir`; leftover temporary files from a crash are
  // removed.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& dir);

  // Starts a new blob.
  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter();

  // Path of a committed blob; NOT_FOUND if there is none.
  absl::StatusOr<std::string> PathOf(const crypto::Sha256Digest& digest) const;

  const std::string& dir() const { return dir_; }

 private:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

class BlobWriter {
 public:
  ~BlobWriter();  // Removes the temporary file unless committed.
  absl::Status Append(absl::string_view data);
  // Makes the blob durable under `digest`, which the caller has verified to
  // be the SHA-256 of everything appended. An existing blob with the same
  // digest is kept (same content).
  absl::Status Commit(const crypto::Sha256Digest& digest);

 private:
  friend class BlobStore;
  BlobWriter(std::string dir, std::string tmp_path, FILE* file)
      : dir_(std::move(dir)), tmp_path_(std::move(tmp_path)), file_(file) {}
  std::string dir_;
  std::string tmp_path_;
  FILE* file_;
  bool committed_ = false;
};

}  // namespace tverr::store

#endif  // TVERR_COMMON_STORE_BLOB_STORE_H_
