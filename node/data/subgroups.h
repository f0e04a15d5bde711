// Subgroup attributes from DICOM tag values, coarse on purpose: sex, an age
// band, scanner manufacturer and model. Pure functions; thread-safe.
#ifndef TVERR_NODE_DATA_SUBGROUPS_H_
#define TVERR_NODE_DATA_SUBGROUPS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "node/data/example.h"

namespace tverr::node {

// "F", "M", "O" from PatientSex; "unknown" otherwise.
std::string SexGroup(absl::string_view patient_sex);

// Age band from PatientAge ("045Y", "006M", "010W", "003D") when valid,
// else from PatientBirthDate and StudyDate (YYYYMMDD), else "unknown".
// Bands: "0-17", "18-39", "40-59", "60-79", "80+".
std::string AgeBand(absl::string_view patient_age, absl::string_view birth_date,
                    absl::string_view study_date);

// Trimmed value, or "unknown" when empty.
std::string TextGroup(absl::string_view value);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_SUBGROUPS_H_
