#include "common/tensor/named_tensors.h"

#include <limits>

namespace tverr::tensor {

int64_t NumElements(const std::vector<int64_t>& shape) {
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d == 0) has_zero = true;
  }
  // [huge, huge, 0] has no elements; it must not be reported as overflow.
  if (has_zero) return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

}  // namespace tverr::tensor
