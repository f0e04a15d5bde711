#include "common/runs/run_id.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/escaping.h"
#include "common/crypto/sha256.h"

namespace tverr::runs {

bool IsHexDigest(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::string> RunId(const v1::RunSpec& spec) {
  if (!IsHexDigest(spec.artifact_sha256())) {
    return absl::InvalidArgumentError("artifact_sha256 must be 64 lower-case hex characters");
  }
  v1::RunSpec identity = spec;
  identity.clear_artifact_path();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    identity.SerializeToCodedStream(&coded);
  }
  crypto::Sha256Hasher h;
  h.Update("tverr-run v1\n");
  h.Update(bytes);
  h.Update(absl::HexStringToBytes(spec.artifact_sha256()));
  return crypto::ToHex(h.Finish());
}

}  // namespace tverr::runs
