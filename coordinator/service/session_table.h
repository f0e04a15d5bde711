// Live node sessions in this coordinator process: which nodes are connected,
// their current session id, and the queue of tasks waiting to be pushed on
// their task stream. A new Join replaces a node's older session; a stream of
// a replaced session ends. Sessions are not persisted: after a restart every
// node joins again. Thread-safe.
#ifndef TVERR_COORDINATOR_SERVICE_SESSION_TABLE_H_
#define TVERR_COORDINATOR_SERVICE_SESSION_TABLE_H_

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tverr/v1/node.pb.h"

namespace tverr::coordinator {

class SessionTable {
 public:
  // Starts a new session for `identity` at `now`, replacing any older one;
  // returns its id.
  std::string Open(const std::string& identity, absl::Time now);

  // Records a heartbeat. False if `session_id` is not the current session.
  bool Heartbeat(const std::string& identity, const std::string& session_id, absl::Time now);

  // True if the current session of `identity` is `session_id` and has had
  // no heartbeat (or join) for longer than `max_silence` at `now`.
  bool Silent(const std::string& identity, const std::string& session_id, absl::Time now,
              absl::Duration max_silence) const;

  // Ends the session if it is still current (for example after it fell
  // silent); its stream waiters get ABORTED.
  void Close(const std::string& identity, const std::string& session_id);

  // True if `session_id` is the current session of `identity`.
  bool IsCurrent(const std::string& identity, const std::string& session_id) const;

  // Marks the task stream of the session attached (online) or detached.
  // FAILED_PRECONDITION if the session is not current or already has a
  // stream (one stream per session).
  absl::Status AttachStream(const std::string& identity, const std::string& session_id);
  void DetachStream(const std::string& identity, const std::string& session_id);

  // True while `identity` has a current session with an attached stream.
  bool IsOnline(const std::string& identity) const;
  // Every node that is online now, sorted.
  std::vector<std::string> OnlineNodes() const;

  // Queues a task for the node's current session. NOT_FOUND if none.
  absl::Status Enqueue(const std::string& identity, v1::Task task);

  // Waits up to `timeout` for a task for the session. Returns nullopt on
  // timeout; ABORTED when the session was replaced; CANCELLED on shutdown.
  absl::StatusOr<std::optional<v1::Task>> WaitForTask(const std::string& identity,
                                                      const std::string& session_id,
                                                      absl::Duration timeout);

  // Wakes every waiter with CANCELLED; no new stream may attach.
  void Shutdown();

 private:
  struct Session {
    std::string id;
    bool stream_attached = false;
    absl::Time last_heartbeat;
    std::deque<v1::Task> tasks;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVICE_SESSION_TABLE_H_
