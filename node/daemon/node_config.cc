#include "node/daemon/node_config.h"

#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/config/validation.h"
#include "common/status/status_macros.h"
#include "common/tls/credentials.h"

namespace tverr::node {

absl::StatusOr<v1::NodeConfig> LoadNodeConfig(const std::string& path,
                                              const NodeOverrides& overrides) {
  v1::NodeConfig config;
  RETURN_IF_ERROR(config::LoadTextProtoFile(path, &config));
  const std::string base_dir = config::DirName(path);
  if (!overrides.coordinator_address.empty()) {
    config.set_coordinator_address(overrides.coordinator_address);
  }
  if (!overrides.log_level.empty()) config.set_log_level(overrides.log_level);
  if (!overrides.state_dir.empty()) {
    config.set_state_dir(overrides.state_dir);
  } else if (!config.state_dir().empty()) {
    config.set_state_dir(config::ResolvePath(base_dir, config.state_dir()));
  }
  return FinishNodeConfig(std::move(config), path, base_dir);
}

namespace {

bool IsAeTitle(const std::string& ae) {
  if (ae.empty() || ae.size() > 16) return false;
  for (char c : ae) {
    if (c < 0x20 || c > 0x7e || c == '\\') return false;
  }
  return true;
}

// Resolves the data paths and checks the fields; whether the files exist
// is checked when the data is used (fl-node-data check), since a PACS
// store directory may not exist before the first pull.
void ValidateData(const std::string& base_dir, v1::NodeConfig* config,
                  config::ConfigErrors* errors) {
  v1::NodeDataConfig* data = config->mutable_data();
  v1::DicomDirectorySource* dir = data->mutable_directory();
  dir->set_directory(config::ResolvePath(base_dir, dir->directory()));
  dir->set_manifest(config::ResolvePath(base_dir, dir->manifest()));
  if (data->has_pacs()) {
    v1::PacsSource* pacs = data->mutable_pacs();
    pacs->set_store_directory(config::ResolvePath(base_dir, pacs->store_directory()));
    if (pacs->host().empty()) errors->Add("data.pacs.host", "is required");
    if (pacs->port() == 0 || pacs->port() > 65535) {
      errors->Add("data.pacs.port", "must be between 1 and 65535");
    }
    if (!IsAeTitle(pacs->called_ae_title())) {
      errors->Add("data.pacs.called_ae_title", "must be 1-16 printable characters");
    }
    if (!pacs->calling_ae_title().empty() && !IsAeTitle(pacs->calling_ae_title())) {
      errors->Add("data.pacs.calling_ae_title", "must be 1-16 printable characters");
    }
    if (pacs->store_directory().empty()) {
      errors->Add("data.pacs.store_directory", "is required");
    }
    if (dir->directory().empty()) dir->set_directory(pacs->store_directory());
  }
  if (dir->directory().empty()) errors->Add("data.directory.directory", "is required");
  if (dir->manifest().empty()) errors->Add("data.directory.manifest", "is required");
  data->set_cache_dir(data->cache_dir().empty()
                          ? config->state_dir() + "/data-cache"
                          : config::ResolvePath(base_dir, data->cache_dir()));
}

}  // namespace

absl::StatusOr<v1::NodeConfig> FinishNodeConfig(v1::NodeConfig config, const std::string& source,
                                                const std::string& base_dir) {
  if (config.state_dir().empty()) {
    config.set_state_dir(config::ResolvePath(base_dir, "node-state"));
  }
  if (config.log_level().empty()) config.set_log_level("info");
  v1::BackoffConfig* b = config.mutable_backoff();
  if (b->initial_ms() == 0) b->set_initial_ms(500);
  if (b->max_ms() == 0) b->set_max_ms(30000);
  if (b->multiplier() == 0) b->set_multiplier(2.0);
  if (b->jitter() == 0) b->set_jitter(0.2);
  if (config.secure_aggregation_min_peers() == 0) config.set_secure_aggregation_min_peers(3);

  config::ConfigErrors errors(source);
  if (config.secure_aggregation_min_peers() < 3) {
    errors.Add("secure_aggregation_min_peers",
               "must be >= 3: in a sum of two updates each contributor learns the other's");
  }
  if (config.has_data()) ValidateData(base_dir, &config, &errors);
  for (int i = 0; i < config.approved_runs_size(); ++i) {
    const std::string& id = config.approved_runs(i);
    bool hex = id.size() == 64;
    for (char c : id) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!hex) {
      errors.Add(absl::StrCat("approved_runs[", i, "]"),
                 absl::StrCat("'", id, "' is not a run id (64 lower-case hex characters)"));
    }
  }
  config::ValidateAddressField("coordinator_address", config.coordinator_address(), &errors);
  config::ValidateNameField("consortium", config.consortium(), &errors);
  config::ValidateLogLevelField("log_level", config.log_level(), &errors);
  if (b->max_ms() < b->initial_ms()) {
    errors.Add("backoff.max_ms", "must be at least backoff.initial_ms");
  }
  if (b->multiplier() < 1.0 || b->multiplier() > 10.0) {
    errors.Add("backoff.multiplier", "must be between 1 and 10");
  }
  if (b->jitter() < 0.0 || b->jitter() > 1.0) {
    errors.Add("backoff.jitter", "must be between 0 and 1");
  }
  if (!config.has_tls()) {
    errors.Add("tls", "is required (cert_file, key_file, ca_file)");
  } else {
    config::ResolveAndValidateTls(base_dir, /*require_crl_dir=*/false, config.mutable_tls(),
                                  &errors);
  }
  RETURN_IF_ERROR(errors.ToStatus());
  // The files exist; now check what is in them, so that a wrong or
  // mismatched certificate stops the program here rather than failing
  // every connection later.
  tls::TlsFiles files{config.tls().cert_file(), config.tls().key_file(), config.tls().ca_file(),
                      config.tls().crl_dir(), config.tls().reload_interval_seconds()};
  if (absl::Status s = tls::CheckOwnTlsFiles(files, /*require_crl_dir=*/false, v1::ROLE_NODE,
                                             config.consortium());
      !s.ok()) {
    errors.Add("tls", s.message());
  }
  RETURN_IF_ERROR(errors.ToStatus());
  return config;
}

}  // namespace tverr::node
