// The append-only, tamper-evident audit log in one directory (docs/audit.md):
//
//   records.jsonl     one canonical JSON AuditRecord per line (record_json.h)
//   tree-heads.jsonl  one canonical JSON AuditTreeHead per line
//
// Record i has sequence i and carries the leaf hash of record i-1
// (previous_leaf_sha256); its Merkle leaf is SHA-256(0x00 ‖ line without
// the newline). A tree head signs the RFC 6962 root of the first tree_size
// records with the audit key (audit_key.h).
//
// Durability: Append writes the line to the file (it survives a crash of the
// process, not of the machine); Sync fsyncs everything appended so far, so
// many appends share one fsync (group commit); AppendDurable = Append + Sync,
// for a caller that must not acknowledge before the record is on disk.
// Concurrent Sync callers share one fsync. Only durable records are served
// by Read and the proofs. After a failed write or fsync the log refuses all
// further writes (a failed fsync leaves the file's state unknown).
//
// Thread-safe: one mutex guards the state (fsyncs run outside it); a second
// one orders tree heads. One process at a time: Open takes an exclusive
// flock on records.jsonl.
#ifndef TVERR_COMMON_AUDIT_AUDIT_LOG_H_
#define TVERR_COMMON_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/audit/audit_key.h"
#include "common/audit/merkle.h"
#include "common/audit/record_json.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::audit {

inline constexpr char kRecordsFile[] = "records.jsonl";
inline constexpr char kTreeHeadsFile[] = "tree-heads.jsonl";

// RFC 3339 UTC with milliseconds, as records and tree heads hold times:
// "2026-11-26T15:04:05.123Z".
std::string FormatAuditTime(absl::Time t);

struct AuditLogOptions {
  // Signs tree heads; not owned, must outlive the log. If set, the latest
  // tree head found at Open must carry this key's id and verify with it.
  // Default: nullptr (SignTreeHead fails with FAILED_PRECONDITION).
  const AuditKey* key = nullptr;
  // Time for records without one and for tree heads. Default: absl::Now.
  std::function<absl::Time()> clock;
};

// What Open found and repaired; the caller logs ToString() (at WARNING when
// torn_tails is not empty).
struct AuditLogOpenReport {
  // A crash can leave the end of a file half written: an incomplete last
  // line, or lines that are not JSON records, after the last intact one. Such
  // a tail is never accepted and never dropped: its bytes are moved to
  // `moved_to` and the file is cut back to its last intact line.
  struct TornTail {
    std::string file;         // kRecordsFile or kTreeHeadsFile
    std::string moved_to;     // e.g. "<dir>/records.jsonl.torn-1"
    uint64_t first_line = 0;  // 1-based line number where the tail began
    uint64_t lines = 0;       // lines in the tail, the last one maybe incomplete
    uint64_t bytes = 0;
  };

  bool created = false;     // the directory or its files were new
  uint64_t records = 0;     // intact records
  uint64_t tree_heads = 0;  // intact tree heads
  std::vector<TornTail> torn_tails;

  std::string ToString() const;
};

class AuditLog {
 public:
  // Opens the log in `dir`, creating the directory (mode 0750; its parent
  // must exist) and empty files if needed. Reads every record and tree head
  // and checks them: canonical JSON, sequence i on line i+1, schema version,
  // the previous_leaf_sha256 chain, tree sizes non-decreasing and within
  // the records, each head's root equal to the tree's, the latest head
  // signed by options.key (when given). A torn tail is moved aside and
  // reported in open_report().
  //
  // DATA_LOSS naming the record or tree head ("record 17 (line 18): ...")
  // for a damaged record or head before the tail, or a torn tail that a tree
  // head covers (files are left untouched then); FAILED_PRECONDITION if
  // another process has the log open or the latest head is from another
  // key; NOT_FOUND if the parent directory is missing; INTERNAL on I/O
  // errors.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& dir,
                                                        AuditLogOptions options = {});

  // Closes the files after a best-effort fsync of what was appended.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  const AuditLogOpenReport& open_report() const { return open_report_; }
  const std::string& dir() const { return dir_; }

  // Appends `record` after setting schema_version (1), sequence (the next
  // index), previous_leaf_sha256 (the last record's leaf hash) and, when it
  // is empty, time (from the clock). Returns the sequence. The line is
  // written but not yet fsync'd. String fields must be UTF-8 (protobuf drops
  // invalid bytes). INVALID_ARGUMENT if the record's line would not read
  // back as canonical (nothing is written); INTERNAL (and the log stops
  // accepting writes if the file could not be restored) on write errors.
  absl::StatusOr<uint64_t> Append(v1::AuditRecord record);

  // Makes every record appended so far durable: one fsync, shared with
  // concurrent callers. INTERNAL if the fsync fails (the log then refuses
  // further writes).
  absl::Status Sync();

  // Append + Sync: returns once the record is on disk.
  absl::StatusOr<uint64_t> AppendDurable(v1::AuditRecord record);

  // Signs the root of all records appended so far (made durable first) for
  // run `run_id` and round `round` (empty / 0 for heads that close no
  // round), appends the head durably to tree-heads.jsonl and returns it.
  // FAILED_PRECONDITION without a key; INTERNAL on I/O errors.
  absl::StatusOr<v1::AuditTreeHead> SignTreeHead(absl::string_view run_id, uint64_t round);

  // Records appended / made durable so far.
  uint64_t size() const;
  uint64_t durable_size() const;

  // Up to `max` durable records from index `start`, as their canonical lines
  // (no newline): the bytes the leaf hashes cover. Empty at the end;
  // OUT_OF_RANGE if start > durable_size(); INTERNAL on read errors.
  absl::StatusOr<std::vector<std::string>> Read(uint64_t start, uint64_t max) const;

  // RFC 6962 proofs over durable records (merkle.h). OUT_OF_RANGE if a size
  // exceeds durable_size(); INVALID_ARGUMENT for impossible arguments.
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t first, uint64_t second) const;
  // The root of the first `tree_size` durable records.
  absl::StatusOr<Hash> RootAt(uint64_t tree_size) const;

  // The newest tree head (read at Open or signed since), if any.
  std::optional<v1::AuditTreeHead> LatestTreeHead() const;

 private:
  AuditLog(std::string dir, AuditLogOptions options, int records_fd, int heads_fd);

  // Waits until the first `count` records are durable, running the fsync
  // itself if no other caller is.
  absl::Status SyncThrough(uint64_t count) ABSL_LOCKS_EXCLUDED(mu_);
  bool NotSyncing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !syncing_; }

  const std::string dir_;
  const AuditLogOptions options_;
  const int records_fd_;  // O_APPEND; writes under mu_, fsync outside it
  const int heads_fd_;    // O_APPEND; used under heads_mu_
  AuditLogOpenReport open_report_;

  // Held for the whole of SignTreeHead, so heads are written in order.
  // Taken before mu_, never after.
  absl::Mutex heads_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  uint64_t heads_file_size_ ABSL_GUARDED_BY(heads_mu_) = 0;

  mutable absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);           // sticky write/fsync failure
  MerkleTree tree_ ABSL_GUARDED_BY(mu_);                // one leaf per record
  std::vector<uint64_t> offsets_ ABSL_GUARDED_BY(mu_);  // line start per record
  uint64_t records_file_size_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;  // records known fsync'd
  bool syncing_ ABSL_GUARDED_BY(mu_) = false;  // an fsync is running
  std::optional<v1::AuditTreeHead> latest_head_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tverr::audit

#endif  // TVERR_COMMON_AUDIT_AUDIT_LOG_H_
