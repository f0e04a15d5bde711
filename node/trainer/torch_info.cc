#include "node/trainer/torch_info.h"

#include <torch/cuda.h>
#include <torch/version.h>

namespace tverr::node {

TorchInfo GetTorchInfo() {
  TorchInfo info;
  info.version = TORCH_VERSION;
  info.cuda_available = torch::cuda::is_available();
  info.cuda_devices = static_cast<uint32_t>(torch::cuda::device_count());
  return info;
}

}  // namespace tverr::node
