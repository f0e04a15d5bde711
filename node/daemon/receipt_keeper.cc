#include "node/daemon/receipt_keeper.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit_key.h"
#include "common/audit/merkle.h"
#include "common/status/status_macros.h"

namespace tverr::node {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Appends `line` + '\n' to `path` and fsyncs it.
absl::Status AppendDurably(const std::string& path, const std::string& line, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  const std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return absl::InternalError(absl::StrCat("cannot fsync ", path));
  return absl::OkStatus();
}

std::string ToJson(const v1::AuditTreeHead& head) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(head, &json, options);
  return json;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReceiptKeeper>> ReceiptKeeper::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  auto keeper = std::unique_ptr<ReceiptKeeper>(new ReceiptKeeper(dir));
  absl::MutexLock lock(&keeper->mu_);
  keeper->pinned_key_pem_ = ReadFile(dir + "/audit-key.pem");
  keeper->halted_ = ReadFile(dir + "/halted");
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(ReadFile(dir + "/receipts.jsonl"), '\n')) {
    ++line_number;
    if (line.empty()) continue;
    v1::AuditTreeHead head;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &head).ok()) {
      return absl::DataLossError(
          absl::StrCat(dir, "/receipts.jsonl line ", line_number, " is not a tree head"));
    }
    keeper->last_ = head;
  }
  return keeper;
}

absl::Status ReceiptKeeper::Halt(absl::Status why) {
  halted_ = std::string(why.message());
  LOG(ERROR) << "this node stops taking part in the federation: " << halted_;
  (void)AppendDurably(dir_ + "/halted", halted_, 0644);
  return why;
}

absl::Status ReceiptKeeper::Receive(const v1::AuditTreeHead& head, const ProofFetcher& fetch) {
  absl::MutexLock lock(&mu_);
  if (!halted_.empty()) return absl::FailedPreconditionError(absl::StrCat("halted: ", halted_));
  const uint64_t first = last_ ? last_->tree_size() : 0;
  const std::string what = absl::StrCat("receipt for run ", head.run_id().substr(0, 12),
                                        " round ", head.round(), " (tree size ",
                                        head.tree_size(), ")");
  if (last_ && head.tree_size() < first) {
    return Halt(absl::DataLossError(absl::StrCat(what, ": the audit log shrank from ", first,
                                                 " records: its history was rewritten")));
  }
  absl::StatusOr<v1::AuditConsistencyResponse> proof = fetch(first, head.tree_size());
  if (!proof.ok()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": no consistency proof: ", proof.status().message()));
  }
  // The audit key: pinned the first time, never allowed to change.
  if (pinned_key_pem_.empty()) {
    RETURN_IF_ERROR(AppendDurably(dir_ + "/audit-key.pem", proof->audit_public_key_pem(), 0644));
    pinned_key_pem_ = proof->audit_public_key_pem() + "\n";
    LOG(INFO) << "audit public key pinned (first receipt)";
  }
  absl::StatusOr<audit::AuditPublicKey> key = audit::AuditPublicKey::FromPem(pinned_key_pem_);
  if (!key.ok()) return Halt(absl::DataLossError("the pinned audit key is unreadable"));
  if (absl::StatusOr<audit::AuditPublicKey> offered =
          audit::AuditPublicKey::FromPem(proof->audit_public_key_pem());
      !offered.ok() || offered->key_id() != key->key_id()) {
    return Halt(absl::UnauthenticatedError(
        absl::StrCat(what, ": the coordinator now presents another audit key")));
  }
  if (absl::Status s = key->VerifyTreeHead(head); !s.ok()) {
    return Halt(absl::UnauthenticatedError(
        absl::StrCat(what, ": not signed by the pinned audit key: ", s.message())));
  }
  if (last_) {
    absl::StatusOr<audit::Hash> old_root = audit::HashFromHex(last_->root_sha256());
    absl::StatusOr<audit::Hash> new_root = audit::HashFromHex(head.root_sha256());
    std::vector<audit::Hash> path;
    for (const std::string& h : proof->path()) {
      if (h.size() != 32) return Halt(absl::DataLossError(absl::StrCat(what, ": malformed proof")));
      audit::Hash hash;
      std::copy(h.begin(), h.end(), hash.begin());
      path.push_back(hash);
    }
    absl::Status consistent =
        old_root.ok() && new_root.ok()
            ? audit::VerifyConsistency(first, head.tree_size(), *old_root, *new_root, path)
            : absl::DataLossError("malformed root");
    if (!consistent.ok()) {
      return Halt(absl::DataLossError(absl::StrCat(
          what, " does not extend the receipt of run ", last_->run_id().substr(0, 12), " round ",
          last_->round(), " (tree size ", first, "): the audit log's history was rewritten (",
          consistent.message(), ")")));
    }
  }
  RETURN_IF_ERROR(AppendDurably(dir_ + "/receipts.jsonl", ToJson(head), 0644));
  last_ = head;
  LOG(INFO) << what << " kept" << (first > 0 ? absl::StrCat(", extends tree size ", first) : "");
  return absl::OkStatus();
}

std::string ReceiptKeeper::halted() const {
  absl::MutexLock lock(&mu_);
  return halted_;
}

std::optional<v1::AuditTreeHead> ReceiptKeeper::last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

}  // namespace tverr::node
