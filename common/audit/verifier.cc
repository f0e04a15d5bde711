#include "common/audit/verifier.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_log.h"
#include "common/audit/fast_record_json.h"
#include "common/audit/line_reader.h"
#include "common/audit/record_json.h"
#include "common/status/status_macros.h"

namespace tverr::audit {
namespace {

std::string RecordName(uint64_t index) {
  return absl::StrCat("record ", index, " (line ", index + 1, ")");
}

// "a..b" for a range of records, or "a" for one.
std::string Range(uint64_t begin, uint64_t end) {
  return end - begin == 1 ? absl::StrCat(begin) : absl::StrCat(begin, "..", end - 1);
}

// previous_leaf_sha256 == HashToHex(leaf), without building the string.
bool IsHexOf(absl::string_view hex, const Hash& leaf) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    if (hex[2 * i] != kHex[leaf[i] >> 4] || hex[2 * i + 1] != kHex[leaf[i] & 0xf]) return false;
  }
  return true;
}

constexpr char kIncomplete[] =
    "is incomplete (no newline at the end of the file): the file was truncated or a write torn";

}  // namespace

LogVerifier::LogVerifier(AuditPublicKey key, VerifyOptions options)
    : key_(std::move(key)), options_(std::move(options)) {}

std::string LogVerifier::HeadName(uint64_t k) const {
  std::string name = absl::StrCat("tree head ", k, " (line ", k + 1);
  if (k < heads_.size() && heads_[k].head.has_value()) {
    const v1::AuditTreeHead& h = *heads_[k].head;
    absl::StrAppend(&name, ", tree size ", h.tree_size());
    if (!h.run_id().empty() || h.round() != 0) absl::StrAppend(&name, ", round ", h.round());
  }
  return absl::StrCat(name, ")");
}

void LogVerifier::AddTreeHeadLine(absl::string_view line, bool complete) {
  const uint64_t k = heads_.size();
  HeadInfo info;
  if (!complete) {
    info.problem = kIncomplete;
  } else {
    absl::StatusOr<v1::AuditTreeHead> head = ParseCanonicalTreeHead(line);
    if (!head.ok()) {
      info.problem = std::string(head.status().message());
    } else {
      if (options_.on_tree_head) options_.on_tree_head(k, *head);
      absl::Status signature = key_.VerifyTreeHead(*head);
      if (!signature.ok()) info.problem = std::string(signature.message());
      info.head = *std::move(head);
    }
  }
  heads_.push_back(std::move(info));
}

void LogVerifier::Fail(std::optional<uint64_t> record, uint64_t suspect_begin, uint64_t suspect_end,
                       std::string message) {
  if (verdict_.has_value()) return;
  VerifyResult result;
  result.ok = false;
  result.first_bad_record = record;
  result.suspect_begin = suspect_begin;
  result.suspect_end = suspect_end;
  result.message = std::move(message);
  verdict_ = std::move(result);
}

void LogVerifier::AddRecordLine(absl::string_view line, bool complete) {
  const uint64_t i = record_lines_++;
  if (verdict_.has_value()) {
    // The verdict stands; a report may still want the records.
    if (options_.on_record && complete) {
      absl::StatusOr<v1::AuditRecord> record = ParseCanonicalRecord(line);
      if (record.ok()) options_.on_record(i, *record);
    }
    return;
  }
  leaves_.push_back(LeafHash(line));

  RecordInfo info;
  std::string problem;
  if (!complete) {
    problem = kIncomplete;
  } else {
    // The fast path reuses record_; protobuf judges whatever it declines.
    const v1::AuditRecord* record = &record_;
    absl::StatusOr<v1::AuditRecord> parsed;
    if (!internal::FastParseCanonicalRecord(line, &record_, &scratch_)) {
      parsed = ParseCanonicalRecord(line);
      record = parsed.ok() ? &*parsed : nullptr;
    }
    if (record == nullptr) {
      problem = absl::IsInvalidArgument(parsed.status())
                    ? absl::StrCat("is not a valid record: ", parsed.status().message())
                    : absl::StrCat("was altered: ", parsed.status().message());
    } else {
      if (options_.on_record) options_.on_record(i, *record);
      if (record->schema_version() != kSchemaVersion) {
        problem = absl::StrCat("has schema version ", record->schema_version(), ", expected ",
                               kSchemaVersion);
      } else {
        info.parsed = true;
        info.sequence = record->sequence();
        info.previous = record->previous_leaf_sha256();
        info.links = i == 0 ? info.previous.empty() : IsHexOf(info.previous, leaves_[i - 1]);
      }
    }
  }

  if (pending_ != Pending::kNone) {
    ResolvePending(info.parsed ? &info : nullptr);
    if (verdict_.has_value()) return;
  }
  if (!problem.empty()) {
    Fail(i, i, i + 1, absl::StrCat(RecordName(i), " ", problem));
    return;
  }
  Judge(i, info);
}

// Record i parsed; records before it are in order and linked.
void LogVerifier::Judge(uint64_t i, const RecordInfo& info) {
  if (info.sequence != i) {
    const std::string holds =
        absl::StrCat(RecordName(i), " holds sequence ", info.sequence, ", expected ", i, ": ");
    if (info.sequence > i) {
      // Records deleted, or this record's number altered: the next tells.
      pending_ = Pending::kSequenceAhead;
      pending_index_ = i;
      pending_sequence_ = info.sequence;
    } else if (info.sequence + 1 == i) {
      // Two lines claim sequence i-1: which one the next record links to
      // tells the inserted one from the original.
      pending_ = Pending::kRepeatedSequence;
      pending_index_ = i;
    } else {
      Fail(i, i, i + 1,
           absl::StrCat(holds, "a copy of an earlier record was inserted, or a record moved here"));
    }
    return;
  }
  if (info.links) return;
  if (i == 0) {
    Fail(0, 0, 1,
         absl::StrCat(RecordName(0),
                      " has a previous_leaf_sha256, which the first record never has: it was "
                      "altered, or records before it were deleted"));
  } else if (!HashFromHex(info.previous).ok()) {
    Fail(i, i, i + 1,
         absl::StrCat(RecordName(i), " was altered: its previous_leaf_sha256 is not a hash"));
  } else {
    // Either record i-1 changed after record i was written, or record i
    // itself changed: the next record tells.
    pending_ = Pending::kChainBreak;
    pending_index_ = i;
    pending_previous_ = info.previous;
  }
}

void LogVerifier::ResolvePending(const RecordInfo* next) {
  const uint64_t i = pending_index_;
  const Pending pending = pending_;
  pending_ = Pending::kNone;
  if (pending == Pending::kSequenceAhead) {
    const uint64_t s = pending_sequence_;
    const std::string holds =
        absl::StrCat(RecordName(i), " holds sequence ", s, ", expected ", i, ": ");
    if (next != nullptr && next->sequence == i + 1) {
      Fail(i, i, i + 1,
           absl::StrCat(holds, "it was altered (the record after it holds ", i + 1, ")"));
    } else {
      Fail(i, i, i + 1,
           absl::StrCat(holds, s == i + 1 ? "record " : "records ", Range(i, s),
                        s == i + 1 ? " was" : " were", " deleted or moved"));
    }
    return;
  }
  if (pending == Pending::kRepeatedSequence) {
    if (next == nullptr) {
      Fail(std::nullopt, i - 1, i + 1,
           absl::StrCat(RecordName(i - 1), " and ", RecordName(i), " both hold sequence ", i - 1,
                        ": one of them was inserted (no later record tells which)"));
    } else if (next->links) {
      Fail(i - 1, i - 1, i,
           absl::StrCat(RecordName(i - 1), " was inserted: ", RecordName(i),
                        " holds the same sequence ", i - 1, " and is the one record ", i + 1,
                        " links to"));
    } else {
      Fail(i, i, i + 1,
           absl::StrCat(RecordName(i), " repeats sequence ", i - 1,
                        " of the line before it: it was inserted or duplicated"));
    }
    return;
  }

  // A chain break at record i.
  if (next != nullptr) {
    if (next->links) {
      Fail(i - 1, i - 1, i,
           absl::StrCat(RecordName(i - 1),
                        " was altered: its leaf hash is not the "
                        "previous_leaf_sha256 held by record ",
                        i, ", which is intact (record ", i + 1, " links to it)"));
    } else {
      Fail(i, i, i + 1,
           absl::StrCat(RecordName(i), " was altered: it does not link to record ", i - 1,
                        ", and record ", i + 1, " does not link to it"));
    }
    return;
  }
  // Nothing after record i links to it. A signed head covering record i
  // tells: with record i-1's leaf replaced by the hash record i names, the
  // root matches iff record i is as signed (and so record i-1 was altered).
  absl::StatusOr<Hash> claimed = HashFromHex(pending_previous_);
  for (uint64_t k = 0; claimed.ok() && k < heads_.size(); ++k) {
    const HeadInfo& h = heads_[k];
    if (!h.problem.empty() || h.head->tree_size() <= i) continue;
    if (h.head->tree_size() > leaves_.size()) break;
    CompactRange range;
    for (uint64_t j = 0; j < h.head->tree_size(); ++j) {
      range.Append(j == i - 1 ? *claimed : leaves_[j]);
    }
    if (HashToHex(range.Root()) == h.head->root_sha256()) {
      Fail(i - 1, i - 1, i,
           absl::StrCat(RecordName(i - 1),
                        " was altered: its leaf hash is not the "
                        "previous_leaf_sha256 held by record ",
                        i, ", and ", HeadName(k), " matches the log with the hash record ", i,
                        " names (so record ", i, " is as signed)"));
    } else {
      Fail(std::nullopt, i - 1, i + 1,
           absl::StrCat(RecordName(i), " does not link to record ", i - 1, ", and ", HeadName(k),
                        " matches neither: record ", i, " was altered (record ", i - 1,
                        " perhaps too)"));
      verdict_->bad_tree_head = k;
    }
    return;
  }
  Fail(std::nullopt, i - 1, i + 1,
       absl::StrCat(RecordName(i), " does not link to record ", i - 1,
                    ": one of the two was altered (nothing after record ", i,
                    " and no tree head tells which)"));
}

void LogVerifier::CheckTreeHeads() {
  const uint64_t n = record_lines_;
  CompactRange range;
  uint64_t previous_size = 0;
  for (uint64_t k = 0; k < heads_.size(); ++k) {
    const HeadInfo& h = heads_[k];
    if (!h.problem.empty()) {
      Fail(std::nullopt, 0, 0, absl::StrCat(HeadName(k), ": ", h.problem));
      verdict_->bad_tree_head = k;
      return;
    }
    const uint64_t size = h.head->tree_size();
    if (size < previous_size) {
      Fail(std::nullopt, 0, 0,
           absl::StrCat(HeadName(k), ": tree size ", size, " is below the ", previous_size,
                        " of the tree head before it (tree heads reordered or replaced)"));
      verdict_->bad_tree_head = k;
      return;
    }
    if (size > n) {
      Fail(n, n, size,
           absl::StrCat("records ", Range(n, size), " covered by ", HeadName(k),
                        " are missing: records.jsonl holds ", n,
                        " records (truncated, or records deleted at its end)"));
      verdict_->bad_tree_head = k;
      return;
    }
    while (range.size() < size) range.Append(leaves_[range.size()]);
    if (HashToHex(range.Root()) != h.head->root_sha256()) {
      if (size == previous_size) {
        Fail(std::nullopt, 0, 0,
             absl::StrCat(HeadName(k), ": its root does not match records 0..", size - 1,
                          ", which the tree head before it (of the same size) does match"));
      } else if (size - previous_size == 1) {
        Fail(size - 1, size - 1, size,
             absl::StrCat(RecordName(size - 1), " was altered: ", HeadName(k),
                          " covers it and its root does not match, while the tree head "
                          "before it matches records before it"));
      } else {
        // The chain is intact, so the altered records are a suffix of the
        // file: if record j were altered and record j+1 not, record j+1
        // would not link to it. The suffix starts in this head's range.
        Fail(std::nullopt, previous_size, size,
             absl::StrCat("records ", Range(previous_size, size), " covered by ", HeadName(k),
                          " do not hash to its root (the heads before it match). The "
                          "previous_leaf_sha256 chain is intact, so record ",
                          size - 1,
                          " was certainly altered, as was every record from the first altered "
                          "one (in ",
                          Range(previous_size, size),
                          ") to the end of the log: the chain was rewritten"));
      }
      verdict_->bad_tree_head = k;
      return;
    }
    previous_size = size;
  }
}

VerifyResult LogVerifier::Finish() {
  if (pending_ != Pending::kNone) ResolvePending(nullptr);
  if (!verdict_.has_value()) CheckTreeHeads();
  VerifyResult result;
  if (verdict_.has_value()) {
    result = *verdict_;
  } else {
    result.ok = true;
    result.covered_records = heads_.empty() ? 0 : heads_.back().head->tree_size();
    result.uncovered_records = record_lines_ - result.covered_records;
    result.message =
        absl::StrCat("verified: ", record_lines_, " records, ", heads_.size(), " tree heads");
    if (!heads_.empty()) {
      absl::StrAppend(&result.message, "; records 0..",
                      static_cast<int64_t>(result.covered_records) - 1, " covered by ",
                      HeadName(heads_.size() - 1));
    }
    if (result.uncovered_records > 0) {
      absl::StrAppend(&result.message, "; ", result.uncovered_records,
                      " record(s) after it not yet covered by a tree head");
    }
  }
  result.records = record_lines_;
  result.tree_heads = heads_.size();
  return result;
}

absl::StatusOr<VerifyResult> VerifyLogDirectory(const std::string& dir,
                                                absl::string_view public_key_pem,
                                                VerifyOptions options) {
  ASSIGN_OR_RETURN(AuditPublicKey key, AuditPublicKey::FromPem(public_key_pem));
  LogVerifier verifier(std::move(key), std::move(options));
  internal::Line line;
  {
    ASSIGN_OR_RETURN(auto heads,
                     internal::LineReader::Open(absl::StrCat(dir, "/", kTreeHeadsFile)));
    while (true) {
      ASSIGN_OR_RETURN(bool more, heads->Next(&line));
      if (!more) break;
      verifier.AddTreeHeadLine(line.text, line.complete);
    }
  }
  ASSIGN_OR_RETURN(auto records, internal::LineReader::Open(absl::StrCat(dir, "/", kRecordsFile)));
  while (true) {
    ASSIGN_OR_RETURN(bool more, records->Next(&line));
    if (!more) break;
    verifier.AddRecordLine(line.text, line.complete);
  }
  return verifier.Finish();
}

}  // namespace tverr::audit
