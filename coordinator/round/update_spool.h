// The bytes of the updates of the round in progress, kept on disk until the
// round ends, so that the aggregate can be rebuilt when an update that was
// already partly folded into the running sum breaks off (see aggregator.h:
// folded values cannot be taken out again).
//
// Files are plain (not fsynced: they matter only while the coordinator
// runs), one per update, named by round and a hash of the node identity;
// Clear() removes them, and Open() removes leftovers of an earlier process.
// Disk use: the sum of the round's update sizes (docs/rounds.md).
// Thread-safe: writers are independent; Clear() must not race a writer of
// the same round (the round manager calls it between rounds).
#ifndef TVERR_COORDINATOR_ROUND_UPDATE_SPOOL_H_
#define TVERR_COORDINATOR_ROUND_UPDATE_SPOOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tverr::coordinator {

class UpdateSpool {
 public:
  // One update being written. Destruction without Keep() removes the file.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    // Appends the next piece of the update. An error (e.g. disk full) is
    // sticky; the update then cannot be rebuilt from the spool.
    absl::Status Append(absl::string_view piece);
    // The update is complete: keeps the file for Read().
    absl::Status Keep();

   private:
    friend class UpdateSpool;
    Writer(int fd, std::string part_path, std::string path)
        : fd_(fd), part_path_(std::move(part_path)), path_(std::move(path)) {}
    int fd_;
    std::string part_path_;
    std::string path_;
    absl::Status error_;
  };

  // Uses (creating) `dir` and removes what an earlier process left there.
  static absl::StatusOr<std::unique_ptr<UpdateSpool>> Open(const std::string& dir);

  // Starts `node`'s update of `round` (replacing an unfinished one).
  absl::StatusOr<std::unique_ptr<Writer>> Create(const std::string& node, uint64_t round);

  // Feeds a kept update to `sink` in pieces of at most `piece_bytes`.
  // NOT_FOUND if no complete update of `node` in `round` is kept; the
  // sink's first error is returned.
  absl::Status Read(const std::string& node, uint64_t round, size_t piece_bytes,
                    const std::function<absl::Status(absl::string_view)>& sink) const;

  // Removes every spooled update.
  void Clear();

 private:
  explicit UpdateSpool(std::string dir) : dir_(std::move(dir)) {}
  std::string PathFor(const std::string& node, uint64_t round) const;
  const std::string dir_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_ROUND_UPDATE_SPOOL_H_
