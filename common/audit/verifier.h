// Offline verification of an audit log (docs/audit.md, "Verification"):
// every record line canonical, sequence i on line i+1, schema version 1,
// the previous_leaf_sha256 chain; every tree head canonical, signed by the
// audit key, tree sizes non-decreasing and within the records, each root
// equal to the RFC 6962 root of that many records.
//
// The verdict names the first problem and the record or tree head it
// concerns. Records are numbered by index = sequence (line = index + 1),
// tree heads by their 0-based line index in tree-heads.jsonl. Records are
// judged first (the chain pins an altered record down exactly), then tree
// heads in file order. Records after the last tree head cannot be judged
// against a signature; they are reported as uncovered, which is not an
// error.
//
// Thread-compatible. Memory: 32 bytes per record (the leaf hashes).
#ifndef TVERR_COMMON_AUDIT_VERIFIER_H_
#define TVERR_COMMON_AUDIT_VERIFIER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/audit/audit_key.h"
#include "common/audit/merkle.h"
#include "tverr/v1/audit.pb.h"

namespace tverr::audit {

struct VerifyResult {
  bool ok = false;
  // One line: what is wrong and where, or (when ok) a summary.
  std::string message;

  // The first bad record, when the evidence names it exactly.
  std::optional<uint64_t> first_bad_record;
  // Records [suspect_begin, suspect_end) hold the first bad record: one
  // record when first_bad_record is set, a tree head's range when only the
  // head's root says something is wrong (see docs/audit.md); empty when the
  // problem is a tree head's own (signature, order, format).
  uint64_t suspect_begin = 0;
  uint64_t suspect_end = 0;
  // The tree head concerned, if any (0-based line index).
  std::optional<uint64_t> bad_tree_head;

  uint64_t records = 0;            // record lines read (a damaged one included)
  uint64_t tree_heads = 0;         // tree head lines read
  uint64_t covered_records = 0;    // by the last tree head (verified when ok)
  uint64_t uncovered_records = 0;  // after it: not an error, not yet signed
};

struct VerifyOptions {
  // Called with each record that parses, in order, while verifying (before
  // the verdict is known): lets a report read the log in the same pass.
  // Default: none.
  std::function<void(uint64_t index, const v1::AuditRecord&)> on_record;
  // Called with each tree head that parses, in order. Default: none.
  std::function<void(uint64_t index, const v1::AuditTreeHead&)> on_tree_head;
};

// Verifies a log from its lines: add every tree head line, then every record
// line, in file order, then call Finish once.
class LogVerifier {
 public:
  explicit LogVerifier(AuditPublicKey key, VerifyOptions options = {});

  // `line` without its '\n'; `complete` false for a last line without one.
  void AddTreeHeadLine(absl::string_view line, bool complete);
  void AddRecordLine(absl::string_view line, bool complete);

  VerifyResult Finish();

 private:
  // What one record line held, as far as the judgement needs it.
  struct RecordInfo {
    bool parsed = false;  // a canonical record with the right schema version
    uint64_t sequence = 0;
    bool links = false;    // previous_leaf_sha256 is the leaf of the line before
    std::string previous;  // previous_leaf_sha256 as written
  };
  // A problem at `index` whose culprit depends on the next record.
  enum class Pending { kNone, kChainBreak, kRepeatedSequence, kSequenceAhead };
  struct HeadInfo {
    std::optional<v1::AuditTreeHead> head;
    std::string problem;  // empty if it parses and its signature verifies
  };

  void Judge(uint64_t index, const RecordInfo& info);
  void ResolvePending(const RecordInfo* next);
  void Fail(std::optional<uint64_t> record, uint64_t suspect_begin, uint64_t suspect_end,
            std::string message);
  void CheckTreeHeads();
  std::string HeadName(uint64_t k) const;

  AuditPublicKey key_;
  VerifyOptions options_;
  std::vector<HeadInfo> heads_;
  std::vector<Hash> leaves_;  // of every line judged so far
  uint64_t record_lines_ = 0;
  Pending pending_ = Pending::kNone;
  uint64_t pending_index_ = 0;
  std::string pending_previous_;         // the pending record's previous_leaf_sha256
  uint64_t pending_sequence_ = 0;        // the pending record's sequence
  std::optional<VerifyResult> verdict_;  // the first problem, once known
  v1::AuditRecord record_;               // reused for every line: few allocations
  std::string scratch_;
};

// Verifies <dir>/records.jsonl and <dir>/tree-heads.jsonl against the audit
// public key (SubjectPublicKeyInfo PEM). The verdict is in the result; a
// non-OK status means no verdict: INVALID_ARGUMENT for a bad key PEM,
// NOT_FOUND if a file is missing, INTERNAL on read errors.
absl::StatusOr<VerifyResult> VerifyLogDirectory(const std::string& dir,
                                                absl::string_view public_key_pem,
                                                VerifyOptions options = {});

}  // namespace tverr::audit

#endif  // TVERR_COMMON_AUDIT_VERIFIER_H_
