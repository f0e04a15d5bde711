// fl-model: makes a model artifact and its initial weights for a run, where
// LibTorch is available (the coordinator has none).
//   fl-model --kind=small-cnn --classes=10 --out=model.pt --weights_out=initial.tvts
//   fl-model --artifact=model.pt --classes=10 --weights_out=initial.tvts
//       (the initial weights of an existing TorchScript model)
// Prints the artifact's SHA-256 (for the run spec's artifact_sha256).
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/crypto/sha256.h"
#include "common/log/log.h"
#include "common/tensor/tensor_codec.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"

ABSL_FLAG(std::string, kind, "small-cnn", "Model to write: small-cnn or logistic.");
ABSL_FLAG(std::string, artifact, "", "Use this TorchScript file instead of writing one.");
ABSL_FLAG(std::string, out, "model.pt", "Where to write the artifact (with --kind).");
ABSL_FLAG(std::string, weights_out, "initial.tvts", "Where to write the initial weights.");
ABSL_FLAG(int, channels, 1, "Input channels.");
ABSL_FLAG(int, height, 28, "Input height.");
ABSL_FLAG(int, width, 28, "Input width.");
ABSL_FLAG(int, classes, 10, "Number of labels.");
ABSL_FLAG(uint64_t, seed, 1, "Initialisation seed.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Makes a model artifact and its initial weights.");
  absl::ParseCommandLine(argc, argv);
  tverr::InitLogging(argv[0]);
  (void)tverr::SetLogLevel("warning");
  std::string path = absl::GetFlag(FLAGS_artifact);
  const int c = absl::GetFlag(FLAGS_channels), h = absl::GetFlag(FLAGS_height),
            w = absl::GetFlag(FLAGS_width), k = absl::GetFlag(FLAGS_classes);
  if (path.empty()) {
    path = absl::GetFlag(FLAGS_out);
    const std::string kind = absl::GetFlag(FLAGS_kind);
    absl::Status s = kind == "small-cnn" ? tverr::node::WriteSmallCnn(path, c, h, w, k,
                                                                      absl::GetFlag(FLAGS_seed))
                     : kind == "logistic"
                         ? tverr::node::WriteLogisticRegression(path, c, h, w, k,
                                                                absl::GetFlag(FLAGS_seed))
                         : absl::InvalidArgumentError("--kind must be small-cnn or logistic");
    if (!s.ok()) {
      std::cerr << "fl-model: " << s.message() << "\n";
      return 1;
    }
  }
  tverr::v1::RunSpec spec;
  spec.mutable_input()->set_channels(c);
  spec.mutable_input()->set_height(h);
  spec.mutable_input()->set_width(w);
  for (int i = 0; i < k; ++i) spec.add_labels("class-" + std::to_string(i));
  spec.mutable_optimizer()->set_kind(tverr::v1::OptimizerSpec::SGD);
  spec.mutable_optimizer()->set_learning_rate(0.1);
  spec.mutable_local()->set_batch_size(1);
  spec.mutable_local()->set_local_epochs(1);
  spec.set_loss(tverr::v1::LOSS_KIND_CROSS_ENTROPY);
  auto trainer = tverr::node::LoadTorchScriptTrainer(path, spec);
  if (!trainer.ok()) {
    std::cerr << "fl-model: " << trainer.status().message() << "\n";
    return 1;
  }
  auto weights = (*trainer)->Weights();
  if (!weights.ok()) {
    std::cerr << "fl-model: " << weights.status().message() << "\n";
    return 1;
  }
  std::ofstream(absl::GetFlag(FLAGS_weights_out), std::ios::binary) << tverr::tensor::Encode(*weights);
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::cout << tverr::crypto::ToHex(tverr::crypto::Sha256(bytes.str())) << "\n";
  return 0;
}
