// CoordinatorFixture plus hospital node daemons that train: each with its
// own certificate, demo data directory, approved run and state directory.
#ifndef TVERR_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_
#define TVERR_TESTS_INTEGRATION_FEDERATION_FIXTURE_H_

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto/sha256.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "node/data/demo/demo_dataset.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/support/subprocess.h"

namespace tverr::testing {

// Node daemons, each running on a thread of its own. Stop() (or the
// destructor) stops and joins them all.
class DaemonGroup {
 public:
  DaemonGroup() = default;
  DaemonGroup(const DaemonGroup&) = delete;
  DaemonGroup& operator=(const DaemonGroup&) = delete;
  ~DaemonGroup() { Stop(); }

  // Starts `daemon` on a thread of its own.
  void Start(std::unique_ptr<node::NodeDaemon> daemon) {
    node::NodeDaemon* d = daemon.get();
    daemons_.push_back(std::move(daemon));
    threads_.emplace_back([d] { d->Run(); });
  }
  // Waits until every daemon is connected to the coordinator.
  bool WaitConnected(absl::Duration timeout = absl::Seconds(30)) const {
    return WaitFor(
        [&] {
          for (const auto& d : daemons_) {
            if (!d->connected()) return false;
          }
          return true;
        },
        timeout);
  }
  const std::vector<std::unique_ptr<node::NodeDaemon>>& daemons() const { return daemons_; }
  void Stop() {
    for (auto& d : daemons_) d->Stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    daemons_.clear();
  }

 private:
  std::vector<std::unique_ptr<node::NodeDaemon>> daemons_;
  std::vector<std::thread> threads_;
};

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
    if (!finished.ok()) return nullptr;
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

  // Starts a training daemon per site (see TrainingDaemon) into `group` and
  // waits until all are connected.
  void StartTrainingDaemons(DaemonGroup& group, const std::vector<std::string>& sites,
                            const std::string& data_root, const std::string& run_id,
                            const std::string& also_approved = "") {
    for (const std::string& site : sites) {
      std::unique_ptr<node::NodeDaemon> daemon = TrainingDaemon(site, data_root, run_id,
                                                                also_approved);
      ASSERT_NE(daemon, nullptr) << site;
      group.Start(std::move(daemon));
    }
    ASSERT_TRUE(group.WaitConnected()) << "the nodes did not all connect";
  }

  // The run spec the federation tests share, before WithDefaults: the
  // artifact's hash, 28x28x1 input with the Fashion-MNIST labels, SGD at
  // 0.05, batch 32, one local epoch on one thread, `rounds` rounds, at
  // least `min_nodes` nodes, 60 s per phase. Tests change what they test.
  static v1::RunSpec DemoSpec(const std::string& artifact, uint32_t rounds, uint32_t min_nodes) {
    v1::RunSpec spec;
    spec.set_artifact_sha256(crypto::ToHex(crypto::Sha256(artifact)));
    spec.mutable_input()->set_width(28);
    spec.mutable_input()->set_height(28);
    spec.mutable_input()->set_channels(1);
    for (const std::string& l : node::demo::FashionMnistLabels()) spec.add_labels(l);
    spec.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
    spec.mutable_optimizer()->set_learning_rate(0.05);
    spec.mutable_local()->set_batch_size(32);
    spec.mutable_local()->set_local_epochs(1);
    spec.mutable_local()->set_threads(1);
    spec.mutable_rounds()->set_rounds(rounds);
    spec.mutable_rounds()->set_min_nodes(min_nodes);
    spec.mutable_rounds()->set_phase_deadline_seconds(60);
    return spec;
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
