#include "common/transfer/chunk_assembler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/transfer/limits.h"

namespace tverr::transfer {

ChunkAssembler::ChunkAssembler(uint64_t max_total_bytes,
                               std::function<bool(v1::PayloadKind)> kind_accepted,
                               DataSink sink)
    : max_total_bytes_(max_total_bytes),
      kind_accepted_(std::move(kind_accepted)),
      sink_(std::move(sink)) {}

absl::Status ChunkAssembler::Fail(absl::Status status) {
  state_ = State::kFailed;
  return status;
}

absl::Status ChunkAssembler::Add(const v1::Chunk& chunk) {
  if (state_ == State::kFailed) {
    return absl::FailedPreconditionError("transfer already failed");
  }
  if (state_ == State::kDone) {
    return Fail(absl::InvalidArgumentError("message after the transfer's closing digest"));
  }
  switch (chunk.part_case()) {
    case v1::Chunk::kHeader:
      return AddHeader(chunk.header());
    case v1::Chunk::kData:
      return AddData(chunk.data());
    case v1::Chunk::kTrailer:
      return AddTrailer(chunk.trailer());
    case v1::Chunk::PART_NOT_SET:
      break;
  }
  return Fail(absl::InvalidArgumentError(
      absl::StrCat("chunk ", chunks_, " has no header, data or trailer")));
}

absl::Status ChunkAssembler::AddHeader(const v1::TransferHeader& header) {
  if (state_ != State::kExpectHeader) {
    return Fail(absl::InvalidArgumentError("second transfer header in one transfer"));
  }
  if (!v1::PayloadKind_IsValid(header.kind()) ||
      header.kind() == v1::PAYLOAD_KIND_UNSPECIFIED) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("transfer header has unknown payload kind ", header.kind())));
  }
  if (!kind_accepted_(header.kind())) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "payload kind ", v1::PayloadKind_Name(header.kind()), " is not accepted here")));
  }
  if (header.total_size() > max_total_bytes_) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "declared transfer size ", header.total_size(), " bytes exceeds the limit of ",
        max_total_bytes_, " bytes")));
  }
  header_ = header;
  state_ = State::kData;
  return absl::OkStatus();
}

absl::Status ChunkAssembler::AddData(absl::string_view data) {
  if (state_ != State::kData) {
    return Fail(absl::InvalidArgumentError("data chunk before the transfer header"));
  }
  ++chunks_;
  if (data.empty()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("data chunk ", chunks_, " is empty")));
  }
  if (data.size() > kMaxChunkBytes) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("data chunk ", chunks_, " has ",
                                                        data.size(), " bytes; the limit is ",
                                                        kMaxChunkBytes)));
  }
  if (received_ + data.size() > header_.total_size()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "transfer carries more than its declared ", header_.total_size(), " bytes")));
  }
  if (data.size() < kMinChunkBytes && received_ + data.size() != header_.total_size()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("data chunk ", chunks_, " has ", data.size(),
                     " bytes; only the last chunk may be smaller than ", kMinChunkBytes)));
  }
  received_ += data.size();
  hasher_.Update(data);
  absl::Status s = sink_(data);
  if (!s.ok()) return Fail(s);
  return absl::OkStatus();
}

absl::Status ChunkAssembler::AddTrailer(const v1::TransferTrailer& trailer) {
  if (state_ != State::kData) {
    return Fail(absl::InvalidArgumentError("transfer trailer before the transfer header"));
  }
  if (received_ != header_.total_size()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("transfer closed after ", received_, " of its declared ",
                     header_.total_size(), " bytes")));
  }
  if (trailer.sha256().digest().size() != 32) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "closing digest has ", trailer.sha256().digest().size(), " bytes; expected 32")));
  }
  digest_ = hasher_.Finish();
  if (crypto::AsStringView(digest_) != trailer.sha256().digest()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "SHA-256 mismatch: data hash to ", crypto::ToHex(digest_), " but the sender declared ",
        crypto::ToHex(trailer.sha256().digest()))));
  }
  state_ = State::kDone;
  return absl::OkStatus();
}

absl::Status ChunkAssembler::Finish() const {
  switch (state_) {
    case State::kDone:
      return absl::OkStatus();
    case State::kExpectHeader:
      return absl::InvalidArgumentError("transfer ended before its header");
    case State::kData:
      return absl::InvalidArgumentError(
          absl::StrCat("transfer truncated: stream ended after ", received_, " of ",
                       header_.total_size(), " bytes without a closing digest"));
    case State::kFailed:
      break;
  }
  return absl::InvalidArgumentError("transfer failed");
}

}  // namespace tverr::transfer
