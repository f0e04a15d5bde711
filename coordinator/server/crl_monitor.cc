#include "coordinator/server/crl_monitor.h"

#include <glog/logging.h>

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "common/pki/crl_status.h"

namespace tverr::coordinator {

CrlMonitor::CrlMonitor(std::string crl_dir, std::string ca_file, absl::Duration interval,
                       absl::Duration warn_before)
    : crl_dir_(std::move(crl_dir)),
      ca_file_(std::move(ca_file)),
      interval_(interval),
      warn_before_(warn_before),
      thread_([this] {
        do {
          CheckOnce();
        } while (!stop_.WaitForNotificationWithTimeout(interval_));
      }) {}

CrlMonitor::~CrlMonitor() {
  stop_.Notify();
  thread_.join();
}

void CrlMonitor::CheckOnce() {
  std::ifstream in(ca_file_, std::ios::binary);
  std::ostringstream ca;
  ca << in.rdbuf();
  absl::StatusOr<absl::Time> next_update = pki::CheckCrlDirectory(crl_dir_, ca.str());
  if (!next_update.ok()) {
    LOG(ERROR) << "revocation check is not working: " << next_update.status().message();
    return;
  }
  absl::Duration left = *next_update - absl::Now();
  if (left < warn_before_) {
    LOG(WARNING) << "the CRL in " << crl_dir_ << " expires in "
                 << absl::FormatDuration(absl::Trunc(left, absl::Minutes(1)))
                 << "; after that every TLS handshake fails. Run `flctl pki crl` at the CA.";
  }
}

}  // namespace tverr::coordinator
