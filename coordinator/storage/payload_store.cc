#include "coordinator/storage/payload_store.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator {

absl::StatusOr<std::unique_ptr<PayloadStore>> PayloadStore::Open(const std::string& dir) {
  std::unique_ptr<PayloadStore> out(new PayloadStore());
  ASSIGN_OR_RETURN(out->uploads_, store::BlobStore::Open(dir + "/uploads"));
  ASSIGN_OR_RETURN(out->staged_, store::BlobStore::Open(dir + "/staged"));
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

namespace {

absl::StatusOr<crypto::Sha256Digest> ParseDigest(const std::string& sha256_hex) {
  crypto::Sha256Digest digest;
  if (sha256_hex.size() != 64 ||
      sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", sha256_hex.substr(0, 80), "' is not a lower-case hex SHA-256 digest"));
  }
  for (size_t i = 0; i < 32; ++i) {
    digest[i] = static_cast<uint8_t>(std::stoi(sha256_hex.substr(2 * i, 2), nullptr, 16));
  }
  return digest;
}

absl::StatusOr<std::string> ReadVerified(const std::string& path, const std::string& sha256_hex) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (crypto::ToHex(crypto::Sha256(bytes.str())) != sha256_hex) {
    return absl::DataLossError(absl::StrCat("payload ", sha256_hex, " is damaged on disk"));
  }
  return bytes.str();
}

}  // namespace

absl::StatusOr<std::string> PayloadStore::ReadPublished(const std::string& sha256_hex) const {
  ASSIGN_OR_RETURN(crypto::Sha256Digest digest, ParseDigest(sha256_hex));
  ASSIGN_OR_RETURN(Published published, FindPublished(digest));
  return ReadVerified(published.path, sha256_hex);
}

absl::StatusOr<std::string> PayloadStore::ReadStaged(const std::string& sha256_hex) const {
  ASSIGN_OR_RETURN(crypto::Sha256Digest digest, ParseDigest(sha256_hex));
  absl::StatusOr<std::string> path = staged_->PathOf(digest);
  if (!path.ok()) {
    return absl::NotFoundError(absl::StrCat("no uploaded payload with digest ", sha256_hex,
                                            " (send it with UploadPayload first)"));
  }
  return ReadVerified(*path, sha256_hex);
}

}  // namespace tverr::coordinator
