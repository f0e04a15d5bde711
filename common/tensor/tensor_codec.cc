#include "common/tensor/tensor_codec.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "TVTS float data is copied as-is; a big-endian port must byte-swap");
static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

namespace tverr::tensor {
namespace {

constexpr size_t kPreambleBytes = 12;  // magic, version, tensor count

void PutU32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLE(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = bytes.size(); i > 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[i - 1]);
  }
  return v;
}

// Name rules shared by the parser and ValidateTensorList. `label` names the
// tensor by index, since a bad name must not be echoed.
absl::Status CheckName(absl::string_view name, const std::string& label) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(label, " has an empty name"));
  if (name.size() > kMaxTensorNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(label, " has a name of ", name.size(),
                                                   " bytes (limit ", kMaxTensorNameBytes, ")"));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, " has a non-printable byte in its name at position ", i));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRank(size_t ndim, const std::string& name) {
  if (ndim > kMaxTensorDims) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has ", ndim, " dimensions (limit ", kMaxTensorDims, ")"));
  }
  return absl::OkStatus();
}

// Checks the dims and returns the element count they imply.
absl::StatusOr<uint64_t> CheckShape(const std::vector<int64_t>& shape, const std::string& name) {
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", name, " has negative dimension ", shape[i], " at axis ", i));
    }
  }
  const int64_t n = NumElements(shape);
  if (n < 0 || static_cast<uint64_t>(n) > kMaxTotalElements) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor ", name, " has too many elements for shape ", FormatShape(shape)));
  }
  return static_cast<uint64_t>(n);
}

absl::Status AddToTotal(uint64_t count, uint64_t* total) {
  if (count > kMaxTotalElements - *total) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor list has more than ", kMaxTotalElements, " elements in total"));
  }
  *total += count;
  return absl::OkStatus();
}

}  // namespace

TensorLayout LayoutOf(const TensorList& list) {
  TensorLayout layout;
  layout.reserve(list.size());
  for (const NamedTensor& t : list) layout.push_back(TensorSpec{t.name, t.shape});
  return layout;
}

int64_t TotalElements(const TensorLayout& layout) {
  uint64_t total = 0;
  for (const TensorSpec& s : layout) {
    const int64_t n = NumElements(s.shape);
    if (n < 0 || !AddToTotal(static_cast<uint64_t>(n), &total).ok()) return -1;
  }
  return static_cast<int64_t>(total);
}

std::string FormatShape(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

absl::Status SameLayout(const TensorLayout& actual, const TensorLayout& expected) {
  std::unordered_map<std::string_view, size_t> expected_index;
  std::unordered_map<std::string_view, size_t> actual_index;
  for (size_t i = 0; i < expected.size(); ++i) expected_index.emplace(expected[i].name, i);
  for (size_t i = 0; i < actual.size(); ++i) actual_index.emplace(actual[i].name, i);
  const size_t common = std::min(actual.size(), expected.size());
  for (size_t i = 0; i < common; ++i) {
    const TensorSpec& a = actual[i];
    const TensorSpec& e = expected[i];
    if (a.name == e.name) {
      if (a.shape != e.shape) {
        return absl::InvalidArgumentError(absl::StrCat("tensor ", a.name, " has shape ",
                                                       FormatShape(a.shape), ", expected ",
                                                       FormatShape(e.shape)));
      }
      continue;
    }
    if (expected_index.count(a.name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown tensor ", a.name));
    }
    if (actual_index.count(e.name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("missing tensor ", e.name));
    }
    return absl::InvalidArgumentError(absl::StrCat("tensor order differs at index ", i, " (",
                                                   a.name, ", expected ", e.name, ")"));
  }
  if (actual.size() > common) {
    const std::string& name = actual[common].name;
    return absl::InvalidArgumentError(expected_index.count(name) == 0
                                          ? absl::StrCat("unknown tensor ", name)
                                          : absl::StrCat("duplicate tensor ", name));
  }
  if (expected.size() > common) {
    return absl::InvalidArgumentError(absl::StrCat("missing tensor ", expected[common].name));
  }
  return absl::OkStatus();
}

absl::Status ValidateTensorList(const TensorList& list) {
  if (list.size() > kMaxTensors) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor list has ", list.size(), " tensors (limit ", kMaxTensors, ")"));
  }
  std::unordered_set<std::string_view> names;
  uint64_t total = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const NamedTensor& t = list[i];
    RETURN_IF_ERROR(CheckName(t.name, absl::StrCat("tensor ", i)));
    if (!names.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate tensor ", t.name));
    }
    RETURN_IF_ERROR(CheckRank(t.shape.size(), t.name));
    ASSIGN_OR_RETURN(uint64_t n, CheckShape(t.shape, t.name));
    if (t.values.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("tensor ", t.name, " has ", t.values.size(),
                                                     " values, shape ", FormatShape(t.shape),
                                                     " needs ", n));
    }
    RETURN_IF_ERROR(AddToTotal(n, &total));
  }
  return absl::OkStatus();
}

uint64_t EncodedHeaderSize(const TensorLayout& layout) {
  uint64_t size = kPreambleBytes;
  for (const TensorSpec& s : layout) size += 4 + s.name.size() + 2 + 8 * s.shape.size() + 8;
  return size;
}

std::string Encode(const TensorList& list) {
  if (absl::Status s = ValidateTensorList(list); !s.ok()) {
    std::fprintf(stderr, "tensor::Encode called with an invalid list: %s\n",
                 std::string(s.message()).c_str());
    std::abort();
  }
  const TensorLayout layout = LayoutOf(list);
  const uint64_t data_bytes = static_cast<uint64_t>(TotalElements(layout)) * sizeof(float);
  std::string out;
  out.reserve(EncodedHeaderSize(layout) + data_bytes);
  out.append(kTensorMagic, 4);
  PutU32(kTensorFormatVersion, &out);
  PutU32(static_cast<uint32_t>(list.size()), &out);
  for (const NamedTensor& t : list) {
    PutU32(static_cast<uint32_t>(t.name.size()), &out);
    out.append(t.name);
    out.push_back(static_cast<char>(kDtypeFloat32));
    out.push_back(static_cast<char>(t.shape.size()));
    for (int64_t d : t.shape) PutU64(static_cast<uint64_t>(d), &out);
    PutU64(t.values.size(), &out);
  }
  for (const NamedTensor& t : list) {
    out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
  }
  return out;
}

absl::StatusOr<TensorList> Decode(absl::string_view bytes) {
  TensorHeaderParser parser;
  ASSIGN_OR_RETURN(size_t header_bytes, parser.Consume(bytes));
  if (!parser.done()) {
    return absl::InvalidArgumentError(
        absl::StrCat("TVTS header truncated after ", bytes.size(), " bytes"));
  }
  const absl::string_view data = bytes.substr(header_bytes);
  if (data.size() != parser.data_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TVTS data has ", data.size(), " bytes, the header declares ", parser.data_bytes()));
  }
  TensorList list;
  list.reserve(parser.layout().size());
  size_t offset = 0;
  for (size_t i = 0; i < parser.layout().size(); ++i) {
    NamedTensor t;
    t.name = parser.layout()[i].name;
    t.shape = parser.layout()[i].shape;
    t.values.resize(parser.element_counts()[i]);
    if (!t.values.empty()) {
      std::memcpy(t.values.data(), data.data() + offset, t.values.size() * sizeof(float));
    }
    offset += t.values.size() * sizeof(float);
    list.push_back(std::move(t));
  }
  return list;
}

// ---- TensorHeaderParser ----------------------------------------------------

void TensorHeaderParser::Expect(State state, size_t bytes) {
  state_ = state;
  need_ = bytes;
  field_.clear();
}

std::string TensorHeaderParser::TensorLabel() const {
  return current_.name.empty() ? absl::StrCat("tensor ", layout_.size())
                               : absl::StrCat("tensor ", current_.name);
}

absl::StatusOr<size_t> TensorHeaderParser::Consume(absl::string_view data) {
  if (state_ == State::kDone || state_ == State::kFailed) {
    return absl::FailedPreconditionError("TVTS header parser is no longer accepting bytes");
  }
  size_t used = 0;
  while (state_ != State::kDone && used < data.size()) {
    const size_t take = std::min(need_ - field_.size(), data.size() - used);
    field_.append(data.data() + used, take);
    used += take;
    consumed_ += take;
    if (consumed_ > max_header_bytes_) {
      state_ = State::kFailed;
      return absl::InvalidArgumentError(
          absl::StrCat("TVTS header is longer than the expected ", max_header_bytes_, " bytes"));
    }
    if (field_.size() < need_) break;
    if (absl::Status s = ParseField(field_); !s.ok()) {
      state_ = State::kFailed;
      return s;
    }
  }
  return used;
}

absl::Status TensorHeaderParser::ParseField(absl::string_view field) {
  switch (state_) {
    case State::kPreamble: {
      if (field.substr(0, 4) != absl::string_view(kTensorMagic, 4)) {
        return absl::InvalidArgumentError("not a TVTS tensor list (bad magic)");
      }
      const uint64_t version = GetLE(field.substr(4, 4));
      if (version != kTensorFormatVersion) {
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported TVTS version ", version, " (expected 1)"));
      }
      tensor_count_ = static_cast<uint32_t>(GetLE(field.substr(8, 4)));
      if (tensor_count_ > kMaxTensors) {
        return absl::InvalidArgumentError(absl::StrCat("TVTS header declares ", tensor_count_,
                                                       " tensors (limit ", kMaxTensors, ")"));
      }
      if (tensor_count_ == 0) {
        Expect(State::kDone, 0);
      } else {
        Expect(State::kNameLength, 4);
      }
      return absl::OkStatus();
    }
    case State::kNameLength: {
      current_ = TensorSpec{};
      const uint64_t length = GetLE(field);
      if (length == 0 || length > kMaxTensorNameBytes) {
        return absl::InvalidArgumentError(absl::StrCat("tensor ", layout_.size(), " has a name of ",
                                                       length, " bytes (must be 1..",
                                                       kMaxTensorNameBytes, ")"));
      }
      Expect(State::kName, length);
      return absl::OkStatus();
    }
    case State::kName: {
      RETURN_IF_ERROR(CheckName(field, TensorLabel()));
      if (names_.count(std::string(field)) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("duplicate tensor ", field, " at index ", layout_.size()));
      }
      current_.name = std::string(field);
      Expect(State::kTypeAndRank, 2);
      return absl::OkStatus();
    }
    case State::kTypeAndRank: {
      const auto dtype = static_cast<uint8_t>(field[0]);
      if (dtype != kDtypeFloat32) {
        return absl::InvalidArgumentError(
            absl::StrCat(TensorLabel(), " has unsupported dtype ", dtype, " (only 1 = float32)"));
      }
      ndim_ = static_cast<uint8_t>(field[1]);
      RETURN_IF_ERROR(CheckRank(ndim_, current_.name));
      if (ndim_ == 0) {
        Expect(State::kElementCount, 8);
      } else {
        Expect(State::kDims, 8 * size_t{ndim_});
      }
      return absl::OkStatus();
    }
    case State::kDims: {
      current_.shape.resize(ndim_);
      for (size_t i = 0; i < ndim_; ++i) {
        current_.shape[i] = static_cast<int64_t>(GetLE(field.substr(8 * i, 8)));
      }
      Expect(State::kElementCount, 8);
      return absl::OkStatus();
    }
    case State::kElementCount:
      return EndTensor();
    case State::kDone:
    case State::kFailed:
      break;
  }
  return absl::InternalError("TVTS header parser in an impossible state");
}

absl::Status TensorHeaderParser::EndTensor() {
  const uint64_t declared = GetLE(field_);
  ASSIGN_OR_RETURN(uint64_t n, CheckShape(current_.shape, current_.name));
  if (declared != n) {
    return absl::InvalidArgumentError(absl::StrCat("tensor ", current_.name, " declares ", declared,
                                                   " elements, its shape ",
                                                   FormatShape(current_.shape), " has ", n));
  }
  RETURN_IF_ERROR(AddToTotal(n, &total_elements_));
  names_.insert(current_.name);
  layout_.push_back(std::move(current_));
  current_ = TensorSpec{};
  counts_.push_back(n);
  if (layout_.size() == tensor_count_) {
    Expect(State::kDone, 0);
  } else {
    Expect(State::kNameLength, 4);
  }
  return absl::OkStatus();
}

}  // namespace tverr::tensor
