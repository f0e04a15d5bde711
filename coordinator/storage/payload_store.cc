#include "coordinator/storage/payload_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator {

absl::StatusOr<std::unique_ptr<PayloadStore>> PayloadStore::Open(const std::string& dir) {
  std::unique_ptr<PayloadStore> out(new PayloadStore());
  ASSIGN_OR_RETURN(out->uploads_, store::BlobStore::Open(dir + "/uploads"));
  for (v1::PayloadKind kind : {v1::PAYLOAD_KIND_MODEL_ARTIFACT, v1::PAYLOAD_KIND_GLOBAL_WEIGHTS}) {
    std::string name = absl::AsciiStrToLower(v1::PayloadKind_Name(kind));
    ASSIGN_OR_RETURN(out->published_[kind],
                     store::BlobStore::Open(absl::StrCat(dir, "/published/", name)));
  }
  return out;
}

absl::StatusOr<crypto::Sha256Digest> PayloadStore::Publish(v1::PayloadKind kind,
                                                           absl::string_view data) {
  auto it = published_.find(kind);
  if (it == published_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload kind ", v1::PayloadKind_Name(kind), " cannot be published"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<store::BlobWriter> writer, it->second->NewWriter());
  RETURN_IF_ERROR(writer->Append(data));
  crypto::Sha256Digest digest = crypto::Sha256(data);
  RETURN_IF_ERROR(writer->Commit(digest));
  return digest;
}

absl::StatusOr<PayloadStore::Published> PayloadStore::FindPublished(
    const crypto::Sha256Digest& digest) const {
  for (const auto& [kind, blobs] : published_) {
    absl::StatusOr<std::string> path = blobs->PathOf(digest);
    if (path.ok()) return Published{kind, *path};
  }
  return absl::NotFoundError(absl::StrCat("no published payload with digest ",
                                          crypto::ToHex(digest)));
}

}  // namespace tverr::coordinator
