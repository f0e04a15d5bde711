#include "common/tensor/streaming_decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "TVTS float data is copied as-is; a big-endian port must byte-swap");

namespace tverr::tensor {

StreamingTensorDecoder::StreamingTensorDecoder(TensorLayout expected, Visitor visitor,
                                               Options options)
    : expected_(std::move(expected)),
      visitor_(std::move(visitor)),
      options_(options),
      header_(EncodedHeaderSize(expected_) + kHeaderSlackBytes) {
  counts_.reserve(expected_.size());
  for (const TensorSpec& s : expected_) {
    counts_.push_back(static_cast<uint64_t>(std::max<int64_t>(0, NumElements(s.shape))));
  }
}

absl::Status StreamingTensorDecoder::Fail(absl::Status status) {
  error_ = status;
  return status;
}

absl::Status StreamingTensorDecoder::Add(absl::string_view piece) {
  if (!error_.ok()) return error_;
  bytes_received_ += piece.size();
  if (!header_done_) {
    absl::StatusOr<size_t> used = header_.Consume(piece);
    if (!used.ok()) return Fail(used.status());
    if (!header_.done()) return absl::OkStatus();
    if (absl::Status s = SameLayout(header_.layout(), expected_); !s.ok()) return Fail(s);
    header_done_ = true;
    header_ = TensorHeaderParser();  // the parsed layout is no longer needed
    SkipEmptyTensors();
    piece.remove_prefix(*used);
  }
  if (absl::Status s = AddData(piece); !s.ok()) return Fail(s);
  return absl::OkStatus();
}

void StreamingTensorDecoder::SkipEmptyTensors() {
  while (tensor_ < counts_.size() && offset_ == counts_[tensor_]) {
    ++tensor_;
    offset_ = 0;
  }
}

absl::Status StreamingTensorDecoder::AddData(absl::string_view data) {
  if (data.empty()) return absl::OkStatus();
  if (tensor_ == counts_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(data.size(), " bytes after the end of the tensor data"));
  }
  if (scratch_.empty()) scratch_.resize(kBatchFloats);
  // Complete a float split across pieces.
  if (partial_bytes_ > 0) {
    const size_t take = std::min(sizeof(float) - partial_bytes_, data.size());
    std::memcpy(partial_ + partial_bytes_, data.data(), take);
    partial_bytes_ += take;
    data.remove_prefix(take);
    if (partial_bytes_ < sizeof(float)) return absl::OkStatus();
    partial_bytes_ = 0;
    std::memcpy(scratch_.data(), partial_, sizeof(float));
    RETURN_IF_ERROR(Deliver(scratch_.data(), 1));
  }
  while (data.size() >= sizeof(float)) {
    if (tensor_ == counts_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(data.size(), " bytes after the end of the tensor data"));
    }
    const uint64_t left_in_tensor = counts_[tensor_] - offset_;
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({left_in_tensor, data.size() / sizeof(float), kBatchFloats}));
    std::memcpy(scratch_.data(), data.data(), n * sizeof(float));
    data.remove_prefix(n * sizeof(float));
    RETURN_IF_ERROR(Deliver(scratch_.data(), n));
  }
  if (!data.empty()) {
    if (tensor_ == counts_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(data.size(), " bytes after the end of the tensor data"));
    }
    std::memcpy(partial_, data.data(), data.size());
    partial_bytes_ = data.size();
  }
  return absl::OkStatus();
}

absl::Status StreamingTensorDecoder::Deliver(const float* values, size_t count) {
  if (options_.require_finite) {
    if (const size_t i = FirstNonFinite(values, count); i != count) {
      return absl::InvalidArgumentError(absl::StrCat("tensor ", expected_[tensor_].name,
                                                     " element ", offset_ + i, " is not finite"));
    }
  }
  RETURN_IF_ERROR(visitor_(tensor_, offset_, values, count));
  offset_ += count;
  SkipEmptyTensors();
  return absl::OkStatus();
}

absl::Status StreamingTensorDecoder::Finish() {
  if (!error_.ok()) return error_;
  if (!header_done_) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("TVTS header truncated after ", bytes_received_, " bytes")));
  }
  if (tensor_ < counts_.size()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "tensor data truncated: tensor ", expected_[tensor_].name, " has ", offset_, " of ",
        counts_[tensor_], " elements", partial_bytes_ > 0 ? " and a partial float" : "")));
  }
  return absl::OkStatus();
}

}  // namespace tverr::tensor
