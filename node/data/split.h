// Patient-level train/validation/test assignment: a deterministic function
// of the patient and a salt, so every image of a patient lands in the same
// split, the same data always splits the same way, and a new salt gives a
// new split. Pure; thread-safe.
#ifndef TVERR_NODE_DATA_SPLIT_H_
#define TVERR_NODE_DATA_SPLIT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "node/data/example.h"
#include "tverr/v1/data.pb.h"

namespace tverr::node {

// INVALID_ARGUMENT unless all fractions are >= 0 and sum to 1 (+-1e-6).
absl::Status ValidateSplitFractions(const v1::SplitFractions& fractions);

// u = first 8 bytes of SHA-256(salt || 0x00 || patient_key) as a number in
// [0, 1); train if u < train, validation if u < train + validation, else
// test.
Split AssignSplit(absl::string_view patient_key, absl::string_view salt,
                  const v1::SplitFractions& fractions);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_SPLIT_H_
