// Version of the DICOM toolkit (DCMTK) the node decodes images with.
#ifndef TVERR_NODE_DATA_DICOM_INFO_H_
#define TVERR_NODE_DATA_DICOM_INFO_H_

#include <string>

namespace tverr::node {

// For example "3.6.7".
std::string DcmtkVersion();

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_DICOM_INFO_H_
