#include "coordinator/service/session_table.h"

#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::coordinator {
namespace {

std::string NewSessionId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  return crypto::ToHex(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

}  // namespace

std::string SessionTable::Open(const std::string& identity) {
  absl::MutexLock lock(&mu_);
  Session& s = sessions_[identity];
  s = Session{};
  s.id = NewSessionId();
  return s.id;
}

bool SessionTable::IsCurrent(const std::string& identity, const std::string& session_id) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  return it != sessions_.end() && it->second.id == session_id;
}

absl::Status SessionTable::AttachStream(const std::string& identity,
                                        const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  auto it = sessions_.find(identity);
  if (it == sessions_.end() || it->second.id != session_id) {
    return absl::FailedPreconditionError("unknown or replaced session; join again");
  }
  it->second.stream_attached = true;
  return absl::OkStatus();
}

void SessionTable::DetachStream(const std::string& identity, const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  if (it != sessions_.end() && it->second.id == session_id) it->second.stream_attached = false;
}

bool SessionTable::IsOnline(const std::string& identity) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  return it != sessions_.end() && it->second.stream_attached;
}

absl::Status SessionTable::Enqueue(const std::string& identity, v1::Task task) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  if (it == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat("node ", identity, " has no session"));
  }
  it->second.tasks.push_back(std::move(task));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Task>> SessionTable::WaitForTask(const std::string& identity,
                                                                  const std::string& session_id,
                                                                  absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (shutdown_) return true;
    auto it = sessions_.find(identity);
    return it == sessions_.end() || it->second.id != session_id || !it->second.tasks.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (shutdown_) return absl::CancelledError("coordinator is shutting down");
  auto it = sessions_.find(identity);
  if (it == sessions_.end() || it->second.id != session_id) {
    return absl::AbortedError("session replaced by a newer join");
  }
  if (it->second.tasks.empty()) return std::optional<v1::Task>();
  v1::Task task = std::move(it->second.tasks.front());
  it->second.tasks.pop_front();
  return std::optional<v1::Task>(std::move(task));
}

void SessionTable::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
}

}  // namespace tverr::coordinator
