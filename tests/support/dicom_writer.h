// Writes small DICOM files for tests through DCMTK: exactly the pixel
// values, photometric interpretation, rescale, window, transfer syntax and
// patient/study attributes a test asks for. Test data only: the patients
// are invented.
#ifndef TVERR_TESTS_SUPPORT_DICOM_WRITER_H_
#define TVERR_TESTS_SUPPORT_DICOM_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tverr::testing {

enum class TestSyntax {
  kExplicitLittle,   // 1.2.840.10008.1.2.1
  kImplicitLittle,   // 1.2.840.10008.1.2
  kJpegLossless,     // 1.2.840.10008.1.2.4.70 (process 14, SV1)
  kJpegBaseline,     // 1.2.840.10008.1.2.4.50 (8-bit only; lossy)
  kJpegLsLossless,   // 1.2.840.10008.1.2.4.80
  kRle,              // 1.2.840.10008.1.2.5
};

struct TestDicom {
  int rows = 2;
  int cols = 2;
  // 8 or 16.
  int bits_allocated = 16;
  // Bits stored (<= bits_allocated); 0 means bits_allocated.
  int bits_stored = 0;
  bool is_signed = false;
  std::string photometric = "MONOCHROME2";
  // rows*cols stored values (already in the stored range).
  std::vector<int32_t> pixels = {0, 1, 2, 3};
  std::optional<double> rescale_slope;
  std::optional<double> rescale_intercept;
  std::optional<double> window_center;
  std::optional<double> window_width;
  TestSyntax syntax = TestSyntax::kExplicitLittle;
  bool with_pixel_data = true;

  std::string sop_class_uid = "1.2.840.10008.5.1.4.1.1.7";  // Secondary Capture
  // Empty UIDs are generated.
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string patient_id = "TEST-PATIENT-1";
  std::string patient_name = "Testperson^Kari";
  std::string patient_sex = "F";
  std::string patient_birth_date = "19700101";
  std::string patient_age;  // e.g. "054Y"; empty: not written
  std::string study_date = "20240315";
  std::string modality = "OT";
  std::string manufacturer = "Acme Imaging";
  std::string manufacturer_model = "Acme 3000";
};

// Writes `spec` to `path` (DICOM Part 10 file). The SOP Instance UID used is
// returned through `sop_instance_uid` when not null.
absl::Status WriteTestDicom(const std::string& path, const TestDicom& spec,
                            std::string* sop_instance_uid = nullptr);

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_DICOM_WRITER_H_
