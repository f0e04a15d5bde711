#include "common/audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/fast_record_json.h"
#include "common/audit/file_util.h"
#include "common/audit/line_reader.h"
#include "common/audit/record_json.h"
#include "common/status/status_macros.h"

namespace tverr::audit {
namespace {

using internal::ErrnoStatus;

std::string Join(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name);
}

// A run of damaged lines at the end of a file (see TornTail): where it
// starts, and why its first line is damaged.
struct Damage {
  uint64_t index = 0;  // 0-based line index
  uint64_t lines = 0;
  std::string reason;
};

// What scanning one of the two files found.
struct Scan {
  uint64_t good_end = 0;  // byte offset just after the last intact line
  std::optional<Damage> damage;
};

// "<what> i (line i+1)".
std::string Where(absl::string_view what, uint64_t index) {
  return absl::StrCat(what, " ", index, " (line ", index + 1, ")");
}

// Reads records.jsonl, appending each intact record's leaf to `tree` and
// its line offset to `offsets`. DATA_LOSS for a damaged record followed by
// an intact one, or an intact but wrong one (not canonical, wrong sequence,
// broken chain, wrong schema version).
absl::StatusOr<Scan> ScanRecords(const std::string& path, MerkleTree* tree,
                                 std::vector<uint64_t>* offsets) {
  ASSIGN_OR_RETURN(auto reader, internal::LineReader::Open(path));
  Scan scan;
  internal::Line line;
  uint64_t index = 0;
  v1::AuditRecord reused;  // the fast path parses into it: few allocations
  std::string scratch;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    // OK and the record, or INVALID_ARGUMENT (not a record), or DATA_LOSS
    // (a record, not canonical).
    absl::Status status = absl::OkStatus();
    const v1::AuditRecord* record = &reused;
    absl::StatusOr<v1::AuditRecord> parsed;
    if (!line.complete) {
      status = absl::InvalidArgumentError("incomplete last line (no newline)");
    } else if (!internal::FastParseCanonicalRecord(line.text, &reused, &scratch)) {
      parsed = ParseCanonicalRecord(line.text);
      status = parsed.status();
      if (parsed.ok()) record = &*parsed;
    }
    const bool is_record = line.complete && (status.ok() || absl::IsDataLoss(status));
    if (scan.damage.has_value()) {
      if (is_record) {
        return absl::DataLossError(absl::StrCat(Where("record", scan.damage->index), ": ",
                                                scan.damage->reason, "; intact records follow it"));
      }
      ++scan.damage->lines;
      ++index;
      continue;
    }
    if (!is_record) {
      scan.damage = Damage{index, 1, std::string(status.message())};
      ++index;
      continue;
    }
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat(Where("record", index), ": ", status.message()));
    }
    if (record->schema_version() != kSchemaVersion) {
      return absl::DataLossError(absl::StrCat(Where("record", index), ": schema version ",
                                              record->schema_version(), ", expected ",
                                              kSchemaVersion));
    }
    if (record->sequence() != index) {
      return absl::DataLossError(absl::StrCat(Where("record", index), ": sequence ",
                                              record->sequence(), ", expected ", index));
    }
    const std::string expected_previous = index == 0 ? "" : HashToHex(tree->leaf(index - 1));
    if (record->previous_leaf_sha256() != expected_previous) {
      return absl::DataLossError(absl::StrCat(
          Where("record", index), ": previous_leaf_sha256 does not match record ", index - 1));
    }
    tree->Append(LeafHash(line.text));
    offsets->push_back(line.offset);
    scan.good_end = line.offset + line.text.size() + 1;
    ++index;
  }
  return scan;
}

// Reads tree-heads.jsonl and checks each head against the records' tree.
absl::StatusOr<Scan> ScanTreeHeads(const std::string& path, const MerkleTree& tree,
                                   std::vector<v1::AuditTreeHead>* heads) {
  ASSIGN_OR_RETURN(auto reader, internal::LineReader::Open(path));
  Scan scan;
  internal::Line line;
  uint64_t index = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    absl::StatusOr<v1::AuditTreeHead> head =
        line.complete ? ParseCanonicalTreeHead(line.text)
                      : absl::InvalidArgumentError("incomplete last line (no newline)");
    const bool is_head = line.complete && (head.ok() || absl::IsDataLoss(head.status()));
    if (scan.damage.has_value()) {
      if (is_head) {
        return absl::DataLossError(absl::StrCat(Where("tree head", scan.damage->index), ": ",
                                                scan.damage->reason,
                                                "; intact tree heads follow it"));
      }
      ++scan.damage->lines;
      ++index;
      continue;
    }
    if (!is_head) {
      scan.damage = Damage{index, 1, std::string(head.status().message())};
      ++index;
      continue;
    }
    if (!head.ok()) {
      return absl::DataLossError(
          absl::StrCat(Where("tree head", index), ": ", head.status().message()));
    }
    if (!heads->empty() && head->tree_size() < heads->back().tree_size()) {
      return absl::DataLossError(absl::StrCat(Where("tree head", index), ": tree size ",
                                              head->tree_size(), " is below the previous ",
                                              heads->back().tree_size()));
    }
    if (head->tree_size() > tree.size()) {
      const uint64_t missing = head->tree_size() - tree.size();
      return absl::DataLossError(absl::StrCat(
          Where("tree head", index), " covers ", head->tree_size(), " records but only ",
          tree.size(), " are intact: ",
          missing == 1 ? absl::StrCat("record ", tree.size(), " is")
                       : absl::StrCat("records ", tree.size(), "..", head->tree_size() - 1, " are"),
          " missing or damaged"));
    }
    absl::StatusOr<Hash> root = tree.RootAt(head->tree_size());
    if (!root.ok() || HashToHex(*root) != head->root_sha256()) {
      return absl::DataLossError(absl::StrCat(Where("tree head", index),
                                              ": root does not match records 0..",
                                              static_cast<int64_t>(head->tree_size()) - 1));
    }
    heads->push_back(*std::move(head));
    scan.good_end = line.offset + line.text.size() + 1;
    ++index;
  }
  return scan;
}

// Copies the bytes after scan.good_end to "<path>.torn-<k>" (the first
// unused k >= 1), durably, then cuts the file back to scan.good_end.
absl::StatusOr<AuditLogOpenReport::TornTail> MoveTailAside(const std::string& path,
                                                           absl::string_view name, int fd,
                                                           const Scan& scan) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("cannot stat", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string tail(size - scan.good_end, '\0');
  size_t done = 0;
  while (done < tail.size()) {
    const ssize_t n =
        pread(fd, tail.data() + done, tail.size() - done, static_cast<off_t>(scan.good_end + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("cannot read the torn tail of", path);
    done += static_cast<size_t>(n);
  }
  AuditLogOpenReport::TornTail torn;
  torn.file = std::string(name);
  torn.first_line = scan.damage->index + 1;
  torn.lines = scan.damage->lines;
  torn.bytes = tail.size();
  for (int k = 1;; ++k) {
    torn.moved_to = absl::StrCat(path, ".torn-", k);
    absl::Status status = internal::WriteNewFileDurably(torn.moved_to, tail, 0640);
    if (status.ok()) break;
    if (!absl::IsAlreadyExists(status)) return status;
  }
  if (ftruncate(fd, static_cast<off_t>(scan.good_end)) != 0) {
    return ErrnoStatus("cannot truncate", path);
  }
  if (fsync(fd) != 0) return ErrnoStatus("cannot fsync", path);
  return torn;
}

// `status` with "<path>: " in front of its message.
absl::Status InFile(const absl::Status& status, const std::string& path) {
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

// Opens (creating if needed) one of the log's files for appending.
absl::StatusOr<int> OpenForAppend(const std::string& path, bool* created) {
  int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd >= 0) *created = true;
  }
  if (fd < 0) return ErrnoStatus("cannot open", path);
  return fd;
}

}  // namespace

std::string FormatAuditTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string AuditLogOpenReport::ToString() const {
  std::string out = absl::StrCat(created ? "created" : "opened", " audit log: ", records,
                                 " records, ", tree_heads, " tree heads");
  for (const TornTail& t : torn_tails) {
    absl::StrAppend(&out, "; torn tail of ", t.file, " (", t.lines, " line(s) from line ",
                    t.first_line, ", ", t.bytes, " bytes) moved to ", t.moved_to);
  }
  return out;
}

AuditLog::AuditLog(std::string dir, AuditLogOptions options, int records_fd, int heads_fd)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      records_fd_(records_fd),
      heads_fd_(heads_fd) {}

AuditLog::~AuditLog() {
  fdatasync(records_fd_);  // best effort; Sync() is how callers get durability
  close(records_fd_);
  close(heads_fd_);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& dir,
                                                         AuditLogOptions options) {
  if (!options.clock) options.clock = [] { return absl::Now(); };
  AuditLogOpenReport report;
  if (mkdir(dir.c_str(), 0750) == 0) {
    report.created = true;
    RETURN_IF_ERROR(internal::FsyncDirectory(internal::DirName(dir)));
  } else if (errno != EEXIST) {
    return ErrnoStatus("cannot create audit log directory", dir);
  }

  const std::string records_path = Join(dir, kRecordsFile);
  const std::string heads_path = Join(dir, kTreeHeadsFile);
  bool created_file = false;
  ASSIGN_OR_RETURN(int records_fd, OpenForAppend(records_path, &created_file));
  absl::StatusOr<int> heads_fd = OpenForAppend(heads_path, &created_file);
  if (!heads_fd.ok()) {
    close(records_fd);
    return heads_fd.status();
  }
  // From here on the log object owns (and closes) both descriptors.
  std::unique_ptr<AuditLog> log(new AuditLog(dir, std::move(options), records_fd, *heads_fd));
  if (flock(records_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit log ", dir, " is open in another process"));
    }
    return ErrnoStatus("cannot lock", records_path);
  }
  if (created_file) {
    report.created = true;
    if (fsync(records_fd) != 0 || fsync(*heads_fd) != 0) {
      return ErrnoStatus("cannot fsync new files in", dir);
    }
    RETURN_IF_ERROR(internal::FsyncDirectory(dir));
  }

  // Check everything before repairing anything.
  MerkleTree tree;
  std::vector<uint64_t> offsets;
  absl::StatusOr<Scan> record_scan = ScanRecords(records_path, &tree, &offsets);
  if (!record_scan.ok()) return InFile(record_scan.status(), records_path);
  const Scan& records = *record_scan;
  std::vector<v1::AuditTreeHead> heads;
  absl::StatusOr<Scan> heads_scan = ScanTreeHeads(heads_path, tree, &heads);
  if (!heads_scan.ok()) return InFile(heads_scan.status(), heads_path);
  const Scan& head_scan = *heads_scan;
  if (!heads.empty() && log->options_.key != nullptr) {
    const uint64_t k = heads.size() - 1;
    const AuditKey& key = *log->options_.key;
    if (heads.back().key_id() != key.key_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit log ", dir, ": ", Where("tree head", k), " is signed by key ",
                       heads.back().key_id(), ", not by the configured audit key ", key.key_id()));
    }
    ASSIGN_OR_RETURN(AuditPublicKey public_key, AuditPublicKey::FromPem(key.public_key_pem()));
    absl::Status verified = public_key.VerifyTreeHead(heads.back());
    if (!verified.ok()) {
      return absl::DataLossError(
          absl::StrCat("audit log ", dir, ": ", Where("tree head", k), ": ", verified.message()));
    }
  }

  if (records.damage.has_value()) {
    ASSIGN_OR_RETURN(auto torn, MoveTailAside(records_path, kRecordsFile, records_fd, records));
    report.torn_tails.push_back(std::move(torn));
  }
  if (head_scan.damage.has_value()) {
    ASSIGN_OR_RETURN(auto torn, MoveTailAside(heads_path, kTreeHeadsFile, *heads_fd, head_scan));
    report.torn_tails.push_back(std::move(torn));
  }
  // Whatever a crashed process wrote is durable from now on.
  if (fsync(records_fd) != 0) return ErrnoStatus("cannot fsync", records_path);

  report.records = tree.size();
  report.tree_heads = heads.size();
  log->open_report_ = std::move(report);
  {
    absl::MutexLock heads_lock(&log->heads_mu_);
    log->heads_file_size_ = head_scan.good_end;
  }
  {
    absl::MutexLock lock(&log->mu_);
    log->durable_ = tree.size();
    log->tree_ = std::move(tree);
    log->offsets_ = std::move(offsets);
    log->records_file_size_ = records.good_end;
    if (!heads.empty()) log->latest_head_ = std::move(heads.back());
  }
  return log;
}

absl::StatusOr<uint64_t> AuditLog::Append(v1::AuditRecord record) {
  if (record.time().empty()) record.set_time(FormatAuditTime(options_.clock()));
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  const uint64_t sequence = tree_.size();
  record.set_schema_version(kSchemaVersion);
  record.set_sequence(sequence);
  record.set_previous_leaf_sha256(sequence == 0 ? "" : HashToHex(tree_.leaf(sequence - 1)));
  ASSIGN_OR_RETURN(std::string line, RecordToJson(record));
  // Never write a line that Open or the verifier would reject.
  if (absl::Status readable = ParseCanonicalRecord(line).status(); !readable.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit log: record cannot be stored canonically: ", readable.message()));
  }
  const Hash leaf = LeafHash(line);
  line.push_back('\n');
  absl::Status written = internal::WriteAll(records_fd_, line);
  if (!written.ok()) {
    // Cut a partial line off; if even that fails, the file's end is unknown.
    if (ftruncate(records_fd_, static_cast<off_t>(records_file_size_)) != 0) {
      failure_ = absl::InternalError(
          absl::StrCat("audit log ", dir_, ": ", written.message(),
                       "; cannot truncate the partial record: log closed for writing"));
      return failure_;
    }
    return absl::InternalError(absl::StrCat("audit log ", dir_, ": ", written.message()));
  }
  tree_.Append(leaf);
  offsets_.push_back(records_file_size_);
  records_file_size_ += line.size();
  return sequence;
}

absl::Status AuditLog::SyncThrough(uint64_t count) {
  mu_.Lock();
  while (true) {
    if (!failure_.ok() || durable_ >= count) {
      absl::Status status = failure_;
      mu_.Unlock();
      return status;
    }
    if (!syncing_) break;
    mu_.Await(absl::Condition(this, &AuditLog::NotSyncing));
  }
  // This caller runs the fsync for everything written so far; callers that
  // arrive meanwhile wait for it, then for one more if they need it.
  syncing_ = true;
  const uint64_t target = tree_.size();
  mu_.Unlock();
  const int rc = fdatasync(records_fd_);
  const int err = errno;
  mu_.Lock();
  syncing_ = false;
  if (rc != 0) {
    failure_ = absl::InternalError(absl::StrCat(
        "audit log ", dir_, ": fsync failed: ", std::strerror(err), "; log closed for writing"));
  } else {
    durable_ = std::max(durable_, target);
  }
  absl::Status status = failure_;
  mu_.Unlock();
  return status;
}

absl::Status AuditLog::Sync() { return SyncThrough(size()); }

absl::StatusOr<uint64_t> AuditLog::AppendDurable(v1::AuditRecord record) {
  ASSIGN_OR_RETURN(uint64_t sequence, Append(std::move(record)));
  RETURN_IF_ERROR(SyncThrough(sequence + 1));
  return sequence;
}

absl::StatusOr<v1::AuditTreeHead> AuditLog::SignTreeHead(absl::string_view run_id, uint64_t round) {
  absl::MutexLock heads_lock(&heads_mu_);
  if (options_.key == nullptr) {
    return absl::FailedPreconditionError("audit log: no audit key to sign tree heads with");
  }
  const uint64_t tree_size = size();
  RETURN_IF_ERROR(SyncThrough(tree_size));
  v1::AuditTreeHead head;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Hash root, tree_.RootAt(tree_size));
    head.set_root_sha256(HashToHex(root));
  }
  head.set_tree_size(tree_size);
  head.set_time(FormatAuditTime(options_.clock()));
  head.set_run_id(std::string(run_id));
  head.set_round(round);
  RETURN_IF_ERROR(options_.key->SignTreeHead(&head));
  ASSIGN_OR_RETURN(std::string line, TreeHeadToJson(head));
  line.push_back('\n');

  absl::Status status = internal::WriteAll(heads_fd_, line);
  if (!status.ok() && ftruncate(heads_fd_, static_cast<off_t>(heads_file_size_)) == 0) {
    // The partial head is gone: the log can go on.
    return absl::InternalError(absl::StrCat("audit log ", dir_, ": tree head: ", status.message()));
  }
  if (status.ok() && fdatasync(heads_fd_) != 0) {
    status = absl::InternalError(absl::StrCat("fsync failed: ", std::strerror(errno)));
  }
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    failure_ = absl::InternalError(absl::StrCat(
        "audit log ", dir_, ": tree head: ", status.message(), "; log closed for writing"));
    return failure_;
  }
  heads_file_size_ += line.size();
  latest_head_ = head;
  return head;
}

uint64_t AuditLog::size() const {
  absl::MutexLock lock(&mu_);
  return tree_.size();
}

uint64_t AuditLog::durable_size() const {
  absl::MutexLock lock(&mu_);
  return durable_;
}

absl::StatusOr<std::vector<std::string>> AuditLog::Read(uint64_t start, uint64_t max) const {
  absl::MutexLock lock(&mu_);
  if (start > durable_) {
    return absl::OutOfRangeError(
        absl::StrCat("record ", start, " is beyond the ", durable_, " durable records"));
  }
  const uint64_t end = start + std::min(max, durable_ - start);
  std::vector<std::string> lines;
  lines.reserve(end - start);
  for (uint64_t i = start; i < end; ++i) {
    const uint64_t next = i + 1 < offsets_.size() ? offsets_[i + 1] : records_file_size_;
    std::string line(next - offsets_[i] - 1, '\0');  // without the newline
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = pread(records_fd_, line.data() + done, line.size() - done,
                              static_cast<off_t>(offsets_[i] + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::InternalError(absl::StrCat("audit log ", dir_, ": cannot read record ", i));
      }
      done += static_cast<size_t>(n);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

absl::StatusOr<std::vector<Hash>> AuditLog::InclusionProof(uint64_t index,
                                                           uint64_t tree_size) const {
  absl::MutexLock lock(&mu_);
  if (tree_size > durable_) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " exceeds the ", durable_, " durable records"));
  }
  return tree_.InclusionProof(index, tree_size);
}

absl::StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(uint64_t first,
                                                             uint64_t second) const {
  absl::MutexLock lock(&mu_);
  if (second > durable_) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", second, " exceeds the ", durable_, " durable records"));
  }
  return tree_.ConsistencyProof(first, second);
}

absl::StatusOr<Hash> AuditLog::RootAt(uint64_t tree_size) const {
  absl::MutexLock lock(&mu_);
  if (tree_size > durable_) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " exceeds the ", durable_, " durable records"));
  }
  return tree_.RootAt(tree_size);
}

std::optional<v1::AuditTreeHead> AuditLog::LatestTreeHead() const {
  absl::MutexLock lock(&mu_);
  return latest_head_;
}

}  // namespace tverr::audit
