// Reading one DICOM file on the node: its identifying header (without
// loading pixel data into memory) and its preprocessed pixels. Patient
// identifiers are read only to derive a salted patient key for splits;
// they are never returned in messages or logged. Thread-safe.
#ifndef TVERR_NODE_DATA_DICOM_FILE_H_
#define TVERR_NODE_DATA_DICOM_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/data/example.h"
#include "tverr/v1/data.pb.h"

namespace tverr::node {

struct DicomHeader {
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string transfer_syntax_uid;
  // Lower-case hex HMAC-SHA256 of the PatientID under a secret that never
  // leaves the node (see ReadDicomHeader): lets the node keep patients
  // together without keeping their IDs, and cannot be reversed by trying
  // likely IDs without the secret. Without a PatientID the StudyInstanceUID
  // is used instead (each study its own patient), so anonymised files
  // still split safely.
  std::string patient_key;
  Subgroups subgroups;
  bool has_pixel_data = false;
};

// What went wrong with a file, for the load report.
enum class FileProblem {
  kNone,
  kUnreadable,        // cannot open
  kNotDicom,          // no DICOM structure at all
  kTruncated,         // DICOM that ends early / malformed
  kNoPixelData,       // no (7FE0,0010)
  kMissingUid,        // no SOPInstanceUID
  kUnsupportedSyntax, // compression the node cannot decode
  kDecodeFailed,      // pixel pipeline failed
};
const char* FileProblemName(FileProblem problem);

// Reads the header of `path`. On failure returns the problem and a
// message that names no patient data.
struct HeaderResult {
  FileProblem problem = FileProblem::kNone;
  std::string message;
  DicomHeader header;
};
// `patient_secret` keys the patient hash (empty: a fixed public key, for
// tests only).
HeaderResult ReadDicomHeader(const std::string& path, absl::string_view patient_secret = "");

// Decodes and preprocesses the pixels of `path` (see pixel_pipeline.h).
absl::StatusOr<std::vector<float>> DecodeDicomFile(const std::string& path,
                                                   const v1::InputSpec& spec);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_DICOM_FILE_H_
