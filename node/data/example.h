// One training or evaluation example as the trainer sees it: preprocessed
// pixels, a label index, the split it belongs to, and the subgroup
// attributes validation reports use. Never carries patient identifiers.
#ifndef TVERR_NODE_DATA_EXAMPLE_H_
#define TVERR_NODE_DATA_EXAMPLE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tverr::node {

enum class Split { kTrain = 0, kValidation = 1, kTest = 2 };

// "train", "validation", "test".
const char* SplitName(Split split);

// Attributes for subgroup analysis, from DICOM tags. Values are coarse on
// purpose (age bands, not ages).
struct Subgroups {
  std::string sex = "unknown";           // "F", "M", "O" or "unknown"
  std::string age_band = "unknown";      // "0-17", "18-39", "40-59", "60-79", "80+"
  std::string manufacturer = "unknown";  // Manufacturer
  std::string model = "unknown";         // ManufacturerModelName
};

struct Example {
  // channels * height * width values, channel-major (C, H, W).
  std::vector<float> pixels;
  // Index into the run's label set.
  int64_t label = -1;
  Split split = Split::kTrain;
  std::string sop_instance_uid;
  Subgroups subgroups;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_EXAMPLE_H_
