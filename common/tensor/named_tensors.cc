#include "common/tensor/named_tensors.h"

#include <cstring>

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

size_t FirstNonFinite(const float* values, size_t count) {
  // Exponent bits all ones <=> NaN or infinity. Scan blocks without
  // branches; only a block that has one is searched element by element.
  constexpr size_t kBlock = 4096;
  for (size_t start = 0; start < count; start += kBlock) {
    const size_t end = start + kBlock < count ? start + kBlock : count;
    uint32_t bad = 0;
    for (size_t i = start; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &values[i], sizeof(bits));
      bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (bad != 0) {
      for (size_t i = start; i < end; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &values[i], sizeof(bits));
        if ((bits & 0x7f800000u) == 0x7f800000u) return i;
      }
    }
  }
  return count;
}

}  // namespace tverr::tensor
