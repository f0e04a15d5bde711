#include "node/data/split.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::node {

absl::Status ValidateSplitFractions(const v1::SplitFractions& f) {
  if (f.train() < 0 || f.validation() < 0 || f.test() < 0) {
    return absl::InvalidArgumentError("split fractions must not be negative");
  }
  double sum = f.train() + f.validation() + f.test();
  if (std::abs(sum - 1.0) > 1e-6) {
    return absl::InvalidArgumentError(absl::StrCat("split fractions sum to ", sum, ", not 1"));
  }
  return absl::OkStatus();
}

Split AssignSplit(absl::string_view patient_key, absl::string_view salt,
                  const v1::SplitFractions& fractions) {
  std::string input = absl::StrCat(salt, std::string(1, '\0'), patient_key);
  crypto::Sha256Digest d = crypto::Sha256(input);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  // 53 bits of the hash give a double in [0, 1) exactly.
  double u = static_cast<double>(v >> 11) / static_cast<double>(uint64_t{1} << 53);
  // An empty split never receives a patient, whatever the rounding.
  if (u < fractions.train() || (fractions.validation() == 0 && fractions.test() == 0)) {
    return Split::kTrain;
  }
  if (u < fractions.train() + fractions.validation() || fractions.test() == 0) {
    return Split::kValidation;
  }
  return Split::kTest;
}

}  // namespace tverr::node
