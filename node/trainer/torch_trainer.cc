// LibTorch implementation of Trainer (see trainer.h): a TorchScript module
// trained with torch::optim. Every LibTorch call that can throw is inside a
// try block here; exceptions become absl::Status and never leave this file.
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/script.h>
#include <torch/utils.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status/status_macros.h"
#include "node/trainer/batch_schedule.h"
#include "node/trainer/metrics.h"
#include "node/trainer/trainer.h"
#include "node/trainer/training_spec.h"

namespace tverr::node {
namespace {

// The informative line of a LibTorch message: c10::Error carries a C++
// backtrace after its first line, TorchScript's ErrorReport a source excerpt.
// Errors raised inside the TorchScript interpreter start with a fixed
// sentence and a TorchScript traceback and end with the actual error
// ("RuntimeError: mat1 and mat2 shapes cannot be multiplied ..."): for
// those the last line is the one worth reporting.
std::string TorchMessage(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  absl::string_view text = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return "unknown LibTorch error";
  if (absl::StartsWith(text, "The following operation failed in the TorchScript interpreter")) {
    const size_t last = text.find_last_of("\r\n");
    if (last != absl::string_view::npos) text.remove_prefix(last + 1);
  }
  return std::string(text.substr(0, text.find_first_of("\r\n")));
}

std::string ShapeString(c10::IntArrayRef sizes) {
  return absl::StrCat("[", absl::StrJoin(sizes, ","), "]");
}

// One floating-point tensor of the model's state. `tensor` is the module's
// own tensor: in-place updates change the model.
struct StateSlot {
  std::string name;
  torch::Tensor tensor;
  bool parameter = false;
};

struct Batch {
  torch::Tensor inputs;  // [B, C, H, W], model dtype, on the device
  torch::Tensor labels;  // [B] int64, on the device
  std::vector<int64_t> label_values;
};

class TorchTrainer final : public Trainer {
 public:
  TorchTrainer(torch::jit::Module module, v1::RunSpec spec, torch::Device device,
               std::vector<StateSlot> slots, torch::ScalarType input_dtype)
      : module_(std::move(module)),
        spec_(std::move(spec)),
        device_(device),
        slots_(std::move(slots)),
        input_dtype_(input_dtype) {}

  absl::StatusOr<tensor::TensorList> Weights() const override;
  absl::Status SetWeights(const tensor::TensorList& weights) override;
  absl::StatusOr<TrainResult> Train(const DataSource& source, const std::vector<size_t>& indices,
                                    uint64_t round_seed,
                                    const std::function<void(int64_t, int64_t)>& progress) override;
  absl::StatusOr<EvalResult> Evaluate(const DataSource& source,
                                      const std::vector<size_t>& indices) override;

  // Runs one all-zero example through the model in eval mode and checks the
  // output against the label set: fails at load rather than mid-round.
  absl::Status Probe();

 private:
  int64_t Labels() const { return spec_.labels_size(); }
  absl::Status UseThreads() const;
  absl::StatusOr<std::vector<torch::Tensor>> Snapshot() const;
  void Restore(const std::vector<torch::Tensor>& state);
  absl::StatusOr<TrainResult> TrainFrom(const std::vector<torch::Tensor>& start,
                                        const DataSource& source,
                                        const std::vector<size_t>& indices, uint64_t round_seed,
                                        const std::function<void(int64_t, int64_t)>& progress);
  absl::StatusOr<Batch> LoadBatch(const DataSource& source, const std::vector<size_t>& batch) const;
  absl::StatusOr<torch::Tensor> Forward(const torch::Tensor& inputs);
  // OK with true for a single-logit binary output ([B] or [B,1]), false for
  // one logit per label ([B,K]); FAILED_PRECONDITION otherwise.
  absl::StatusOr<bool> CheckOutput(const torch::Tensor& output, int64_t batch) const;
  // Per-example loss [B] as LossKind defines it. Throws on LibTorch errors.
  torch::Tensor ExampleLosses(const torch::Tensor& output, const torch::Tensor& labels,
                              bool single_logit) const;
  std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(
      const std::vector<torch::Tensor>& params) const;

  torch::jit::Module module_;
  const v1::RunSpec spec_;
  const torch::Device device_;
  const std::vector<StateSlot> slots_;
  const torch::ScalarType input_dtype_;
};

// Float32 CPU copies of `tensors` named as the slots.
tensor::TensorList ToTensorList(const std::vector<StateSlot>& slots,
                                const std::vector<torch::Tensor>& tensors) {
  tensor::TensorList list;
  list.reserve(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const torch::Tensor t = tensors[i].detach().to(torch::kCPU, torch::kFloat).contiguous();
    tensor::NamedTensor named;
    named.name = slots[i].name;
    named.shape = t.sizes().vec();
    const float* data = t.data_ptr<float>();
    named.values.assign(data, data + t.numel());
    list.push_back(std::move(named));
  }
  return list;
}

absl::Status TorchTrainer::UseThreads() const {
  try {
    torch::set_num_threads(ResolveThreads(spec_.local()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("setting LibTorch threads failed: ", TorchMessage(e)));
  }
  return absl::OkStatus();
}

absl::StatusOr<tensor::TensorList> TorchTrainer::Weights() const {
  try {
    std::vector<torch::Tensor> tensors;
    for (const StateSlot& slot : slots_) tensors.push_back(slot.tensor);
    return ToTensorList(slots_, tensors);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("reading the weights failed: ", TorchMessage(e)));
  }
}

absl::Status TorchTrainer::SetWeights(const tensor::TensorList& weights) {
  if (weights.size() != slots_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model has ", slots_.size(), " weight tensors, got ", weights.size()));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    const tensor::NamedTensor& w = weights[i];
    if (w.name != slots_[i].name) {
      return absl::InvalidArgumentError(absl::StrCat("weight tensor ", i, " is named \"", w.name,
                                                     "\", the model's is \"", slots_[i].name,
                                                     "\""));
    }
    const std::vector<int64_t> shape = slots_[i].tensor.sizes().vec();
    if (w.shape != shape) {
      return absl::InvalidArgumentError(absl::StrCat("weight \"", w.name, "\" has shape ",
                                                     ShapeString(w.shape), ", the model's is ",
                                                     ShapeString(shape)));
    }
    // The model's shape, hence its element count, is known to be valid.
    if (static_cast<int64_t>(w.values.size()) != slots_[i].tensor.numel()) {
      return absl::InvalidArgumentError(absl::StrCat("weight \"", w.name, "\" has ",
                                                     w.values.size(), " values for shape ",
                                                     ShapeString(shape)));
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < slots_.size(); ++i) {
      // from_blob does not write through the pointer; copy_ reads it once.
      torch::Tensor source = torch::from_blob(const_cast<float*>(weights[i].values.data()),
                                              weights[i].shape, torch::kFloat);
      slots_[i].tensor.copy_(source);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("setting the weights failed: ", TorchMessage(e)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<torch::Tensor>> TorchTrainer::Snapshot() const {
  try {
    std::vector<torch::Tensor> state;
    for (const StateSlot& slot : slots_) state.push_back(slot.tensor.detach().clone());
    return state;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("copying the weights failed: ", TorchMessage(e)));
  }
}

void TorchTrainer::Restore(const std::vector<torch::Tensor>& state) {
  try {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].tensor.copy_(state[i]);
  } catch (const std::exception&) {
    // Only reached when memory runs out; the caller already returns an error.
  }
}

absl::StatusOr<Batch> TorchTrainer::LoadBatch(const DataSource& source,
                                              const std::vector<size_t>& batch) const {
  const v1::InputSpec& in = spec_.input();
  const int64_t c = in.channels(), h = in.height(), w = in.width();
  const size_t per_example = static_cast<size_t>(c * h * w);
  const int64_t b = static_cast<int64_t>(batch.size());
  Batch out;
  torch::Tensor pixels;
  torch::Tensor labels;
  try {
    pixels = torch::empty({b, c, h, w}, torch::kFloat);
    labels = torch::empty({b}, torch::kLong);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot allocate a batch of shape ", ShapeString({b, c, h, w}), ": ", TorchMessage(e)));
  }
  float* pixel_data = pixels.data_ptr<float>();
  int64_t* label_data = labels.data_ptr<int64_t>();
  const size_t size = source.Size();
  for (size_t k = 0; k < batch.size(); ++k) {
    const size_t index = batch[k];
    if (index >= size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "example index ", index, " is out of range: the source has ", size, " examples"));
    }
    ASSIGN_OR_RETURN(Example example, source.Get(index));
    if (example.pixels.size() != per_example) {
      return absl::InvalidArgumentError(absl::StrCat(
          "example ", index, " has ", example.pixels.size(), " pixel values; the run's input is ",
          c, "x", h, "x", w, " = ", per_example));
    }
    if (example.label < 0 || example.label >= Labels()) {
      return absl::InvalidArgumentError(absl::StrCat("example ", index, " has label ",
                                                     example.label, " outside the run's ", Labels(),
                                                     " labels"));
    }
    std::memcpy(pixel_data + k * per_example, example.pixels.data(), per_example * sizeof(float));
    label_data[k] = example.label;
    out.label_values.push_back(example.label);
  }
  try {
    out.inputs = pixels.to(device_, input_dtype_);
    out.labels = labels.to(device_);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot move a batch of shape ",
                                                     ShapeString(pixels.sizes()), " to ",
                                                     device_.str(), ": ", TorchMessage(e)));
  }
  return out;
}

absl::StatusOr<torch::Tensor> TorchTrainer::Forward(const torch::Tensor& inputs) {
  try {
    // The plain interpreter, not the profiling executor, which after a few
    // calls swaps in a specialised graph (fusion groups where a fuser is
    // enabled, as on CUDA) whose numerics may differ from the first calls'.
    // On the CPU demo models both gave the same bits and the same speed;
    // this keeps determinism independent of the JIT's heuristics.
    torch::jit::GraphOptimizerEnabledGuard plain(false);
    torch::jit::IValue output = module_.forward({inputs});
    if (!output.isTensor()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model forward returned a ", output.tagKind(), ", expected a tensor of logits"));
    }
    return output.toTensor();
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("model forward failed on a batch of shape ",
                                                      ShapeString(inputs.sizes()), ": ",
                                                      TorchMessage(e)));
  }
}

absl::StatusOr<bool> TorchTrainer::CheckOutput(const torch::Tensor& output, int64_t batch) const {
  const bool bce = spec_.loss() == v1::LOSS_KIND_BINARY_CROSS_ENTROPY;
  const int64_t labels = Labels();
  if (output.is_floating_point() && output.dim() >= 1 && output.size(0) == batch) {
    if (output.dim() == 2 && output.size(1) == labels) return false;
    if (bce && labels == 2 && (output.dim() == 1 || (output.dim() == 2 && output.size(1) == 1))) {
      return true;
    }
  }
  std::string expected = ShapeString({batch, labels});
  if (bce && labels == 2) absl::StrAppend(&expected, ", [", batch, ",1] or [", batch, "]");
  return absl::FailedPreconditionError(
      absl::StrCat("model output ", output.is_floating_point() ? "" : "of non-floating type ",
                   "of shape ", ShapeString(output.sizes()), " does not fit the run's ", labels,
                   " labels with ", bce ? "binary cross-entropy" : "cross-entropy",
                   " on a batch of ", batch, ": expected ", expected));
}

torch::Tensor TorchTrainer::ExampleLosses(const torch::Tensor& output, const torch::Tensor& labels,
                                          bool single_logit) const {
  if (single_logit) {
    const torch::Tensor logits = output.reshape({-1});
    return at::binary_cross_entropy_with_logits(logits, labels.eq(1).to(logits.scalar_type()),
                                                /*weight=*/{}, /*pos_weight=*/{},
                                                at::Reduction::None);
  }
  if (spec_.loss() == v1::LOSS_KIND_CROSS_ENTROPY) {
    return at::cross_entropy_loss(output, labels, /*weight=*/{}, at::Reduction::None);
  }
  // Multi-output BCE: the label index as a one-hot target, mean over outputs.
  const torch::Tensor target = at::one_hot(labels, Labels()).to(output.scalar_type());
  return at::binary_cross_entropy_with_logits(output, target, /*weight=*/{}, /*pos_weight=*/{},
                                              at::Reduction::None)
      .mean(1);
}

torch::Tensor Predictions(const torch::Tensor& output, bool single_logit) {
  if (single_logit) return output.reshape({-1}).gt(0).to(torch::kLong);
  return output.argmax(1);
}

// Score of label 1 for binary tasks, monotone in the model's confidence.
torch::Tensor PositiveScores(const torch::Tensor& output, bool single_logit, bool cross_entropy) {
  if (single_logit) return output.reshape({-1}).sigmoid();
  if (cross_entropy) return output.softmax(1).select(1, 1);
  return output.select(1, 1).sigmoid();
}

std::unique_ptr<torch::optim::Optimizer> TorchTrainer::MakeOptimizer(
    const std::vector<torch::Tensor>& params) const {
  const v1::OptimizerSpec& opt = spec_.optimizer();
  const AdamParameters adam = ResolveAdamParameters(opt);
  switch (opt.kind()) {
    case v1::OptimizerSpec::ADAM:
      return std::make_unique<torch::optim::Adam>(params,
                                                  torch::optim::AdamOptions(opt.learning_rate())
                                                      .betas({adam.beta1, adam.beta2})
                                                      .eps(adam.epsilon)
                                                      .weight_decay(opt.weight_decay()));
    case v1::OptimizerSpec::ADAMW:
      return std::make_unique<torch::optim::AdamW>(params,
                                                   torch::optim::AdamWOptions(opt.learning_rate())
                                                       .betas({adam.beta1, adam.beta2})
                                                       .eps(adam.epsilon)
                                                       .weight_decay(opt.weight_decay()));
    default:  // SGD; ValidateTrainingSpec admits nothing else.
      return std::make_unique<torch::optim::SGD>(params,
                                                 torch::optim::SGDOptions(opt.learning_rate())
                                                     .momentum(opt.momentum())
                                                     .nesterov(opt.nesterov())
                                                     .weight_decay(opt.weight_decay()));
  }
}

absl::Status TorchTrainer::Probe() {
  RETURN_IF_ERROR(UseThreads());
  const v1::InputSpec& in = spec_.input();
  torch::Tensor inputs;
  try {
    module_.eval();
    inputs = torch::zeros({1, in.channels(), in.height(), in.width()},
                          torch::TensorOptions().dtype(input_dtype_).device(device_));
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prepare the model for evaluation: ", TorchMessage(e)));
  }
  torch::NoGradGuard no_grad;
  ASSIGN_OR_RETURN(torch::Tensor output, Forward(inputs));
  return CheckOutput(output, /*batch=*/1).status();
}

absl::StatusOr<TrainResult> TorchTrainer::Train(
    const DataSource& source, const std::vector<size_t>& indices, uint64_t round_seed,
    const std::function<void(int64_t, int64_t)>& progress) {
  if (indices.empty()) return absl::FailedPreconditionError("no examples to train on");
  RETURN_IF_ERROR(UseThreads());
  ASSIGN_OR_RETURN(std::vector<torch::Tensor> start, Snapshot());
  absl::StatusOr<TrainResult> result = TrainFrom(start, source, indices, round_seed, progress);
  if (!result.ok()) Restore(start);
  return result;
}

absl::StatusOr<TrainResult> TorchTrainer::TrainFrom(
    const std::vector<torch::Tensor>& start, const DataSource& source,
    const std::vector<size_t>& indices, uint64_t round_seed,
    const std::function<void(int64_t, int64_t)>& progress) {
  const v1::LocalTrainingSpec& local = spec_.local();
  BatchSchedule schedule(indices, local.batch_size(), local.local_epochs(), local.local_steps(),
                         round_seed);
  const double mu = local.fedprox_mu();

  // Trained parameters and, for FedProx, their values at the start.
  std::vector<torch::Tensor> params;
  std::vector<torch::Tensor> anchors;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].parameter && slots_[i].tensor.requires_grad()) {
      params.push_back(slots_[i].tensor);
      anchors.push_back(start[i]);
    }
  }
  if (params.empty()) {
    return absl::FailedPreconditionError("the model has no trainable (requires_grad) parameter");
  }
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  try {
    torch::manual_seed(round_seed);
    module_.train(/*on=*/true);
    optimizer = MakeOptimizer(params);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prepare the model for training: ", TorchMessage(e)));
  }

  TrainResult result;
  result.samples = static_cast<int64_t>(indices.size());
  const int64_t total = schedule.TotalSteps();
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  while (std::optional<std::vector<size_t>> batch_indices = schedule.Next()) {
    ASSIGN_OR_RETURN(Batch batch, LoadBatch(source, *batch_indices));
    const int64_t b = static_cast<int64_t>(batch_indices->size());
    ASSIGN_OR_RETURN(torch::Tensor output, Forward(batch.inputs));
    ASSIGN_OR_RETURN(bool single_logit, CheckOutput(output, b));
    double batch_loss = 0;
    try {
      const torch::Tensor loss = ExampleLosses(output, batch.labels, single_logit).mean();
      torch::Tensor objective = loss;
      if (mu > 0) {
        torch::Tensor proximal = torch::zeros({}, loss.options());
        for (size_t i = 0; i < params.size(); ++i) {
          proximal = proximal + (params[i] - anchors[i]).pow(2).sum();
        }
        objective = loss + (mu / 2) * proximal;
      }
      optimizer->zero_grad();
      objective.backward();
      optimizer->step();
      batch_loss = loss.item<double>();
      correct += Predictions(output.detach(), single_logit).eq(batch.labels).sum().item<int64_t>();
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(absl::StrCat("training step failed on a batch of shape ",
                                                        ShapeString(batch.inputs.sizes()), ": ",
                                                        TorchMessage(e)));
    }
    if (!std::isfinite(batch_loss)) {
      return absl::FailedPreconditionError(absl::StrCat("training diverged: the loss is ",
                                                        batch_loss, " at step ", result.steps + 1,
                                                        " of ", total));
    }
    loss_sum += batch_loss * static_cast<double>(b);
    seen += b;
    ++result.steps;
    if (progress) progress(result.steps, total);
  }
  result.mean_loss = seen > 0 ? loss_sum / static_cast<double>(seen) : 0;
  result.accuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0;

  try {
    std::vector<torch::Tensor> delta;
    for (size_t i = 0; i < slots_.size(); ++i)
      delta.push_back(slots_[i].tensor.detach() - start[i]);
    result.delta = ToTensorList(slots_, delta);
    for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();  // free the memory
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("computing the update failed: ", TorchMessage(e)));
  }
  return result;
}

absl::StatusOr<EvalResult> TorchTrainer::Evaluate(const DataSource& source,
                                                  const std::vector<size_t>& indices) {
  if (indices.empty()) return absl::FailedPreconditionError("no examples to evaluate on");
  RETURN_IF_ERROR(UseThreads());
  try {
    module_.eval();
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prepare the model for evaluation: ", TorchMessage(e)));
  }
  torch::NoGradGuard no_grad;
  const bool cross_entropy = spec_.loss() == v1::LOSS_KIND_CROSS_ENTROPY;
  ClassificationMetrics metrics(Labels());
  const size_t batch_size = spec_.local().batch_size();
  for (size_t begin = 0; begin < indices.size(); begin += batch_size) {
    const std::vector<size_t> batch_indices(
        indices.begin() + begin, indices.begin() + std::min(indices.size(), begin + batch_size));
    const int64_t b = static_cast<int64_t>(batch_indices.size());
    ASSIGN_OR_RETURN(Batch batch, LoadBatch(source, batch_indices));
    ASSIGN_OR_RETURN(torch::Tensor output, Forward(batch.inputs));
    ASSIGN_OR_RETURN(bool single_logit, CheckOutput(output, b));
    torch::Tensor losses, predictions, scores;
    try {
      losses = ExampleLosses(output, batch.labels, single_logit).to(torch::kCPU, torch::kDouble);
      predictions = Predictions(output, single_logit).to(torch::kCPU);
      scores =
          Labels() == 2
              ? PositiveScores(output, single_logit, cross_entropy).to(torch::kCPU, torch::kDouble)
              : torch::zeros({b}, torch::kDouble);
    } catch (const std::exception& e) {
      return absl::FailedPreconditionError(absl::StrCat("evaluation failed on a batch of shape ",
                                                        ShapeString(batch.inputs.sizes()), ": ",
                                                        TorchMessage(e)));
    }
    const double* loss_data = losses.contiguous().data_ptr<double>();
    const torch::Tensor predictions_cpu = predictions.contiguous();
    const int64_t* predicted = predictions_cpu.data_ptr<int64_t>();
    const torch::Tensor scores_cpu = scores.contiguous();
    const double* score_data = scores_cpu.data_ptr<double>();
    for (int64_t k = 0; k < b; ++k) {
      RETURN_IF_ERROR(
          metrics.Add(batch.label_values[k], predicted[k], loss_data[k], score_data[k]));
    }
  }
  return metrics.Result();
}

absl::Status FileError(int error, const std::string& what) {
  if (error == 0) return absl::NotFoundError(what);
  return absl::ErrnoToStatus(error, what);
}

}  // namespace

// Error messages name no path: they may travel to the coordinator, and the
// caller knows which file it asked for.
absl::StatusOr<std::unique_ptr<Trainer>> LoadTorchScriptTrainer(const std::string& artifact_path,
                                                                const v1::RunSpec& spec) {
  RETURN_IF_ERROR(ValidateTrainingSpec(spec));
  {
    errno = 0;
    std::ifstream file(artifact_path, std::ios::binary);
    if (!file) return FileError(errno, "cannot open the model file");
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(artifact_path, torch::Device(torch::kCPU));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not a TorchScript model: ", TorchMessage(e)));
  }

  std::vector<StateSlot> slots;
  torch::Device device(torch::kCPU);
  torch::ScalarType input_dtype = torch::kFloat;
  try {
    if (!module.find_method("forward")) {
      return absl::FailedPreconditionError("the TorchScript model has no forward method");
    }
    if (torch::cuda::is_available()) {
      device = torch::Device(torch::kCUDA);
      module.to(device);
    }
    // After to(): the slots must hold the tensors the module now uses.
    bool have_dtype = false;
    for (const auto& p : module.named_parameters(/*recurse=*/true)) {
      if (!p.value.is_floating_point()) continue;
      if (!have_dtype) input_dtype = p.value.scalar_type();
      have_dtype = true;
      slots.push_back({p.name, p.value, /*parameter=*/true});
    }
    for (const auto& b : module.named_buffers(/*recurse=*/true)) {
      if (b.value.is_floating_point()) slots.push_back({b.name, b.value, /*parameter=*/false});
    }
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot prepare the TorchScript model: ", TorchMessage(e)));
  }
  if (slots.empty()) {
    return absl::FailedPreconditionError("the TorchScript model has no floating-point parameter");
  }
  auto trainer = std::make_unique<TorchTrainer>(std::move(module), spec, device, std::move(slots),
                                                input_dtype);
  RETURN_IF_ERROR(trainer->Probe());
  return trainer;
}

}  // namespace tverr::node
