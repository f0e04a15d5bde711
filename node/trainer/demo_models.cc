#include "node/trainer/demo_models.h"

#include <torch/script.h>

#include <cerrno>
#include <cmath>
#include <exception>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tverr::node {
namespace {

constexpr int kMaxSide = 4096;

// The forward methods. torch.nn.functional is a Python module that a C++
// define() cannot resolve (only builtins are: `torch.conv2d` is the aten op
// F.conv2d calls), so the sources use the torch.* builtins directly.
constexpr char kSmallCnnForward[] = R"(
def forward(self, x):
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv1.weight, self.conv1.bias, [1, 1], [1, 1])), [2, 2])
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv2.weight, self.conv2.bias, [1, 1], [1, 1])), [2, 2])
    x = torch.flatten(x, 1)
    return torch.linear(x, self.fc.weight, self.fc.bias)
)";

constexpr char kLogisticForward[] = R"(
def forward(self, x):
    return torch.linear(torch.flatten(x, 1), self.fc.weight, self.fc.bias)
)";

// Deterministic uniform draws from a seed (SplitMix64), independent of
// LibTorch's generator and its version.
class UniformSource {
 public:
  explicit UniformSource(uint64_t seed) : state_(seed) {}

  // Uniform in [-bound, bound).
  float Next(double bound) {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const double unit = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
    return static_cast<float>((2 * unit - 1) * bound);
  }

 private:
  uint64_t state_;
};

// PyTorch's default Conv2d/Linear initialisation (kaiming_uniform_ with
// a = sqrt(5) for weights, the same bound for biases): U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)).
torch::Tensor InitTensor(const std::vector<int64_t>& shape, int64_t fan_in, UniformSource& rng) {
  torch::Tensor t = torch::empty(shape, torch::kFloat);
  float* p = t.data_ptr<float>();
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.Next(bound);
  return t.set_requires_grad(true);
}

// A module holding `weight` and `bias` parameters, used as a named layer
// ("conv1") of the model.
torch::jit::Module Layer(const std::shared_ptr<torch::jit::CompilationUnit>& cu,
                         const std::string& type_name, const std::vector<int64_t>& weight_shape,
                         int64_t fan_in, UniformSource& rng) {
  torch::jit::Module layer(c10::QualifiedName("__torch__.tverr.demo." + type_name), cu);
  layer.register_attribute("training", c10::BoolType::get(), true);
  layer.register_parameter("weight", InitTensor(weight_shape, fan_in, rng), /*is_buffer=*/false);
  layer.register_parameter("bias", InitTensor({weight_shape[0]}, fan_in, rng),
                           /*is_buffer=*/false);
  return layer;
}

torch::jit::Module Model(const std::shared_ptr<torch::jit::CompilationUnit>& cu,
                         const std::string& type_name) {
  torch::jit::Module model(c10::QualifiedName("__torch__.tverr.demo." + type_name), cu);
  model.register_attribute("training", c10::BoolType::get(), true);
  return model;
}

absl::Status FileError(const std::string& what) {
  const int error = errno;
  if (error == 0) return absl::InternalError(what);
  return absl::ErrnoToStatus(error, what);
}

absl::Status Save(const torch::jit::Module& model, const std::string& path) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return FileError(absl::StrCat("cannot create model file ", path));
  model.save(out);
  out.close();
  if (!out) return FileError(absl::StrCat("cannot write model file ", path));
  return absl::OkStatus();
}

absl::Status TorchFailure(const char* what, const std::exception& e) {
  std::string message = e.what();
  const size_t start = message.find_first_not_of('\n');
  message = start == std::string::npos ? "" : message.substr(start);
  message = message.substr(0, message.find('\n'));
  return absl::InternalError(absl::StrCat(what, ": ", message));
}

}  // namespace

absl::Status WriteSmallCnn(const std::string& path, int channels, int height, int width,
                           int classes, uint64_t seed) {
  if (channels < 1 || channels > kMaxSide || height < 4 || height > kMaxSide || width < 4 ||
      width > kMaxSide || classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("small CNN needs channels >= 1, height and width in 4..", kMaxSide,
                     ", classes >= 1; got ", channels, "x", height, "x", width, ", ", classes));
  }
  try {
    UniformSource rng(seed);
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module model = Model(cu, "SmallCnn");
    model.register_module("conv1", Layer(cu, "SmallCnnConv1", {8, channels, 3, 3},
                                         /*fan_in=*/channels * 9, rng));
    model.register_module("conv2", Layer(cu, "SmallCnnConv2", {16, 8, 3, 3},
                                         /*fan_in=*/8 * 9, rng));
    const int64_t features = int64_t{16} * (height / 4) * (width / 4);
    model.register_module("fc", Layer(cu, "SmallCnnFc", {classes, features}, features, rng));
    model.define(kSmallCnnForward);
    return Save(model, path);
  } catch (const std::exception& e) {
    return TorchFailure("building the small CNN failed", e);
  }
}

absl::Status WriteLogisticRegression(const std::string& path, int channels, int height, int width,
                                     int classes, uint64_t seed) {
  if (channels < 1 || channels > kMaxSide || height < 1 || height > kMaxSide || width < 1 ||
      width > kMaxSide || classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic regression needs sizes >= 1 (sides <= ", kMaxSide, "); got ",
                     channels, "x", height, "x", width, ", ", classes));
  }
  try {
    UniformSource rng(seed);
    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module model = Model(cu, "LogisticRegression");
    const int64_t features = int64_t{channels} * height * width;
    model.register_module("fc",
                          Layer(cu, "LogisticRegressionFc", {classes, features}, features, rng));
    model.define(kLogisticForward);
    return Save(model, path);
  } catch (const std::exception& e) {
    return TorchFailure("building the logistic regression failed", e);
  }
}

}  // namespace tverr::node
