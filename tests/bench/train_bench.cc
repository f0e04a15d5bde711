// Local training throughput of the node's LibTorch trainer on the demo
// DICOM data (the small CNN, batch 32, SGD with momentum), and the same
// examples written out so that scripts/bench_train_pytorch.py can train the
// same TorchScript model in PyTorch on the same machine as the reference.
// Run it through scripts/bench-train.sh.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "node/data/demo/demo_dataset.h"
#include "node/data/dicom_directory_source.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"

ABSL_FLAG(std::string, work_dir, "/tmp/tverr-bench-train", "Scratch directory (wiped).");
ABSL_FLAG(int, images, 6000, "Images in the site.");
ABSL_FLAG(int, epochs, 2, "Epochs measured (after one warm-up epoch).");
ABSL_FLAG(int, threads, 0, "Training threads (0 = all cores).");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  namespace fs = std::filesystem;
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  fs::remove_all(work);
  tverr::node::demo::DemoOptions demo;
  demo.out_dir = work + "/demo";
  demo.sites = {"bench"};
  demo.images_per_site = absl::GetFlag(FLAGS_images);
  if (!tverr::node::demo::WriteDemoSites(demo).ok()) return 1;
  tverr::node::DirectorySourceOptions o;
  o.source.set_directory(demo.out_dir + "/bench/dicom");
  o.source.set_manifest(demo.out_dir + "/bench/labels.csv");
  o.input.set_width(28);
  o.input.set_height(28);
  o.input.set_channels(1);
  o.labels = tverr::node::demo::FashionMnistLabels();
  o.fractions.set_train(1.0);
  o.split_salt = "bench";
  auto data = tverr::node::DicomDirectorySource::Open(o);
  if (!data.ok()) return 1;
  const std::string artifact = work + "/cnn.pt";
  if (!tverr::node::WriteSmallCnn(artifact, 1, 28, 28, 10, 1).ok()) return 1;

  tverr::v1::RunSpec spec;
  *spec.mutable_input() = o.input;
  for (const auto& l : o.labels) spec.add_labels(l);
  spec.set_loss(tverr::v1::LOSS_KIND_CROSS_ENTROPY);
  spec.mutable_optimizer()->set_kind(tverr::v1::OptimizerSpec::SGD);
  spec.mutable_optimizer()->set_learning_rate(0.05);
  spec.mutable_optimizer()->set_momentum(0.9);
  spec.mutable_local()->set_batch_size(32);
  spec.mutable_local()->set_local_epochs(1);
  spec.mutable_local()->set_threads(absl::GetFlag(FLAGS_threads));
  auto trainer = tverr::node::LoadTorchScriptTrainer(artifact, spec);
  if (!trainer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(trainer.status().message()).c_str());
    return 1;
  }
  const auto indices = (*data)->IndicesOf(tverr::node::Split::kTrain);

  // The same examples for the PyTorch reference: float32 N x 1 x 28 x 28
  // and int64 labels, raw little-endian.
  {
    std::ofstream x(work + "/x.f32", std::ios::binary), y(work + "/y.i64", std::ios::binary);
    for (size_t i : indices) {
      auto e = (*data)->Get(i);
      x.write(reinterpret_cast<const char*>(e->pixels.data()), e->pixels.size() * 4);
      int64_t label = e->label;
      y.write(reinterpret_cast<const char*>(&label), 8);
    }
  }

  if (!(*trainer)->Train(**data, indices, 0).ok()) return 1;  // warm-up
  const int epochs = absl::GetFlag(FLAGS_epochs);
  auto start = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs; ++e) {
    auto r = (*trainer)->Train(**data, indices, e);
    if (!r.ok()) return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("tverr trainer: %zu images x %d epochs, batch 32, %.0f images/s\n", indices.size(),
              epochs, indices.size() * epochs / seconds);
  std::printf("reference data: %s/x.f32 %s/y.i64 model %s\n", work.c_str(), work.c_str(),
              artifact.c_str());
  return 0;
}
