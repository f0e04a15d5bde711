#include "coordinator/service/session_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::coordinator {

std::string SessionTable::Open(const std::string& identity, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Session& s = sessions_[identity];
  s = Session{};
  s.id = crypto::RandomHex(16);
  s.last_heartbeat = now;
  return s.id;
}

bool SessionTable::Heartbeat(const std::string& identity, const std::string& session_id,
                             absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  if (it == sessions_.end() || it->second.id != session_id) return false;
  it->second.last_heartbeat = std::max(it->second.last_heartbeat, now);
  return true;
}

bool SessionTable::Silent(const std::string& identity, const std::string& session_id,
                          absl::Time now, absl::Duration max_silence) const {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  return it != sessions_.end() && it->second.id == session_id &&
         now - it->second.last_heartbeat > max_silence;
}

void SessionTable::Close(const std::string& identity, const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(identity);
  if (it != sessions_.end() && it->second.id == session_id) sessions_.erase(it);
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
  if (it->second.stream_attached) {
    return absl::FailedPreconditionError("session already has an open task stream");
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

std::vector<std::string> SessionTable::OnlineNodes() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [identity, session] : sessions_) {
    if (session.stream_attached) out.push_back(identity);
  }
  return out;
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
