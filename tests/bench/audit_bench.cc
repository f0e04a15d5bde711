// Audit log benchmark (common/audit), each figure next to a reference
// measured in the same run on the same disk:
//
// (a) durable appends with group commit per round: `records_per_round`
//     Append calls, one Sync, one SignTreeHead (durable too), for `rounds`
//     rounds. Reference: the same record lines and tree head lines written
//     with write(2) to two plain files in the same batches, each batch
//     followed by fdatasync, alternating round by round with the log's.
//     Also one fsync per record (AppendDurable) as the worst case.
// (b) offline verification of a log of `verify_records` records with a
//     tree head every `records_per_head` (VerifyLogDirectory), and opening
//     it (AuditLog::Open). Reference: reading records.jsonl and computing
//     the SHA-256 leaf hash of every line, which any verifier must do.
//
// Files go to a fresh directory under --tmp_dir, deleted at the end.
// Build it on demand: cmake --build <dir> --target audit_bench.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit_key.h"
#include "common/audit/audit_log.h"
#include "common/audit/merkle.h"
#include "common/audit/record_json.h"
#include "common/audit/verifier.h"

ABSL_FLAG(int, rounds, 50, "(a) rounds of durable appends");
ABSL_FLAG(int, records_per_round, 100, "(a) records per round (one fsync per round)");
ABSL_FLAG(int, single_durable, 500, "(a) records appended with one fsync each");
ABSL_FLAG(int, verify_records, 1000000, "(b) records in the log that is verified");
ABSL_FLAG(int, records_per_head, 100, "(b) records per tree head");
ABSL_FLAG(std::string, tmp_dir, "", "where the scratch directory goes (default $TMPDIR or /tmp)");

namespace {

using Clock = std::chrono::steady_clock;
namespace audit = tverr::audit;
namespace v1 = tverr::v1;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <typename T>
T Check(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "audit_bench: %s: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(value);
}

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "audit_bench: %s: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

// A typical coordinator record: an update accepted in a round.
v1::AuditRecord UpdateAccepted(uint64_t i) {
  v1::AuditRecord r;
  r.set_event(v1::UPDATE_ACCEPTED);
  r.mutable_actor()->set_identity(absl::StrCat("fl://nordic/node/hospital-", i % 20));
  r.mutable_actor()->set_certificate_sha256(
      audit::HashToHex(audit::LeafHash(absl::StrCat(i % 20))));
  r.set_run_id(audit::HashToHex(audit::LeafHash("run")));
  r.set_round(1 + i / 100);
  r.mutable_hashes()->set_global_before(audit::HashToHex(audit::LeafHash(absl::StrCat(i / 100))));
  r.mutable_hashes()->set_update(audit::HashToHex(audit::LeafHash(absl::StrCat(i))));
  r.set_outcome(v1::SUCCESS);
  r.set_bytes(4 * 1000000 + i);
  r.set_samples(1200 + i % 300);
  return r;
}

struct Scratch {
  explicit Scratch(std::string base) {
    if (base.empty()) base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
    std::string tmpl = base + "/tverr-audit-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    path = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

int OpenAppend(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  return fd;
}

void WriteOrDie(int fd, const std::string& data) {
  if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    std::perror("write");
    std::exit(1);
  }
}

void SyncOrDie(int fd) {
  if (fdatasync(fd) != 0) {
    std::perror("fdatasync");
    std::exit(1);
  }
}

// (a) Durable appends.
void BenchAppends(const std::string& base, const audit::AuditKey& key) {
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int per_round = absl::GetFlag(FLAGS_records_per_round);
  const uint64_t total = static_cast<uint64_t>(rounds) * per_round;

  audit::AuditLogOptions options;
  options.key = &key;
  auto log = Check(audit::AuditLog::Open(base + "/appends", options), "open");
  const int records_fd = OpenAppend(base + "/ref-records");
  const int heads_fd = OpenAppend(base + "/ref-heads");
  const std::string head_line(340, 'h');  // a tree head line is ~340 bytes
  size_t line_bytes = 0;
  // The log's rounds and the reference's alternate, so that both see the
  // same disk: other processes' I/O comes and goes.
  double log_seconds = 0, ref_seconds = 0;
  for (int r = 0; r < rounds; ++r) {
    auto start = Clock::now();
    for (int i = 0; i < per_round; ++i) {
      Check(log->Append(UpdateAccepted(log->size())), "append");
    }
    Check(log->Sync(), "sync");
    Check(log->SignTreeHead("run", r + 1), "sign");
    log_seconds += Seconds(start);

    // The same bytes, written plainly.
    std::vector<std::string> lines =
        Check(log->Read(static_cast<uint64_t>(r) * per_round, per_round), "read");
    for (std::string& line : lines) line.push_back('\n');
    line_bytes = lines[0].size() - 1;
    start = Clock::now();
    for (const std::string& line : lines) WriteOrDie(records_fd, line);
    SyncOrDie(records_fd);
    WriteOrDie(heads_fd, head_line + "\n");
    SyncOrDie(heads_fd);
    ref_seconds += Seconds(start);
  }
  log.reset();
  close(records_fd);
  close(heads_fd);

  const int single = absl::GetFlag(FLAGS_single_durable);
  auto single_log = Check(audit::AuditLog::Open(base + "/single", options), "open");
  const auto start = Clock::now();
  for (int i = 0; i < single; ++i) Check(single_log->AppendDurable(UpdateAccepted(i)), "append");
  const double single_seconds = Seconds(start);
  single_log.reset();

  std::printf("(a) durable appends, %d rounds x %d records, fsync + signed tree head per round\n",
              rounds, per_round);
  std::printf("    record line: %zu bytes\n", line_bytes);
  std::printf("    %-52s %10.0f records/s  (%.2f ms per round)\n",
              "AuditLog: Append x N, Sync, SignTreeHead", total / log_seconds,
              1000 * log_seconds / rounds);
  std::printf("    %-52s %10.0f records/s  (%.2f ms per round)\n",
              "reference: write(2) x N, fdatasync, head, fdatasync", total / ref_seconds,
              1000 * ref_seconds / rounds);
  std::printf("    %-52s %10.0f records/s\n", "AuditLog: AppendDurable (one fsync each)",
              single / single_seconds);
}

// (b) Verification of a large log.
void BenchVerify(const std::string& base, const audit::AuditKey& key) {
  const int n = absl::GetFlag(FLAGS_verify_records);
  const int per_head = absl::GetFlag(FLAGS_records_per_head);
  const std::string dir = base + "/large";
  {
    audit::AuditLogOptions options;
    options.key = &key;
    auto log = Check(audit::AuditLog::Open(dir, options), "open");
    const auto start = Clock::now();
    for (int i = 0; i < n; ++i) {
      Check(log->Append(UpdateAccepted(i)), "append");
      if ((i + 1) % per_head == 0 || i + 1 == n)
        Check(log->SignTreeHead("run", i / per_head + 1), "sign");
    }
    std::printf("(b) log of %d records, a tree head every %d: written in %.1f s\n", n, per_head,
                Seconds(start));
  }
  const uint64_t bytes = std::filesystem::file_size(dir + "/" + audit::kRecordsFile);

  // Reference first, so that both read from the page cache.
  auto start = Clock::now();
  uint64_t lines = 0;
  {
    const int fd = open((dir + "/" + audit::kRecordsFile).c_str(), O_RDONLY | O_CLOEXEC);
    std::string buffer(1 << 20, '\0');
    std::string carry;
    ssize_t got;
    volatile uint8_t sink = 0;  // keeps the hashes from being optimised away
    while ((got = read(fd, buffer.data(), buffer.size())) > 0) {
      carry.append(buffer.data(), static_cast<size_t>(got));
      size_t begin = 0, nl;
      while ((nl = carry.find('\n', begin)) != std::string::npos) {
        const audit::Hash leaf =
            audit::LeafHash(absl::string_view(carry.data() + begin, nl - begin));
        sink = sink ^ leaf[0];
        ++lines;
        begin = nl + 1;
      }
      carry.erase(0, begin);
    }
    close(fd);
  }
  const double ref_seconds = Seconds(start);

  start = Clock::now();
  const audit::VerifyResult result =
      Check(audit::VerifyLogDirectory(dir, key.public_key_pem()), "verify");
  const double verify_seconds = Seconds(start);
  if (!result.ok || lines != static_cast<uint64_t>(n)) {
    std::fprintf(stderr, "audit_bench: verification failed: %s\n", result.message.c_str());
    std::exit(1);
  }

  start = Clock::now();
  { auto log = Check(audit::AuditLog::Open(dir, {}), "reopen"); }
  const double open_seconds = Seconds(start);

  std::printf("    records.jsonl: %.1f MB, %llu tree heads\n", bytes / 1e6,
              static_cast<unsigned long long>(result.tree_heads));
  std::printf("    %-52s %10.0f records/s  (%.2f s)\n",
              "VerifyLogDirectory (all checks, signatures)", n / verify_seconds, verify_seconds);
  std::printf("    %-52s %10.0f records/s  (%.2f s)\n", "AuditLog::Open (checks, repairs, tree)",
              n / open_seconds, open_seconds);
  std::printf("    %-52s %10.0f records/s  (%.2f s)\n",
              "reference: read + SHA-256 leaf hash per line", n / ref_seconds, ref_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  Scratch scratch(absl::GetFlag(FLAGS_tmp_dir));
  auto key = Check(
      audit::AuditKey::Generate(scratch.path + "/audit.key", scratch.path + "/audit.pub"), "key");
  BenchAppends(scratch.path, *key);
  std::fflush(stdout);
  BenchVerify(scratch.path, *key);
  return 0;
}
