#include "coordinator/server/coordinator_config.h"

#include "common/config/config_loader.h"
#include "common/config/validation.h"
#include "common/status/status_macros.h"
#include "common/tls/credentials.h"

namespace tverr::coordinator {

absl::StatusOr<v1::CoordinatorConfig> LoadCoordinatorConfig(
    const std::string& path, const CoordinatorOverrides& overrides) {
  v1::CoordinatorConfig config;
  RETURN_IF_ERROR(config::LoadTextProtoFile(path, &config));
  const std::string base_dir = config::DirName(path);
  // Overrides come from the command line: relative to the working directory.
  if (!overrides.listen_address.empty()) config.set_listen_address(overrides.listen_address);
  if (!overrides.state_dir.empty()) config.set_state_dir(overrides.state_dir);
  if (!overrides.log_level.empty()) config.set_log_level(overrides.log_level);
  if (!overrides.port_file.empty()) config.set_port_file(overrides.port_file);
  // Paths from flags are already relative to the working directory; resolve
  // the file's own relative paths against its directory.
  if (overrides.state_dir.empty() && !config.state_dir().empty()) {
    config.set_state_dir(config::ResolvePath(base_dir, config.state_dir()));
  }
  if (overrides.port_file.empty() && !config.port_file().empty()) {
    config.set_port_file(config::ResolvePath(base_dir, config.port_file()));
  }
  return FinishCoordinatorConfig(std::move(config), path, base_dir);
}

absl::StatusOr<v1::CoordinatorConfig> FinishCoordinatorConfig(v1::CoordinatorConfig config,
                                                              const std::string& source,
                                                              const std::string& base_dir) {
  if (config.listen_address().empty()) config.set_listen_address("0.0.0.0:7443");
  if (config.state_dir().empty()) config.set_state_dir(config::ResolvePath(base_dir, "state"));
  if (config.log_level().empty()) config.set_log_level("info");
  if (config.heartbeat_interval_seconds() == 0) config.set_heartbeat_interval_seconds(10);
  if (config.max_transfer_bytes() == 0) config.set_max_transfer_bytes(uint64_t{2} << 30);
  if (config.audit_dir().empty()) {
    config.set_audit_dir(config.state_dir() + "/audit");
  } else {
    config.set_audit_dir(config::ResolvePath(base_dir, config.audit_dir()));
  }
  if (config.audit_key_file().empty()) {
    config.set_audit_key_file(config.state_dir() + "/audit-key.pem");
  } else {
    config.set_audit_key_file(config::ResolvePath(base_dir, config.audit_key_file()));
  }

  config::ConfigErrors errors(source);
  config::ValidateAddressField("listen_address", config.listen_address(), &errors);
  config::ValidateNameField("consortium", config.consortium(), &errors);
  config::ValidateLogLevelField("log_level", config.log_level(), &errors);
  if (config.heartbeat_interval_seconds() > 3600) {
    errors.Add("heartbeat_interval_seconds", "must be between 1 and 3600");
  }
  if (!config.has_tls()) {
    errors.Add("tls", "is required (cert_file, key_file, ca_file, crl_dir)");
  } else {
    config::ResolveAndValidateTls(base_dir, /*require_crl_dir=*/true, config.mutable_tls(),
                                  &errors);
  }
  RETURN_IF_ERROR(errors.ToStatus());
  // The files exist; now check what is in them, so that a wrong or
  // mismatched certificate stops the program here rather than failing
  // every connection later.
  tls::TlsFiles files{config.tls().cert_file(), config.tls().key_file(), config.tls().ca_file(),
                      config.tls().crl_dir(), config.tls().reload_interval_seconds()};
  if (absl::Status s = tls::CheckOwnTlsFiles(files, /*require_crl_dir=*/true, v1::ROLE_COORDINATOR,
                                             config.consortium());
      !s.ok()) {
    errors.Add("tls", s.message());
  }
  RETURN_IF_ERROR(errors.ToStatus());
  return config;
}

}  // namespace tverr::coordinator
