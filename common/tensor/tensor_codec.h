// TVTS: Tverr's binary format for a TensorList (global weights, updates,
// server optimizer state), and the layout (names + shapes) used to check that
// two lists describe the same model.
//
// Format, all integers little-endian:
//   header:  "TVTS"  u32 version (= 1)  u32 tensor_count
//            per tensor: u32 name_length, name bytes, u8 dtype (1 = float32),
//                        u8 ndim, i64 dims[ndim], u64 element_count
//   data:    every tensor's values in header order, raw little-endian
//            float32, no padding.
// The header comes first so a receiver can check the layout before any data
// arrives (see streaming_decoder.h).
//
// Limits (checked by Decode and ValidateTensorList): at most kMaxTensors
// tensors; names 1..kMaxTensorNameBytes bytes of printable ASCII (0x20..0x7e),
// unique; at most kMaxTensorDims dimensions, none negative; element_count
// equal to the product of the dims; data exactly as long as the element
// counts say.
//
// Errors are INVALID_ARGUMENT naming the tensor and the problem; messages
// contain tensor names and sizes only, never values, so they are safe to send
// back to the peer. Thread-safety: free functions are thread-safe;
// TensorHeaderParser is single-threaded (one per stream).
#ifndef TVERR_COMMON_TENSOR_TENSOR_CODEC_H_
#define TVERR_COMMON_TENSOR_TENSOR_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tensor/named_tensors.h"

namespace tverr::tensor {

inline constexpr char kTensorMagic[] = "TVTS";  // 4 bytes on the wire, no NUL
inline constexpr uint32_t kTensorFormatVersion = 1;
inline constexpr uint8_t kDtypeFloat32 = 1;
inline constexpr uint32_t kMaxTensors = 100000;
inline constexpr uint32_t kMaxTensorNameBytes = 1024;
inline constexpr uint32_t kMaxTensorDims = 8;
// Upper bound on the total element count of a list, so byte sizes never
// overflow 64-bit arithmetic (far beyond any model).
inline constexpr uint64_t kMaxTotalElements = uint64_t{1} << 60;

// Name and shape of one tensor, without values.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool operator==(const TensorSpec& o) const { return name == o.name && shape == o.shape; }
};
// A model's layout: its tensors' names and shapes, in order.
using TensorLayout = std::vector<TensorSpec>;

// The layout of `list` (no validation).
TensorLayout LayoutOf(const TensorList& list);

// Sum of the element counts of `layout`; -1 if a shape is invalid or the sum
// exceeds kMaxTotalElements.
int64_t TotalElements(const TensorLayout& layout);

// "[8,1,3,3]"; "[]" for a scalar.
std::string FormatShape(const std::vector<int64_t>& shape);

// OK if `actual` has exactly the tensors of `expected`, in the same order,
// with the same shapes. Otherwise INVALID_ARGUMENT describing the first
// difference in order, e.g. "unknown tensor fc.bias2", "missing tensor
// fc.bias", "tensor order differs at index 3 (fc.bias, expected fc.weight)",
// "tensor conv1.weight has shape [8,1,3,3], expected [8,1,5,5]".
// Names within each layout are expected to be unique (as Decode and
// ValidateTensorList guarantee).
absl::Status SameLayout(const TensorLayout& actual, const TensorLayout& expected);

// OK if `list` can be encoded and decoded back: the limits above hold and
// every tensor has as many values as its shape says. INVALID_ARGUMENT
// naming the first offending tensor otherwise. Values are not inspected
// (non-finite values are representable).
absl::Status ValidateTensorList(const TensorList& list);

// Size in bytes of the TVTS header for `layout` (which must satisfy the
// limits above).
uint64_t EncodedHeaderSize(const TensorLayout& layout);

// Encodes `list`. Precondition: ValidateTensorList(list) is OK (lists built
// by Decode, by the aggregators, or checked by the caller); a violation is a
// programming error and aborts the process.
std::string Encode(const TensorList& list);

// Decodes a complete TVTS byte string. INVALID_ARGUMENT for anything that is
// not a well-formed TVTS version 1 list within the limits (bad magic or
// version, truncated header, bad name/dtype/shape/count, duplicate name,
// data shorter or longer than the header says).
absl::StatusOr<TensorList> Decode(absl::string_view bytes);

// Incremental parser of a TVTS header, for bytes that arrive in pieces; used
// by Decode and StreamingTensorDecoder. Buffers at most one header field
// (≤ kMaxTensorNameBytes bytes) besides the parsed layout.
class TensorHeaderParser {
 public:
  // A header longer than `max_header_bytes` is rejected as soon as that is
  // known (a receiver that expects a given layout bounds its memory this way).
  explicit TensorHeaderParser(uint64_t max_header_bytes = std::numeric_limits<uint64_t>::max())
      : max_header_bytes_(max_header_bytes) {}

  // Consumes the header bytes at the start of `data` and returns how many it
  // took: all of `data` while the header is incomplete, fewer when the header
  // ends inside `data` (the rest is tensor data). INVALID_ARGUMENT if the
  // header is malformed; FAILED_PRECONDITION after done() or after an error.
  absl::StatusOr<size_t> Consume(absl::string_view data);

  // True once the whole header has been parsed and validated.
  bool done() const { return state_ == State::kDone; }

  // Valid once done(): the layout, each tensor's element count, the header's
  // size and the number of data bytes that must follow it.
  const TensorLayout& layout() const { return layout_; }
  const std::vector<uint64_t>& element_counts() const { return counts_; }
  uint64_t header_bytes() const { return consumed_; }
  uint64_t data_bytes() const { return total_elements_ * sizeof(float); }

 private:
  enum class State {
    kPreamble,
    kNameLength,
    kName,
    kTypeAndRank,
    kDims,
    kElementCount,
    kDone,
    kFailed
  };
  absl::Status ParseField(absl::string_view field);
  absl::Status EndTensor();
  void Expect(State state, size_t bytes);
  std::string TensorLabel() const;

  uint64_t max_header_bytes_;
  State state_ = State::kPreamble;
  size_t need_ = 12;   // bytes of the current field
  std::string field_;  // bytes of the current field received so far
  uint64_t consumed_ = 0;
  uint32_t tensor_count_ = 0;
  TensorSpec current_;
  uint8_t ndim_ = 0;
  TensorLayout layout_;
  std::vector<uint64_t> counts_;
  std::unordered_set<std::string> names_;
  uint64_t total_elements_ = 0;
};

}  // namespace tverr::tensor

#endif  // TVERR_COMMON_TENSOR_TENSOR_CODEC_H_
