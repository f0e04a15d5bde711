// A node's receipts: the signed audit tree heads the coordinator sends
// after each round the node took part in (v1::AuditTreeHead). The keeper
// pins the coordinator's audit public key on first use, checks every new
// head's signature against it, and asks the coordinator for an RFC 6962
// consistency proof from the last head it kept: a log that was only
// appended to always has one. A failed check halts the node: it takes part
// in nothing more until its operator looks into it, and says why.
//
// Files in `dir`: receipts.jsonl (one head per line, fsync'd), audit-key.pem
// (the pinned public key), halted (the reason, when halted). Thread-safe.
#ifndef TVERR_NODE_DAEMON_RECEIPT_KEEPER_H_
#define TVERR_NODE_DAEMON_RECEIPT_KEEPER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tverr/v1/audit.pb.h"
#include "tverr/v1/node.pb.h"

namespace tverr::node {

class ReceiptKeeper {
 public:
  // Asks the coordinator for the consistency proof between two sizes.
  using ProofFetcher = std::function<absl::StatusOr<v1::AuditConsistencyResponse>(
      uint64_t first_size, uint64_t second_size)>;

  // Reads what `dir` holds (creating it). DATA_LOSS if a kept receipt does
  // not parse.
  static absl::StatusOr<std::unique_ptr<ReceiptKeeper>> Open(const std::string& dir);

  // Checks `head` and keeps it. UNAUTHENTICATED / DATA_LOSS (and halted)
  // when the head is not signed by the pinned key, the key changed, the
  // tree shrank, or the proof does not show that the new head extends the
  // last one; UNAVAILABLE (not halted) when the proof could not be fetched.
  absl::Status Receive(const v1::AuditTreeHead& head, const ProofFetcher& fetch);

  // Why the node stopped taking part; empty while it has not.
  std::string halted() const;
  // The last head kept, if any.
  std::optional<v1::AuditTreeHead> last() const;

 private:
  explicit ReceiptKeeper(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Halt(absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  mutable absl::Mutex mu_;
  std::optional<v1::AuditTreeHead> last_ ABSL_GUARDED_BY(mu_);
  std::string pinned_key_pem_ ABSL_GUARDED_BY(mu_);
  std::string halted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DAEMON_RECEIPT_KEEPER_H_
