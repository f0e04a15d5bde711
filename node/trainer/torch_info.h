// What LibTorch offers on this machine, for the capabilities a node reports.
// The header is LibTorch-free so that daemon code need not include torch.
#ifndef TVERR_NODE_TRAINER_TORCH_INFO_H_
#define TVERR_NODE_TRAINER_TORCH_INFO_H_

#include <cstdint>
#include <string>

namespace tverr::node {

struct TorchInfo {
  std::string version;       // for example "1.13.1"
  bool cuda_available = false;
  uint32_t cuda_devices = 0;
};

TorchInfo GetTorchInfo();

}  // namespace tverr::node

#endif  // TVERR_NODE_TRAINER_TORCH_INFO_H_
