#include "node/data/dicom_codecs.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace tverr::node {

void RegisterDicomDecoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK's own logger would print per-file details (sometimes patient
    // attributes) to stderr; our messages say what matters.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

absl::Status CheckDecodable(const std::string& transfer_syntax_uid) {
  DcmXfer xfer(transfer_syntax_uid.c_str());
  switch (xfer.getXfer()) {
    case EXS_LittleEndianImplicit:
    case EXS_LittleEndianExplicit:
    case EXS_BigEndianExplicit:
    case EXS_DeflatedLittleEndianExplicit:
    case EXS_JPEGProcess1:
    case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess14:
    case EXS_JPEGProcess14SV1:
    case EXS_JPEGLSLossless:
    case EXS_JPEGLSLossy:
    case EXS_RLELossless:
      return absl::OkStatus();
    case EXS_Unknown:
      return absl::UnimplementedError(
          absl::StrCat("unknown transfer syntax ", transfer_syntax_uid));
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("transfer syntax ", xfer.getXferName(), " (",
                                               transfer_syntax_uid,
                                               ") cannot be decoded by this node"));
}

}  // namespace tverr::node
