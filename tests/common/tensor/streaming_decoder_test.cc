#include "common/tensor/streaming_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"

namespace tverr::tensor {
namespace {

using ::testing::HasSubstr;

TensorList RandomModel(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  TensorList list = {{"conv1.weight", {8, 1, 3, 3}, {}}, {"conv1.bias", {8}, {}},
                     {"bn.num_batches", {}, {}},         {"unused", {0, 4}, {}},
                     {"fc.weight", {10, 72}, {}},        {"fc.bias", {10}, {}}};
  for (NamedTensor& t : list) {
    t.values.resize(NumElements(t.shape));
    for (float& v : t.values) v = normal(rng);
  }
  return list;
}

// Rebuilds a list from the visitor calls, checking their documented order.
struct Collector {
  explicit Collector(const TensorList& like) {
    for (const NamedTensor& t : like) {
      list.push_back({t.name, t.shape, std::vector<float>(t.values.size(), -12345.0f)});
    }
  }
  StreamingTensorDecoder::Visitor Visitor() {
    return [this](size_t tensor, uint64_t offset, const float* values, size_t count) {
      EXPECT_GE(count, 1u);
      EXPECT_LE(count, StreamingTensorDecoder::kBatchFloats);
      EXPECT_TRUE(tensor > next_tensor || (tensor == next_tensor && offset == next_offset))
          << "out of order: " << tensor << "@" << offset;
      EXPECT_EQ(offset, tensor == next_tensor ? next_offset : 0u);
      EXPECT_LE(offset + count, list[tensor].values.size());
      std::memcpy(list[tensor].values.data() + offset, values, count * sizeof(float));
      next_tensor = tensor;
      next_offset = offset + count;
      ++calls;
      return absl::OkStatus();
    };
  }
  TensorList list;
  size_t next_tensor = 0;
  uint64_t next_offset = 0;
  int calls = 0;
};

std::vector<absl::string_view> Split(absl::string_view bytes, std::mt19937& rng, size_t max_piece) {
  std::vector<absl::string_view> pieces;
  std::uniform_int_distribution<size_t> size(1, max_piece);
  while (!bytes.empty()) {
    const size_t n = std::min(size(rng), bytes.size());
    pieces.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return pieces;
}

TEST(StreamingTensorDecoder, AnyPieceSizesGiveTheDecodedList) {
  const TensorList model = RandomModel(1);
  const std::string bytes = Encode(model);
  const absl::StatusOr<TensorList> whole = Decode(bytes);
  ASSERT_TRUE(whole.ok()) << whole.status();
  std::mt19937 rng(42);
  for (size_t max_piece : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{7}, size_t{64},
                           size_t{1000}, bytes.size()}) {
    for (int repeat = 0; repeat < 5; ++repeat) {
      Collector collector(model);
      StreamingTensorDecoder decoder(LayoutOf(model), collector.Visitor());
      for (absl::string_view piece : Split(bytes, rng, max_piece)) {
        ASSERT_TRUE(decoder.Add(piece).ok());
        ASSERT_TRUE(decoder.Add("").ok());  // empty pieces are harmless
      }
      ASSERT_TRUE(decoder.Finish().ok());
      EXPECT_EQ(decoder.bytes_received(), bytes.size());
      for (size_t t = 0; t < model.size(); ++t) {
        EXPECT_EQ(collector.list[t].values, whole->at(t).values)
            << "max_piece " << max_piece << " tensor " << model[t].name;
      }
    }
  }
}

TEST(StreamingTensorDecoder, LargeTensorIsDeliveredInBatches) {
  TensorList model = {{"big", {100000}, std::vector<float>(100000, 0.5f)}};
  Collector collector(model);
  StreamingTensorDecoder decoder(LayoutOf(model), collector.Visitor());
  ASSERT_TRUE(decoder.Add(Encode(model)).ok());
  ASSERT_TRUE(decoder.Finish().ok());
  EXPECT_EQ(collector.calls, 7);  // ceil(100000 / 16384)
  EXPECT_EQ(collector.list[0].values, model[0].values);
}

TEST(StreamingTensorDecoder, EmptyList) {
  StreamingTensorDecoder decoder({}, [](size_t, uint64_t, const float*, size_t) {
    ADD_FAILURE() << "visitor called";
    return absl::OkStatus();
  });
  ASSERT_TRUE(decoder.Add(Encode({})).ok());
  EXPECT_TRUE(decoder.header_done());
  EXPECT_TRUE(decoder.Finish().ok());
}

absl::Status Ignore(size_t, uint64_t, const float*, size_t) { return absl::OkStatus(); }

// Feeds `bytes` one byte at a time; returns the first error (or Finish's).
absl::Status FeedBytewise(StreamingTensorDecoder& decoder, absl::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    absl::Status s = decoder.Add(bytes.substr(i, 1));
    if (!s.ok()) return s;
  }
  return decoder.Finish();
}

struct StreamCase {
  std::string name;
  std::string bytes;
  std::string error;
};
void PrintTo(const StreamCase& c, std::ostream* os) { *os << c.name; }

class StreamingTensorDecoderErrorTest : public ::testing::TestWithParam<StreamCase> {};

const TensorList& SmallModel() {
  static const TensorList* model = new TensorList{
      {"conv1.weight", {2, 1, 3, 3}, std::vector<float>(18, 1.0f)}, {"fc.bias", {3}, {1, 2, 3}}};
  return *model;
}

TEST_P(StreamingTensorDecoderErrorTest, WholeAndBytewise) {
  for (bool bytewise : {false, true}) {
    StreamingTensorDecoder decoder(LayoutOf(SmallModel()), Ignore);
    absl::Status s;
    if (bytewise) {
      s = FeedBytewise(decoder, GetParam().bytes);
    } else {
      s = decoder.Add(GetParam().bytes);
      if (s.ok()) s = decoder.Finish();
    }
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().error)) << "bytewise " << bytewise;
    // Sticky.
    EXPECT_EQ(decoder.Add("more"), s);
    EXPECT_EQ(decoder.Finish(), s);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, StreamingTensorDecoderErrorTest,
    ::testing::Values(
        StreamCase{"Shape",
                   Encode({{"conv1.weight", {2, 1, 5, 5}, std::vector<float>(50)},
                           {"fc.bias", {3}, {1, 2, 3}}}),
                   "tensor conv1.weight has shape [2,1,5,5], expected [2,1,3,3]"},
        StreamCase{"Unknown",
                   Encode({{"conv1.weight", {2, 1, 3, 3}, std::vector<float>(18)},
                           {"fc.bias2", {3}, {1, 2, 3}}}),
                   "unknown tensor fc.bias2"},
        StreamCase{"Missing", Encode({{"conv1.weight", {2, 1, 3, 3}, std::vector<float>(18)}}),
                   "missing tensor fc.bias"},
        StreamCase{"Malformed", std::string("TVTS\2\0\0\0\0\0\0\0", 12),
                   "unsupported TVTS version 2"},
        StreamCase{"TruncatedHeader", Encode(SmallModel()).substr(0, 30),
                   "TVTS header truncated after 30 bytes"},
        StreamCase{"TruncatedData", Encode(SmallModel()).substr(0, Encode(SmallModel()).size() - 6),
                   "tensor data truncated: tensor fc.bias has 1 of 3 elements and a partial float"},
        StreamCase{"TrailingByte", Encode(SmallModel()) + "x",
                   "1 bytes after the end of the tensor data"},
        StreamCase{"HugeHeader", Encode([] {
                     TensorList l;
                     for (int i = 0; i < 100; ++i) {
                       l.push_back({absl::StrCat(std::string(1000, 'n'), i), {}, {0}});
                     }
                     return l;
                   }()),
                   "TVTS header is longer than the expected"}),
    [](const ::testing::TestParamInfo<StreamCase>& info) { return info.param.name; });

TEST(StreamingTensorDecoder, RejectsNonFiniteBeforeTheVisitorSeesIt) {
  TensorList model = SmallModel();
  model[0].values[13] = std::numeric_limits<float>::quiet_NaN();
  for (size_t piece : {size_t{1}, size_t{4}, size_t{1} << 20}) {
    Collector collector(model);
    StreamingTensorDecoder decoder(LayoutOf(model), collector.Visitor(),
                                   StreamingTensorDecoder::Options{/*require_finite=*/true});
    const std::string bytes = Encode(model);
    absl::Status s;
    for (size_t i = 0; i < bytes.size() && s.ok(); i += piece) {
      s = decoder.Add(absl::string_view(bytes).substr(i, piece));
    }
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "tensor conv1.weight element 13 is not finite");
    for (float v : collector.list[0].values) EXPECT_FALSE(std::isnan(v));
    EXPECT_EQ(collector.list[1].values[0], -12345.0f);  // never reached
  }
}

TEST(StreamingTensorDecoder, AcceptsNonFiniteWithoutTheOption) {
  TensorList model = SmallModel();
  model[1].values[2] = std::numeric_limits<float>::infinity();
  Collector collector(model);
  StreamingTensorDecoder decoder(LayoutOf(model), collector.Visitor());
  ASSERT_TRUE(decoder.Add(Encode(model)).ok());
  ASSERT_TRUE(decoder.Finish().ok());
  EXPECT_EQ(collector.list[1].values[2], std::numeric_limits<float>::infinity());
}

TEST(StreamingTensorDecoder, VisitorErrorStopsDecoding) {
  int calls = 0;
  StreamingTensorDecoder decoder(
      LayoutOf(SmallModel()), [&](size_t tensor, uint64_t, const float*, size_t) {
        ++calls;
        return tensor == 1 ? absl::ResourceExhaustedError("full") : absl::OkStatus();
      });
  const absl::Status s = decoder.Add(Encode(SmallModel()));
  EXPECT_EQ(s, absl::ResourceExhaustedError("full"));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(decoder.Finish(), s);
}

}  // namespace
}  // namespace tverr::tensor
