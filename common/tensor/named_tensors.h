// Model weights and updates as the coordinator sees them: an ordered list of
// named float32 tensors. The coordinator needs no LibTorch; the node
// converts to and from torch tensors in its trainer.
#ifndef TVERR_COMMON_TENSOR_NAMED_TENSORS_H_
#define TVERR_COMMON_TENSOR_NAMED_TENSORS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tverr::tensor {

struct NamedTensor {
  // For example "conv1.weight". Unique within a list.
  std::string name;
  // Row-major dimensions; empty for a scalar.
  std::vector<int64_t> shape;
  // Product of shape (1 for a scalar) values.
  std::vector<float> values;
};

// Ordered by the model's parameter order (the order is part of the format).
using TensorList = std::vector<NamedTensor>;

// Product of the dimensions (1 for a scalar); -1 on overflow or negative dims.
int64_t NumElements(const std::vector<int64_t>& shape);

// Index of the first NaN or infinity in values[0..count), or count if all
// are finite. Written to vectorise: update checks run at memory speed.
size_t FirstNonFinite(const float* values, size_t count);

}  // namespace tverr::tensor

#endif  // TVERR_COMMON_TENSOR_NAMED_TENSORS_H_
