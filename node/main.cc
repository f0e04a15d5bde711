// fl-node: flags -> config -> daemon -> run until SIGINT/SIGTERM.
#include <glog/logging.h>

#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/log/log.h"
#include "common/process/termination.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "node/data/dicom_info.h"
#include "node/trainer/torch_info.h"

ABSL_FLAG(std::string, config, "", "Path of the node config (textproto). Required.");
ABSL_FLAG(std::string, coordinator_address, "", "Overrides coordinator_address (host:port).");
ABSL_FLAG(std::string, state_dir, "", "Overrides state_dir.");
ABSL_FLAG(std::string, log_level, "", "Overrides log_level: debug, info, warning, error.");

namespace {

tverr::v1::NodeCapabilities Capabilities(const tverr::v1::NodeConfig& config) {
  tverr::node::TorchInfo torch = tverr::node::GetTorchInfo();
  tverr::v1::NodeCapabilities caps;
  caps.set_libtorch_version(torch.version);
  caps.set_cuda_available(torch.cuda_available);
  caps.set_cuda_device_count(torch.cuda_devices);
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  caps.set_cpu_cores(config.cpu_cores() == 0 ? hw : std::min(hw, config.cpu_cores()));
  caps.set_dcmtk_version(tverr::node::DcmtkVersion());
  caps.add_protocol_versions("tverr.v1");
  return caps;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Tverr hospital node daemon.\n"
                               "Usage: fl-node --config=node.textproto");
  absl::ParseCommandLine(argc, argv);
  tverr::InitLogging(argv[0]);
  tverr::node::NodeDaemon* daemon_ptr = nullptr;
  absl::Mutex mu;
  bool stop_requested = false;
  tverr::process::OnTerminationSignal([&](int signal) {
    LOG(INFO) << "signal " << signal << " received; shutting down";
    absl::MutexLock lock(&mu);
    stop_requested = true;
    if (daemon_ptr != nullptr) daemon_ptr->Stop();
  });

  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::cerr << "fl-node: --config is required (see deploy/examples/)\n";
    return 2;
  }
  tverr::node::NodeOverrides overrides{absl::GetFlag(FLAGS_coordinator_address),
                                       absl::GetFlag(FLAGS_state_dir),
                                       absl::GetFlag(FLAGS_log_level)};
  absl::StatusOr<tverr::v1::NodeConfig> config = tverr::node::LoadNodeConfig(path, overrides);
  if (!config.ok()) {
    std::cerr << "fl-node: invalid configuration:\n" << config.status().message() << "\n";
    return 2;
  }
  (void)tverr::SetLogLevel(config->log_level());

  tverr::node::NodeDaemonOptions options;
  options.config = *config;
  options.software_version = TVERR_VERSION_STRING;
  options.capabilities = Capabilities(*config);
  options.worker.data = config->data();
  options.worker.approved_runs = {config->approved_runs().begin(), config->approved_runs().end()};
  options.worker.work_dir = config->state_dir() + "/work";
  options.worker.cpu_cores = static_cast<int>(config->cpu_cores());
  tverr::node::NodeDaemon daemon(options);
  {
    absl::MutexLock lock(&mu);
    if (stop_requested) return 0;
    daemon_ptr = &daemon;
  }
  LOG(INFO) << "fl-node " << TVERR_VERSION_STRING << " starting; coordinator "
            << config->coordinator_address();
  daemon.Run();
  absl::MutexLock lock(&mu);
  daemon_ptr = nullptr;
  return 0;
}
