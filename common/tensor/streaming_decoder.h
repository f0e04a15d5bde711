// Decodes a TVTS tensor list (tensor_codec.h) as its bytes arrive, in pieces
// of any size (typically the 1-4 MiB chunks of a transfer), without holding
// the list in memory: once the header is complete it is checked against the
// layout the receiver expects, then every value is handed to a visitor as
// soon as its four bytes are there. Only the header fields and at most one
// partial float are kept between pieces; values are converted through a
// fixed scratch buffer of kBatchFloats floats.
//
// Errors are INVALID_ARGUMENT with a message naming the tensor (safe to send
// to the peer), or the visitor's own error. The first error is sticky: every
// later Add/Finish returns it. Single-threaded: one decoder per stream.
#ifndef TVERR_COMMON_TENSOR_STREAMING_DECODER_H_
#define TVERR_COMMON_TENSOR_STREAMING_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tensor/tensor_codec.h"

namespace tverr::tensor {

class StreamingTensorDecoder {
 public:
  // Receives values [element_offset, element_offset + count) of tensor
  // `tensor_index` (an index into the expected layout). Calls arrive in
  // stream order: each starts where the previous one ended, within one
  // tensor, count >= 1; tensors without elements are skipped. `values` is
  // valid only during the call. A non-OK status stops decoding and is
  // returned from Add().
  using Visitor = std::function<absl::Status(size_t tensor_index, uint64_t element_offset,
                                             const float* values, size_t count)>;

  struct Options {
    // Reject NaN and ±infinity. Each visitor call's values are checked before
    // the call, so the visitor never sees a non-finite value; the error
    // names the first one ("tensor fc.weight element 17 is not finite").
    // Default: false.
    bool require_finite = false;
  };

  // Largest number of values passed to one visitor call.
  static constexpr size_t kBatchFloats = 16384;

  // Slack allowed beyond the expected header's size before a header is
  // refused unparsed (small differences still get SameLayout's precise
  // message; a huge header never occupies memory).
  static constexpr uint64_t kHeaderSlackBytes = 64 * 1024;

  StreamingTensorDecoder(TensorLayout expected, Visitor visitor, Options options);
  StreamingTensorDecoder(TensorLayout expected, Visitor visitor)
      : StreamingTensorDecoder(std::move(expected), std::move(visitor), Options()) {}

  // Takes the next piece of the stream (may be empty, may split the header or
  // a float anywhere). OK: everything so far is consistent. INVALID_ARGUMENT:
  // malformed header, a layout other than the expected one (SameLayout's
  // message), bytes after the end of the data, or a non-finite value (with
  // require_finite); or the visitor's error.
  absl::Status Add(absl::string_view piece);

  // Call at the end of the stream. OK if the header and every data byte
  // arrived; INVALID_ARGUMENT naming where the stream stopped otherwise.
  absl::Status Finish();

  // True once the header was received and matched the expected layout.
  bool header_done() const { return header_done_; }
  // Bytes taken so far (header and data).
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  absl::Status Fail(absl::Status status);
  absl::Status AddData(absl::string_view data);
  absl::Status Deliver(const float* values, size_t count);
  void SkipEmptyTensors();

  const TensorLayout expected_;
  const Visitor visitor_;
  const Options options_;
  std::vector<uint64_t> counts_;  // element count per expected tensor
  TensorHeaderParser header_;
  bool header_done_ = false;
  absl::Status error_;
  uint64_t bytes_received_ = 0;
  size_t tensor_ = 0;    // tensor whose next value is expected
  uint64_t offset_ = 0;  // element offset within it
  unsigned char partial_[sizeof(float)] = {};
  size_t partial_bytes_ = 0;
  std::vector<float> scratch_;
};

}  // namespace tverr::tensor

#endif  // TVERR_COMMON_TENSOR_STREAMING_DECODER_H_
