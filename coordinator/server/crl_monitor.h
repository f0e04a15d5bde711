// Keeps an eye on the coordinator's CRL directory while it runs. gRPC
// accepts certificates unchecked when a CA's CRL is missing, and refuses
// every handshake once the CRL has expired; both must be noticed before
// they matter. Logs an error when the directory stops protecting the
// server, a warning when the CRL expires within `warn_before`.
// Thread-safe; stops in its destructor.
#ifndef TVERR_COORDINATOR_SERVER_CRL_MONITOR_H_
#define TVERR_COORDINATOR_SERVER_CRL_MONITOR_H_

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace tverr::coordinator {

class CrlMonitor {
 public:
  // Checks `crl_dir` against the CA bundle in `ca_file` every `interval`.
  CrlMonitor(std::string crl_dir, std::string ca_file, absl::Duration interval,
             absl::Duration warn_before);
  ~CrlMonitor();
  CrlMonitor(const CrlMonitor&) = delete;
  CrlMonitor& operator=(const CrlMonitor&) = delete;

 private:
  void CheckOnce();
  const std::string crl_dir_;
  const std::string ca_file_;
  const absl::Duration interval_;
  const absl::Duration warn_before_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SERVER_CRL_MONITOR_H_
