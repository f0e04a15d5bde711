#include "node/data/dicom_file.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"
#include "node/data/dicom_codecs.h"
#include "node/data/pixel_pipeline.h"
#include "node/data/subgroups.h"

namespace tverr::node {
namespace {

// Elements larger than this are not read into memory by the header scan.
constexpr Uint32 kLazyReadLength = 4096;

std::string GetString(DcmDataset* ds, const DcmTagKey& tag) {
  OFString value;
  if (ds->findAndGetOFStringArray(tag, value).good()) return value.c_str();
  return "";
}

bool HasPreamble(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[132];
  size_t n = std::fread(buf, 1, sizeof(buf), f);
  std::fclose(f);
  return n == sizeof(buf) && std::string(buf + 128, 4) == "DICM";
}

}  // namespace

const char* FileProblemName(FileProblem problem) {
  switch (problem) {
    case FileProblem::kNone:
      return "ok";
    case FileProblem::kUnreadable:
      return "unreadable";
    case FileProblem::kNotDicom:
      return "not_dicom";
    case FileProblem::kTruncated:
      return "truncated_or_malformed";
    case FileProblem::kNoPixelData:
      return "no_pixel_data";
    case FileProblem::kMissingUid:
      return "missing_sop_instance_uid";
    case FileProblem::kUnsupportedSyntax:
      return "unsupported_transfer_syntax";
    case FileProblem::kDecodeFailed:
      return "decode_failed";
  }
  return "unknown";
}

HeaderResult ReadDicomHeader(const std::string& path, absl::string_view patient_secret) {
  RegisterDicomDecoders();
  HeaderResult result;
  std::FILE* probe = std::fopen(path.c_str(), "rb");
  if (probe == nullptr) {
    result.problem = FileProblem::kUnreadable;
    result.message = "cannot open file";
    return result;
  }
  std::fclose(probe);
  const bool part10 = HasPreamble(path);
  DcmFileFormat file;
  // ERM_fileOnly for Part 10 files; raw datasets (no preamble) are tried
  // too, since some exports write them.
  OFCondition cond = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, kLazyReadLength,
                                   part10 ? ERM_fileOnly : ERM_autoDetect);
  DcmDataset* ds = file.getDataset();
  if (cond.bad()) {
    const bool looks_dicom = part10 || ds->card() > 2;
    result.problem = looks_dicom ? FileProblem::kTruncated : FileProblem::kNotDicom;
    result.message = looks_dicom ? absl::StrCat("malformed or truncated DICOM: ", cond.text())
                                 : "not a DICOM file";
    return result;
  }
  if (!part10 && GetString(ds, DCM_SOPInstanceUID).empty() && ds->card() < 3) {
    result.problem = FileProblem::kNotDicom;
    result.message = "not a DICOM file";
    return result;
  }
  DicomHeader& h = result.header;
  h.sop_instance_uid = GetString(ds, DCM_SOPInstanceUID);
  h.study_instance_uid = GetString(ds, DCM_StudyInstanceUID);
  h.transfer_syntax_uid = DcmXfer(ds->getOriginalXfer()).getXferID();
  const std::string patient_id = GetString(ds, DCM_PatientID);
  const std::string key_source = patient_id.empty()
                                     ? absl::StrCat(std::string("tverr-study\0", 12),
                                                    h.study_instance_uid)
                                     : absl::StrCat(std::string("tverr-patient\0", 14), patient_id);
  h.patient_key = crypto::ToHex(crypto::HmacSha256(
      patient_secret.empty() ? absl::string_view("tverr-public-test-key") : patient_secret,
      key_source));
  h.subgroups.sex = SexGroup(GetString(ds, DCM_PatientSex));
  h.subgroups.age_band = AgeBand(GetString(ds, DCM_PatientAge), GetString(ds, DCM_PatientBirthDate),
                                 GetString(ds, DCM_StudyDate));
  h.subgroups.manufacturer = TextGroup(GetString(ds, DCM_Manufacturer));
  h.subgroups.model = TextGroup(GetString(ds, DCM_ManufacturerModelName));
  DcmElement* pixels = nullptr;
  // Compressed (encapsulated) pixel data has an undefined length field and
  // reports length 0 before it is loaded: it counts as present.
  h.has_pixel_data = ds->findAndGetElement(DCM_PixelData, pixels).good() && pixels != nullptr &&
                     (pixels->getLength() > 0 || pixels->getLengthField() == DCM_UndefinedLength);
  if (h.sop_instance_uid.empty()) {
    result.problem = FileProblem::kMissingUid;
    result.message = "no SOPInstanceUID";
  } else if (!h.has_pixel_data) {
    result.problem = FileProblem::kNoPixelData;
    result.message = "no pixel data";
  } else if (absl::Status s = CheckDecodable(h.transfer_syntax_uid); !s.ok()) {
    result.problem = FileProblem::kUnsupportedSyntax;
    result.message = std::string(s.message());
  }
  return result;
}

absl::StatusOr<std::vector<float>> DecodeDicomFile(const std::string& path,
                                                   const v1::InputSpec& spec) {
  RegisterDicomDecoders();
  DcmFileFormat file;
  OFCondition cond = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                   ERM_autoDetect);
  if (cond.bad()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read DICOM: ", cond.text()));
  }
  return RenderPixels(file.getDataset(), spec);
}

}  // namespace tverr::node
