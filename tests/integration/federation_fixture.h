// CoordinatorFixture plus hospital node daemons that train: each with its
// own certificate, demo data directory, approved run and state directory.
#ifndef TVERR_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_
#define TVERR_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_

#include <filesystem>
#include <memory>
#include <string>

#include "common/crypto/sha256.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "tests/integration/coordinator_fixture.h"

namespace tverr::testing {

class FederationFixture : public CoordinatorFixture {
 protected:
  // A daemon for hospital `site` whose data is <data_root>/<site>/{dicom,
  // labels.csv} (as fl-demo-data writes it) and which approves `run_id`
  // (and `also_approved`, when given).
  std::unique_ptr<node::NodeDaemon> TrainingDaemon(const std::string& site,
                                                   const std::string& data_root,
                                                   const std::string& run_id,
                                                   const std::string& also_approved = "") {
    TlsDir tls = pki_->Issue(v1::ROLE_NODE, site);
    v1::NodeConfig config;
    config.set_coordinator_address(target());
    config.set_consortium("nordic");
    config.set_state_dir(tmp_.Sub(site + "-state"));
    config.mutable_tls()->set_cert_file(tls.cert());
    config.mutable_tls()->set_key_file(tls.key());
    config.mutable_tls()->set_ca_file(tls.ca());
    config.mutable_data()->mutable_directory()->set_directory(data_root + "/" + site + "/dicom");
    config.mutable_data()->mutable_directory()->set_manifest(data_root + "/" + site +
                                                             "/labels.csv");
    config.add_approved_runs(run_id);
    if (!also_approved.empty()) config.add_approved_runs(also_approved);
    auto finished = node::FinishNodeConfig(config, "test", tmp_.path());
    EXPECT_TRUE(finished.ok()) << finished.status();
    FixPatientKeySecret(finished->data().cache_dir(), site);
    node::NodeDaemonOptions options;
    options.config = *finished;
    options.software_version = "test";
    options.worker.data = finished->data();
    options.worker.approved_runs = {run_id};
    if (!also_approved.empty()) options.worker.approved_runs.insert(also_approved);
    options.worker.work_dir = finished->state_dir() + "/work";
    options.worker.cpu_cores = 1;
    return std::make_unique<node::NodeDaemon>(options);
  }

  // A real node makes a random patient-key secret on first use, and the
  // patient-level splits hash patient ids under it: each test run would
  // validate on other patients. A fixed secret per site keeps the splits,
  // and so the accuracies the tests compare, the same in every run.
  static void FixPatientKeySecret(const std::string& cache_dir, const std::string& site) {
    const std::string path = cache_dir + "/patient-key.secret";
    if (std::filesystem::exists(path)) return;  // a second daemon for the site
    std::filesystem::create_directories(cache_dir);
    const crypto::Sha256Digest secret = crypto::Sha256("tverr-test-patient-key/" + site);
    WriteFileOrDie(path, std::string(crypto::AsStringView(secret)));
  }
};

}  // namespace tverr::testing

#endif  // TVERR_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_
