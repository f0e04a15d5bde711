// Registers DCMTK's decoders once per process (JPEG baseline/extended/
// lossless, JPEG-LS, RLE), and tells which transfer syntaxes the node can
// decode. Thread-safe.
#ifndef TVERR_NODE_DATA_DICOM_CODECS_H_
#define TVERR_NODE_DATA_DICOM_CODECS_H_

#include <string>

#include "absl/status/status.h"

namespace tverr::node {

void RegisterDicomDecoders();

// OK if pixel data in `transfer_syntax_uid` can be decoded; UNIMPLEMENTED
// naming the syntax otherwise (for example JPEG 2000, which Debian's DCMTK
// cannot decode).
absl::Status CheckDecodable(const std::string& transfer_syntax_uid);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_DICOM_CODECS_H_
