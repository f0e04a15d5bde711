// fl-coordinator: flags -> config -> server -> serve until SIGINT/SIGTERM.
#include <glog/logging.h>

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "common/log/log.h"
#include "common/process/termination.h"
#include "coordinator/server/coordinator_config.h"
#include "coordinator/server/coordinator_server.h"

ABSL_FLAG(std::string, config, "", "Path of the coordinator config (textproto). Required.");
ABSL_FLAG(std::string, listen_address, "", "Overrides listen_address (host:port).");
ABSL_FLAG(std::string, state_dir, "", "Overrides state_dir.");
ABSL_FLAG(std::string, log_level, "", "Overrides log_level: debug, info, warning, error.");
ABSL_FLAG(std::string, port_file, "", "Overrides port_file.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Tverr federated-learning coordinator.\n"
                               "Usage: fl-coordinator --config=coordinator.textproto");
  absl::ParseCommandLine(argc, argv);
  tverr::InitLogging(argv[0]);
  absl::Notification stop;
  tverr::process::OnTerminationSignal([&stop](int signal) {
    LOG(INFO) << "signal " << signal << " received; shutting down";
    stop.Notify();
  });

  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::cerr << "fl-coordinator: --config is required (see deploy/examples/)\n";
    return 2;
  }
  tverr::coordinator::CoordinatorOverrides overrides{
      absl::GetFlag(FLAGS_listen_address), absl::GetFlag(FLAGS_state_dir),
      absl::GetFlag(FLAGS_log_level), absl::GetFlag(FLAGS_port_file)};
  absl::StatusOr<tverr::v1::CoordinatorConfig> config =
      tverr::coordinator::LoadCoordinatorConfig(path, overrides);
  if (!config.ok()) {
    std::cerr << "fl-coordinator: invalid configuration:\n" << config.status().message() << "\n";
    return 2;
  }
  (void)tverr::SetLogLevel(config->log_level());

  absl::StatusOr<std::unique_ptr<tverr::coordinator::CoordinatorServer>> server =
      tverr::coordinator::CoordinatorServer::Start(*config);
  if (!server.ok()) {
    LOG(ERROR) << "fl-coordinator cannot start: " << server.status().message();
    return 1;
  }
  stop.WaitForNotification();
  (*server)->Shutdown();
  LOG(INFO) << "fl-coordinator stopped";
  return 0;
}
