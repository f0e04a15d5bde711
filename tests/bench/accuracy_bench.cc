// Accuracy benchmark (issue 4, e): demo data at 10 sites, non-IID
// (Dirichlet alpha 0.5), the small CNN, 30 rounds of one local epoch with
// FedAvg and with FedAdam, against centralised training of the same model
// on the pooled training splits for the same number of epochs. Accuracy is
// measured on the pooled validation splits. In one process: the numerics
// of the federation without the network (the networked path carries the
// same trainer and aggregators). Run it through scripts/bench-accuracy.sh.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/tensor/named_tensors.h"
#include "coordinator/aggregation/aggregator_factory.h"
#include "node/data/demo/demo_dataset.h"
#include "node/data/dicom_directory_source.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"

ABSL_FLAG(std::string, work_dir, "/tmp/tverr-bench-accuracy", "Scratch directory (wiped).");
ABSL_FLAG(int, sites, 10, "Sites.");
ABSL_FLAG(int, images_per_site, 400, "Images per site.");
ABSL_FLAG(int, rounds, 30, "Rounds (and centralised epochs).");
ABSL_FLAG(double, alpha, 0.5, "Dirichlet alpha of the label skew.");

namespace {

using tverr::node::DicomDirectorySource;
using tverr::node::Split;

// A view of several sources as one (centralised training and pooled eval).
class Pooled final : public tverr::node::DataSource {
 public:
  explicit Pooled(const std::vector<std::unique_ptr<DicomDirectorySource>>& parts) {
    for (size_t p = 0; p < parts.size(); ++p) {
      for (size_t i = 0; i < parts[p]->Size(); ++i) index_.push_back({parts[p].get(), i});
    }
  }
  size_t Size() const override { return index_.size(); }
  absl::StatusOr<tverr::node::Example> Get(size_t i) const override {
    return index_[i].first->Get(index_[i].second);
  }
  std::vector<size_t> IndicesOf(Split split) const override {
    std::vector<size_t> out;
    for (size_t i = 0; i < index_.size(); ++i) {
      auto e = Get(i);
      if (e.ok() && e->split == split) out.push_back(i);
    }
    return out;
  }

 private:
  std::vector<std::pair<const DicomDirectorySource*, size_t>> index_;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  namespace fs = std::filesystem;
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  fs::remove_all(work);
  tverr::node::demo::DemoOptions demo;
  demo.out_dir = work + "/demo";
  demo.sites.clear();
  for (int s = 0; s < absl::GetFlag(FLAGS_sites); ++s) demo.sites.push_back("site-" + std::to_string(s));
  demo.images_per_site = absl::GetFlag(FLAGS_images_per_site);
  demo.non_iid = true;
  demo.dirichlet_alpha = absl::GetFlag(FLAGS_alpha);
  if (!tverr::node::demo::WriteDemoSites(demo).ok()) return 1;
  const std::string artifact = work + "/cnn.pt";
  if (!tverr::node::WriteSmallCnn(artifact, 1, 28, 28, 10, 7).ok()) return 1;

  tverr::v1::RunSpec spec;
  spec.mutable_input()->set_width(28);
  spec.mutable_input()->set_height(28);
  spec.mutable_input()->set_channels(1);
  for (const auto& l : tverr::node::demo::FashionMnistLabels()) spec.add_labels(l);
  spec.set_loss(tverr::v1::LOSS_KIND_CROSS_ENTROPY);
  spec.mutable_optimizer()->set_kind(tverr::v1::OptimizerSpec::SGD);
  spec.mutable_optimizer()->set_learning_rate(0.05);
  spec.mutable_optimizer()->set_momentum(0.9);
  spec.mutable_local()->set_batch_size(32);
  spec.mutable_local()->set_local_epochs(1);
  spec.mutable_local()->set_threads(1);

  std::vector<std::unique_ptr<DicomDirectorySource>> sites;
  for (const std::string& name : demo.sites) {
    tverr::node::DirectorySourceOptions o;
    o.source.set_directory(demo.out_dir + "/" + name + "/dicom");
    o.source.set_manifest(demo.out_dir + "/" + name + "/labels.csv");
    o.input = spec.input();
    o.labels = tverr::node::demo::FashionMnistLabels();
    o.fractions.set_train(0.8);
    o.fractions.set_validation(0.2);
    o.split_salt = "bench";
    auto s = DicomDirectorySource::Open(o);
    if (!s.ok()) return 1;
    sites.push_back(std::move(*s));
  }
  Pooled pooled(sites);
  const auto pooled_val = pooled.IndicesOf(Split::kValidation);
  auto trainer = tverr::node::LoadTorchScriptTrainer(artifact, spec);
  if (!trainer.ok()) return 1;
  const tverr::tensor::TensorList initial = *(*trainer)->Weights();
  double last_loss = 0;
  auto accuracy = [&](const tverr::tensor::TensorList& w) {
    if (!(*trainer)->SetWeights(w).ok()) std::exit(1);
    auto e = (*trainer)->Evaluate(pooled, pooled_val);
    last_loss = e->loss;
    return e->accuracy;
  };
  const int rounds = absl::GetFlag(FLAGS_rounds);

  // Centralised: the same model, all training splits pooled, `rounds` epochs.
  if (!(*trainer)->SetWeights(initial).ok()) return 1;
  std::printf("initial model accuracy %.4f\n", (*trainer)->Evaluate(pooled, pooled_val)->accuracy);
  const auto pooled_train = pooled.IndicesOf(Split::kTrain);
  for (int e = 1; e <= rounds; ++e) {
    auto r = (*trainer)->Train(pooled, pooled_train, e);
    if (!r.ok()) {
      std::fprintf(stderr, "centralised epoch %d: %s\n", e, std::string(r.status().message()).c_str());
      return 1;
    }
  }
  auto central_eval = (*trainer)->Evaluate(pooled, pooled_val);
  const double central = central_eval->accuracy;
  const double central_loss = central_eval->loss;

  auto federated = [&](tverr::v1::AggregationSpec agg) {
    tverr::coordinator::ServerOptimizerState state;
    tverr::tensor::TensorList global = initial;
    for (int r = 1; r <= rounds; ++r) {
      auto aggregator = tverr::coordinator::MakeAggregator(agg, &state);
      if (!aggregator.ok() || !(*aggregator)->Begin(global).ok()) std::exit(1);
      for (size_t s = 0; s < sites.size(); ++s) {
        if (!(*trainer)->SetWeights(global).ok()) std::exit(1);
        auto indices = sites[s]->IndicesOf(Split::kTrain);
        if (indices.empty()) continue;
        auto result = (*trainer)->Train(*sites[s], indices, r * 100 + s);
        if (!result.ok()) std::exit(1);
        if (!(*aggregator)->AddUpdate(demo.sites[s], result->samples, result->delta).ok()) {
          std::exit(1);
        }
      }
      global = *(*aggregator)->Finish();
    }
    return accuracy(global);
  };
  tverr::v1::AggregationSpec fedavg;
  fedavg.set_strategy(tverr::v1::AggregationSpec::FEDAVG);
  fedavg.set_server_learning_rate(1.0);
  const double fedavg_acc = federated(fedavg);
  const double fedavg_loss = last_loss;
  tverr::v1::AggregationSpec fedadam;
  fedadam.set_strategy(tverr::v1::AggregationSpec::FEDADAM);
  fedadam.set_server_learning_rate(0.01);
  fedadam.set_server_momentum(0.9);
  fedadam.set_server_beta2(0.99);
  fedadam.set_server_tau(1e-3);
  const double fedadam_acc = federated(fedadam);
  const double fedadam_loss = last_loss;

  std::printf("sites %zu, %d images each, Dirichlet alpha %.2f, %d rounds x 1 local epoch\n",
              sites.size(), absl::GetFlag(FLAGS_images_per_site), absl::GetFlag(FLAGS_alpha),
              rounds);
  std::printf("pooled validation examples: %zu\n", pooled_val.size());
  std::printf("centralised (%d epochs)   accuracy %.4f  loss %.4f\n", rounds, central,
              central_loss);
  std::printf("FedAvg                     accuracy %.4f  loss %.4f  (%.1f points from centralised)\n",
              fedavg_acc, fedavg_loss, 100 * (fedavg_acc - central));
  std::printf("FedAdam (eta 0.01)         accuracy %.4f  loss %.4f  (%.1f points from centralised)\n",
              fedadam_acc, fedadam_loss, 100 * (fedadam_acc - central));
  fs::remove_all(work);
  return 0;
}
