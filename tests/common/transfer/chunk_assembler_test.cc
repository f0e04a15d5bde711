#include "common/transfer/chunk_assembler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/chunks.h"

#include "common/transfer/chunk_writer.h"

namespace tverr::transfer {
namespace {

using ::testing::HasSubstr;

v1::Chunk Header(uint64_t size, int kind = v1::PAYLOAD_KIND_WEIGHT_UPDATE) {
  return tverr::testing::HeaderChunk(size, kind);
}
v1::Chunk Data(std::string bytes) { return tverr::testing::DataChunk(std::move(bytes)); }
v1::Chunk Trailer(absl::string_view hashed) { return tverr::testing::TrailerChunk(hashed); }

struct Case {
  std::string name;
  std::vector<v1::Chunk> messages;
  // Empty: the transfer must succeed. Otherwise a part of the first error
  // (from Add, or from Finish when every Add succeeded).
  std::string error;
};

class ChunkAssemblerTest : public ::testing::TestWithParam<Case> {};

TEST_P(ChunkAssemblerTest, ChecksTheTransfer) {
  const Case& c = GetParam();
  std::string sink;
  ChunkAssembler assembler(
      /*max_total_bytes=*/1000, [](v1::PayloadKind k) { return k != v1::PAYLOAD_KIND_MODEL_ARTIFACT; },
      [&](absl::string_view d) {
        sink.append(d.data(), d.size());
        return absl::OkStatus();
      });
  absl::Status status;
  for (const v1::Chunk& m : c.messages) {
    status = assembler.Add(m);
    if (!status.ok()) break;
  }
  if (status.ok()) status = assembler.Finish();
  if (c.error.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.error));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChunkAssemblerTest,
    ::testing::Values(
        Case{"ok", {Header(5), Data("abcde"), Trailer("abcde")}, ""},
        Case{"ok_empty_payload", {Header(0), Trailer("")}, ""},
        Case{"nothing", {}, "before its header"},
        Case{"truncated", {Header(5)}, "truncated: stream ended after 0 of 5"},
        Case{"small_chunk_not_last", {Header(5), Data("ab"), Data("cde"), Trailer("abcde")},
             "only the last chunk may be smaller than 1048576"},
        Case{"closed_early", {Header(5), Trailer("")}, "after 0 of its declared 5"},
        Case{"bad_digest", {Header(2), Data("ab"), Trailer("xy")}, "SHA-256 mismatch"},
        Case{"too_big_declared", {Header(1001)}, "exceeds the limit of 1000"},
        Case{"too_much_data", {Header(1), Data("ab")}, "more than its declared 1"},
        Case{"unknown_kind", {Header(1, 42)}, "unknown payload kind 42"},
        Case{"unspecified_kind", {Header(1, 0)}, "unknown payload kind 0"},
        Case{"refused_kind", {Header(1, v1::PAYLOAD_KIND_MODEL_ARTIFACT)}, "not accepted"},
        Case{"data_first", {Data("a")}, "before the transfer header"},
        Case{"trailer_first", {Trailer("")}, "before the transfer header"},
        Case{"double_header", {Header(1), Header(1)}, "second transfer header"},
        Case{"after_trailer", {Header(1), Data("a"), Trailer("a"), Data("b")}, "after the"},
        Case{"empty_message", {Header(1), v1::Chunk()}, "no header, data or trailer"},
        Case{"empty_data", {Header(1), Data("")}, "is empty"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ChunkAssembler, RefusesChunksAboveFourMiB) {
  ChunkAssembler assembler(
      uint64_t{1} << 30, [](v1::PayloadKind) { return true; },
      [](absl::string_view) { return absl::OkStatus(); });
  ASSERT_TRUE(assembler.Add(Header(kMaxChunkBytes + 1)).ok());
  absl::Status s = assembler.Add(Data(std::string(kMaxChunkBytes + 1, 'x')));
  EXPECT_THAT(std::string(s.message()), HasSubstr("the limit is 4194304"));
}

TEST(ChunkAssembler, AcceptsFullChunksThenAShortLastOne) {
  const std::string one_mib(kMinChunkBytes, 'a');
  std::string all = one_mib + one_mib + "tail";
  ChunkAssembler assembler(
      uint64_t{1} << 30, [](v1::PayloadKind) { return true; },
      [](absl::string_view) { return absl::OkStatus(); });
  ASSERT_TRUE(assembler.Add(Header(all.size())).ok());
  ASSERT_TRUE(assembler.Add(Data(one_mib)).ok());
  ASSERT_TRUE(assembler.Add(Data(one_mib)).ok());
  ASSERT_TRUE(assembler.Add(Data("tail")).ok());
  ASSERT_TRUE(assembler.Add(Trailer(all)).ok());
  EXPECT_TRUE(assembler.Finish().ok());
  EXPECT_EQ(assembler.bytes_received(), all.size());
}

TEST(ChunkAssembler, SinkErrorAbortsTheTransfer) {
  ChunkAssembler assembler(
      100, [](v1::PayloadKind) { return true; },
      [](absl::string_view) { return absl::ResourceExhaustedError("disk full"); });
  ASSERT_TRUE(assembler.Add(Header(1)).ok());
  EXPECT_EQ(assembler.Add(Data("a")).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(assembler.Finish().ok());
}

TEST(ChunkWriter, SendBytesProducesWhatTheAssemblerAccepts) {
  constexpr size_t kChunk = kMinChunkBytes;
  for (size_t size : {size_t{0}, size_t{1}, kChunk - 1, kChunk, 3 * kChunk + 5}) {
    std::string payload(size, 'q');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 31);
    std::vector<v1::Chunk> sent;
    v1::TransferHeader header;
    header.set_kind(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
    ASSERT_TRUE(SendBytes(header, payload,
                          [&](const v1::Chunk& c) {
                            sent.push_back(c);
                            return true;
                          },
                          /*chunk_size=*/kChunk)
                    .ok());
    EXPECT_EQ(sent.size(), 2 + (size + kChunk - 1) / kChunk);
    std::string got;
    ChunkAssembler assembler(
        1 << 30, [](v1::PayloadKind) { return true; },
        [&](absl::string_view d) {
          got.append(d.data(), d.size());
          return absl::OkStatus();
        });
    for (const v1::Chunk& c : sent) ASSERT_TRUE(assembler.Add(c).ok());
    ASSERT_TRUE(assembler.Finish().ok());
    EXPECT_EQ(got, payload);
    EXPECT_EQ(assembler.digest(), crypto::Sha256(payload));
  }
}

TEST(ChunkWriter, RejectsBadChunkSizeAndBrokenStream) {
  v1::TransferHeader header;
  auto ok = [](const v1::Chunk&) { return true; };
  EXPECT_EQ(SendBytes(header, "x", ok, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SendBytes(header, "x", ok, kMinChunkBytes - 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SendBytes(header, "x", ok, kMaxChunkBytes + 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SendBytes(header, "x", [](const v1::Chunk&) { return false; }).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(SendFile(header, "/nonexistent/file", ok).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tverr::transfer
