// Where examples come from, as the trainer sees it: a fixed-size, indexable
// collection (the LibTorch dataset shape: Size() and Get(i)). The DICOM
// directory implementation is DicomDirectorySource; tests may use fakes.
// Implementations are thread-safe for concurrent Get().
#ifndef TVERR_NODE_DATA_DATA_SOURCE_H_
#define TVERR_NODE_DATA_DATA_SOURCE_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "node/data/example.h"

namespace tverr::node {

class DataSource {
 public:
  virtual ~DataSource() = default;

  // Number of examples (all splits).
  virtual size_t Size() const = 0;

  // Example `index` (0 <= index < Size()). OUT_OF_RANGE otherwise; other
  // errors if its pixels cannot be produced.
  virtual absl::StatusOr<Example> Get(size_t index) const = 0;

  // Indices of the examples in `split`, in a stable order.
  virtual std::vector<size_t> IndicesOf(Split split) const = 0;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_DATA_SOURCE_H_
