#include "tests/support/dicom_writer.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpeg/djrploss.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace tverr::testing {
namespace {

void RegisterEncoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    DJEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
    DcmRLEEncoderRegistration::registerCodecs();
  });
}

std::string NewUid(const char* root) {
  char uid[100];
  dcmGenerateUniqueIdentifier(uid, root);
  return uid;
}

absl::Status Check(const OFCondition& c, absl::string_view what) {
  if (c.good()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", c.text()));
}

std::string Number(double v) { return absl::StrCat(v); }

}  // namespace

absl::Status WriteTestDicom(const std::string& path, const TestDicom& spec,
                            std::string* sop_instance_uid) {
  RegisterEncoders();
  if (static_cast<int>(spec.pixels.size()) != spec.rows * spec.cols) {
    return absl::InvalidArgumentError("pixels must have rows*cols values");
  }
  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  const std::string sop = spec.sop_instance_uid.empty() ? NewUid(SITE_INSTANCE_UID_ROOT)
                                                        : spec.sop_instance_uid;
  const std::string study =
      spec.study_instance_uid.empty() ? NewUid(SITE_STUDY_UID_ROOT) : spec.study_instance_uid;
  const std::string series =
      spec.series_instance_uid.empty() ? NewUid(SITE_SERIES_UID_ROOT) : spec.series_instance_uid;
  const int bits_stored = spec.bits_stored == 0 ? spec.bits_allocated : spec.bits_stored;
  const std::pair<DcmTagKey, std::string> strings[] = {
      {DCM_SOPClassUID, spec.sop_class_uid},
      {DCM_SOPInstanceUID, sop},
      {DCM_StudyInstanceUID, study},
      {DCM_SeriesInstanceUID, series},
      {DCM_PatientID, spec.patient_id},
      {DCM_PatientName, spec.patient_name},
      {DCM_PatientSex, spec.patient_sex},
      {DCM_PatientBirthDate, spec.patient_birth_date},
      {DCM_StudyDate, spec.study_date},
      {DCM_Modality, spec.modality},
      {DCM_Manufacturer, spec.manufacturer},
      {DCM_ManufacturerModelName, spec.manufacturer_model},
      {DCM_PhotometricInterpretation, spec.photometric},
      {DCM_SeriesNumber, "1"},
      {DCM_InstanceNumber, "1"},
  };
  for (const auto& [tag, value] : strings) {
    if (absl::Status s = Check(ds->putAndInsertString(tag, value.c_str()), "put string");
        !s.ok()) {
      return s;
    }
  }
  if (!spec.patient_age.empty()) ds->putAndInsertString(DCM_PatientAge, spec.patient_age.c_str());
  if (spec.rescale_slope) ds->putAndInsertString(DCM_RescaleSlope, Number(*spec.rescale_slope).c_str());
  if (spec.rescale_intercept) {
    ds->putAndInsertString(DCM_RescaleIntercept, Number(*spec.rescale_intercept).c_str());
  }
  if (spec.window_center) ds->putAndInsertString(DCM_WindowCenter, Number(*spec.window_center).c_str());
  if (spec.window_width) ds->putAndInsertString(DCM_WindowWidth, Number(*spec.window_width).c_str());
  ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(spec.rows));
  ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(spec.cols));
  ds->putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(spec.bits_allocated));
  ds->putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(bits_stored));
  ds->putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(bits_stored - 1));
  ds->putAndInsertUint16(DCM_PixelRepresentation, spec.is_signed ? 1 : 0);

  if (spec.with_pixel_data) {
    if (spec.bits_allocated == 8) {
      std::vector<Uint8> data(spec.pixels.size());
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<Uint8>(spec.pixels[i]);
      if (absl::Status s = Check(ds->putAndInsertUint8Array(DCM_PixelData, data.data(),
                                                            static_cast<unsigned long>(data.size())),
                                 "put pixels");
          !s.ok()) {
        return s;
      }
    } else {
      std::vector<Uint16> data(spec.pixels.size());
      // Two's complement for signed values, masked to the stored bits.
      const uint32_t mask = bits_stored >= 16 ? 0xffffu : ((1u << bits_stored) - 1);
      for (size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<Uint16>(static_cast<uint32_t>(spec.pixels[i]) & mask);
      }
      if (absl::Status s = Check(ds->putAndInsertUint16Array(
                                     DCM_PixelData, data.data(), static_cast<unsigned long>(data.size())),
                                 "put pixels");
          !s.ok()) {
        return s;
      }
    }
  }

  E_TransferSyntax xfer = EXS_LittleEndianExplicit;
  DJ_RPLossless lossless;
  DJ_RPLossy lossy(/*quality=*/95);
  DJLSRepresentationParameter jpegls(/*nearlosslessDeviation=*/0, /*losslessProcess=*/OFTrue);
  const DcmRepresentationParameter* rp = nullptr;
  switch (spec.syntax) {
    case TestSyntax::kExplicitLittle:
      break;
    case TestSyntax::kImplicitLittle:
      xfer = EXS_LittleEndianImplicit;
      break;
    case TestSyntax::kJpegLossless:
      xfer = EXS_JPEGProcess14SV1;
      rp = &lossless;
      break;
    case TestSyntax::kJpegBaseline:
      xfer = EXS_JPEGProcess1;
      rp = &lossy;
      break;
    case TestSyntax::kJpegLsLossless:
      xfer = EXS_JPEGLSLossless;
      rp = &jpegls;
      break;
    case TestSyntax::kRle:
      xfer = EXS_RLELossless;
      break;
  }
  if (spec.with_pixel_data && xfer != EXS_LittleEndianExplicit &&
      xfer != EXS_LittleEndianImplicit) {
    if (absl::Status s = Check(ds->chooseRepresentation(xfer, rp), "compress"); !s.ok()) return s;
    if (!ds->canWriteXfer(xfer)) return absl::InternalError("cannot write compressed syntax");
  }
  if (absl::Status s = Check(file.saveFile(path.c_str(), xfer), "save"); !s.ok()) return s;
  if (sop_instance_uid != nullptr) *sop_instance_uid = sop;
  return absl::OkStatus();
}

}  // namespace tverr::testing
