#include "node/data/dicom_info.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>

namespace tverr::node {

std::string DcmtkVersion() { return OFFIS_DCMTK_VERSION_STRING; }

}  // namespace tverr::node
