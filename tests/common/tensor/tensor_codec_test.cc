#include "common/tensor/tensor_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace tverr::tensor {
namespace {

using ::testing::HasSubstr;

// Bitwise equality, so NaN payloads and -0.0 count.
void ExpectSameBits(const TensorList& a, const TensorList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].shape, b[i].shape);
    ASSERT_EQ(a[i].values.size(), b[i].values.size());
    if (a[i].values.empty()) continue;
    EXPECT_EQ(
        std::memcmp(a[i].values.data(), b[i].values.data(), a[i].values.size() * sizeof(float)), 0)
        << a[i].name;
  }
}

TEST(NumElements, ProductOfDimensions) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(NumElements({}), 1);
  EXPECT_EQ(NumElements({7}), 7);
  EXPECT_EQ(NumElements({8, 1, 3, 3}), 72);
  EXPECT_EQ(NumElements({0, 5}), 0);
  EXPECT_EQ(NumElements({kMax, kMax, 0}), 0);
  EXPECT_EQ(NumElements({-1, 3}), -1);
  EXPECT_EQ(NumElements({kMax, 2}), -1);
  EXPECT_EQ(NumElements({int64_t{1} << 31, int64_t{1} << 31}), int64_t{1} << 62);
  EXPECT_EQ(NumElements({int64_t{1} << 32, int64_t{1} << 31}), -1);
}

TEST(TensorCodec, RoundTripsEveryKindOfTensor) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float denormal = std::numeric_limits<float>::denorm_min();
  TensorList list = {
      {"conv1.weight", {2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}},
      {"scale", {}, {-0.0f}},
      {"empty", {0, 3}, {}},
      {"odd", {3}, {nan, inf, denormal}},
  };
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  NamedTensor big{"fc.weight", {17, 33}, {}};
  for (int i = 0; i < 17 * 33; ++i) big.values.push_back(normal(rng));
  list.push_back(big);

  const std::string bytes = Encode(list);
  EXPECT_EQ(bytes.size(), EncodedHeaderSize(LayoutOf(list)) + (8 + 1 + 0 + 3 + 17 * 33) * 4);
  absl::StatusOr<TensorList> decoded = Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameBits(*decoded, list);
}

TEST(TensorCodec, RoundTripsEmptyList) {
  absl::StatusOr<TensorList> decoded = Decode(Encode({}));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->empty());
}

TEST(TensorCodec, EncodesTheDocumentedLayout) {
  const std::string bytes = Encode({{"ab", {2}, {1.0f, -2.0f}}});
  const std::string expected = std::string("TVTS") +                 //
                               std::string("\1\0\0\0", 4) +          // version
                               std::string("\1\0\0\0", 4) +          // count
                               std::string("\2\0\0\0", 4) +          // name length
                               "ab" +                                //
                               std::string("\1\1", 2) +              // dtype, ndim
                               std::string("\2\0\0\0\0\0\0\0", 8) +  // dim
                               std::string("\2\0\0\0\0\0\0\0", 8) +  // element count
                               std::string("\0\0\x80\x3f", 4) +      // 1.0f
                               std::string("\0\0\0\xc0", 4);         // -2.0f
  EXPECT_EQ(bytes, expected);
}

// Raw header writer for malformed inputs.
struct Raw {
  std::string bytes;
  Raw& U8(uint8_t v) {
    bytes.push_back(static_cast<char>(v));
    return *this;
  }
  Raw& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Raw& U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Raw& Str(const std::string& s) {
    bytes += s;
    return *this;
  }
  Raw& Preamble(uint32_t count) { return Str("TVTS").U32(1).U32(count); }
  // A tensor entry with the given dims and element count.
  Raw& Tensor(const std::string& name, std::vector<int64_t> dims, uint64_t count,
              uint8_t dtype = 1) {
    U32(static_cast<uint32_t>(name.size()))
        .Str(name)
        .U8(dtype)
        .U8(static_cast<uint8_t>(dims.size()));
    for (int64_t d : dims) U64(static_cast<uint64_t>(d));
    return U64(count);
  }
  Raw& Floats(size_t n) { return Str(std::string(4 * n, '\0')); }
};

struct MalformedCase {
  std::string name;
  std::string bytes;
  std::string error;
};
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class TensorCodecMalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(TensorCodecMalformedTest, IsRejected) {
  absl::StatusOr<TensorList> decoded = Decode(GetParam().bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, TensorCodecMalformedTest,
    ::testing::Values(
        MalformedCase{"Empty", "", "header truncated after 0 bytes"},
        MalformedCase{"BadMagic", Raw().Str("TVTX").U32(1).U32(0).bytes, "bad magic"},
        MalformedCase{"Version2", Raw().Str("TVTS").U32(2).U32(0).bytes,
                      "unsupported TVTS version 2"},
        MalformedCase{"TooManyTensors", Raw().Preamble(100001).bytes, "100001 tensors"},
        MalformedCase{"MissingTensors", Raw().Preamble(2).Tensor("a", {1}, 1).bytes,
                      "header truncated"},
        MalformedCase{"TruncatedInName", Raw().Preamble(1).U32(10).Str("abc").bytes,
                      "header truncated after 19 bytes"},
        MalformedCase{"EmptyName", Raw().Preamble(2).Tensor("a", {1}, 1).Tensor("", {1}, 1).bytes,
                      "tensor 1 has a name of 0 bytes"},
        MalformedCase{"LongName", Raw().Preamble(1).Tensor(std::string(1025, 'x'), {1}, 1).bytes,
                      "tensor 0 has a name of 1025 bytes"},
        MalformedCase{"NonPrintableName", Raw().Preamble(1).Tensor("a\nb", {1}, 1).bytes,
                      "tensor 0 has a non-printable byte in its name at position 1"},
        MalformedCase{"Dtype", Raw().Preamble(1).Tensor("fc.w", {1}, 1, /*dtype=*/2).bytes,
                      "tensor fc.w has unsupported dtype 2"},
        MalformedCase{"TooManyDims",
                      Raw().Preamble(1).Tensor("fc.w", {1, 1, 1, 1, 1, 1, 1, 1, 1}, 1).bytes,
                      "tensor fc.w has 9 dimensions (limit 8)"},
        MalformedCase{"NegativeDim", Raw().Preamble(1).Tensor("fc.w", {2, -3}, 6).bytes,
                      "tensor fc.w has negative dimension -3 at axis 1"},
        MalformedCase{"CountMismatch",
                      Raw().Preamble(1).Tensor("conv1.weight", {2, 3}, 5).Floats(5).bytes,
                      "tensor conv1.weight declares 5 elements, its shape [2,3] has 6"},
        MalformedCase{"ShapeOverflow",
                      Raw().Preamble(1).Tensor("w", {int64_t{1} << 40, int64_t{1} << 40}, 0).bytes,
                      "tensor w has too many elements for shape"},
        MalformedCase{"TotalOverflow",
                      Raw()
                          .Preamble(2)
                          .Tensor("a", {int64_t{1} << 59, 2}, uint64_t{1} << 60)
                          .Tensor("b", {1}, 1)
                          .bytes,
                      "more than"},
        MalformedCase{"Duplicate",
                      Raw().Preamble(2).Tensor("w", {1}, 1).Tensor("w", {1}, 1).Floats(2).bytes,
                      "duplicate tensor w at index 1"},
        MalformedCase{"DataShort", Raw().Preamble(1).Tensor("w", {3}, 3).Floats(2).bytes,
                      "TVTS data has 8 bytes, the header declares 12"},
        MalformedCase{"DataLong", Raw().Preamble(1).Tensor("w", {3}, 3).Floats(3).Str("x").bytes,
                      "TVTS data has 13 bytes, the header declares 12"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST(TensorHeaderParser, ByteByByteMatchesWhole) {
  const TensorList list = {{"a", {2, 2}, {1, 2, 3, 4}}, {"b", {}, {5}}, {"c", {0}, {}}};
  const std::string bytes = Encode(list);
  TensorHeaderParser parser;
  size_t used = 0;
  while (!parser.done()) {
    absl::StatusOr<size_t> n = parser.Consume(absl::string_view(bytes).substr(used, 1));
    ASSERT_TRUE(n.ok()) << n.status();
    used += *n;
  }
  EXPECT_EQ(used, EncodedHeaderSize(LayoutOf(list)));
  EXPECT_EQ(parser.header_bytes(), used);
  EXPECT_EQ(parser.layout(), LayoutOf(list));
  EXPECT_EQ(parser.element_counts(), (std::vector<uint64_t>{4, 1, 0}));
  EXPECT_EQ(parser.data_bytes(), 20u);
  EXPECT_EQ(parser.Consume("x").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TensorHeaderParser, RejectsHeaderLongerThanLimit) {
  const std::string bytes = Encode({{"a_long_name", {1}, {1}}});
  TensorHeaderParser parser(/*max_header_bytes=*/20);
  absl::StatusOr<size_t> n = parser.Consume(bytes);
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("longer than the expected 20 bytes"));
}

struct ValidateCase {
  std::string name;
  TensorList list;
  std::string error;  // empty: valid
};
void PrintTo(const ValidateCase& c, std::ostream* os) { *os << c.name; }

class ValidateTensorListTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateTensorListTest, Checks) {
  absl::Status s = ValidateTensorList(GetParam().list);
  if (GetParam().error.empty()) {
    EXPECT_TRUE(s.ok()) << s;
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().error));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateTensorListTest,
    ::testing::Values(
        ValidateCase{"Valid", {{"a", {2}, {1, 2}}, {"b", {}, {3}}}, ""},
        ValidateCase{
            "ValueCount", {{"a", {2, 2}, {1, 2, 3}}}, "tensor a has 3 values, shape [2,2] needs 4"},
        ValidateCase{"Duplicate", {{"a", {1}, {1}}, {"a", {1}, {1}}}, "duplicate tensor a"},
        ValidateCase{"EmptyName", {{"", {1}, {1}}}, "tensor 0 has an empty name"},
        ValidateCase{"NegativeDim", {{"a", {-1}, {}}}, "negative dimension"},
        ValidateCase{"Rank", {{"a", {1, 1, 1, 1, 1, 1, 1, 1, 1}, {1}}}, "9 dimensions"}),
    [](const ::testing::TestParamInfo<ValidateCase>& info) { return info.param.name; });

struct LayoutCase {
  std::string name;
  TensorLayout actual;
  std::string error;  // empty: same layout
};
void PrintTo(const LayoutCase& c, std::ostream* os) { *os << c.name; }

class SameLayoutTest : public ::testing::TestWithParam<LayoutCase> {};

const TensorLayout& ExpectedLayout() {
  static const TensorLayout* layout = new TensorLayout{{"conv1.weight", {8, 1, 5, 5}},
                                                       {"conv1.bias", {8}},
                                                       {"fc.weight", {10, 8}},
                                                       {"fc.bias", {10}}};
  return *layout;
}

TEST_P(SameLayoutTest, DescribesTheFirstDifference) {
  absl::Status s = SameLayout(GetParam().actual, ExpectedLayout());
  if (GetParam().error.empty()) {
    EXPECT_TRUE(s.ok()) << s;
  } else {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), GetParam().error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SameLayoutTest,
    ::testing::Values(
        LayoutCase{"Same", ExpectedLayout(), ""},
        LayoutCase{"Shape",
                   {{"conv1.weight", {8, 1, 3, 3}},
                    {"conv1.bias", {8}},
                    {"fc.weight", {10, 8}},
                    {"fc.bias", {10}}},
                   "tensor conv1.weight has shape [8,1,3,3], expected [8,1,5,5]"},
        LayoutCase{"ScalarShape",
                   {{"conv1.weight", {8, 1, 5, 5}},
                    {"conv1.bias", {}},
                    {"fc.weight", {10, 8}},
                    {"fc.bias", {10}}},
                   "tensor conv1.bias has shape [], expected [8]"},
        LayoutCase{"Unknown",
                   {{"conv1.weight", {8, 1, 5, 5}},
                    {"conv1.bias", {8}},
                    {"fc.weight", {10, 8}},
                    {"fc.bias2", {10}}},
                   "unknown tensor fc.bias2"},
        LayoutCase{"Extra",
                   {{"conv1.weight", {8, 1, 5, 5}},
                    {"conv1.bias", {8}},
                    {"fc.weight", {10, 8}},
                    {"fc.bias", {10}},
                    {"fc.extra", {1}}},
                   "unknown tensor fc.extra"},
        LayoutCase{"MissingInside",
                   {{"conv1.weight", {8, 1, 5, 5}}, {"fc.weight", {10, 8}}, {"fc.bias", {10}}},
                   "missing tensor conv1.bias"},
        LayoutCase{"MissingAtEnd",
                   {{"conv1.weight", {8, 1, 5, 5}}, {"conv1.bias", {8}}, {"fc.weight", {10, 8}}},
                   "missing tensor fc.bias"},
        LayoutCase{"Order",
                   {{"conv1.weight", {8, 1, 5, 5}},
                    {"conv1.bias", {8}},
                    {"fc.bias", {10}},
                    {"fc.weight", {10, 8}}},
                   "tensor order differs at index 2 (fc.bias, expected fc.weight)"}),
    [](const ::testing::TestParamInfo<LayoutCase>& info) { return info.param.name; });

TEST(TensorLayout, TotalElementsAndFormat) {
  EXPECT_EQ(TotalElements(ExpectedLayout()), 200 + 8 + 80 + 10);
  EXPECT_EQ(TotalElements({{"a", {-1}}}), -1);
  EXPECT_EQ(FormatShape({}), "[]");
  EXPECT_EQ(FormatShape({8, 1, 3, 3}), "[8,1,3,3]");
}

}  // namespace
}  // namespace tverr::tensor
