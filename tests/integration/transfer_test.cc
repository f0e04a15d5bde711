// The chunked transfer protocol against a real coordinator: malformed
// streams get a clear status and the server carries on.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/chunks.h"

#include <filesystem>
#include <random>

#include "common/crypto/sha256.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"
#include "tests/integration/coordinator_fixture.h"
#include "tverr/v1/node.grpc.pb.h"

namespace tverr::testing {
namespace {

using ::testing::HasSubstr;

v1::Chunk Header(uint64_t size, int kind = v1::PAYLOAD_KIND_WEIGHT_UPDATE) {
  return tverr::testing::HeaderChunk(size, kind);
}
v1::Chunk Data(std::string bytes) { return tverr::testing::DataChunk(std::move(bytes)); }
v1::Chunk Trailer(absl::string_view hashed) { return tverr::testing::TrailerChunk(hashed); }

class TransferTest : public CoordinatorFixture {
 protected:
  // The chunked transfer itself, through the store for uploads that name
  // no run (refused by default; see UploadNamingNoRunIsRefusedByDefault).
  void Configure(v1::CoordinatorConfig& config) override {
    config.set_accept_unbound_uploads(true);
  }

  void SetUp() override {
    CoordinatorFixture::SetUp();
    channel_ = ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh"));
    stub_ = v1::NodeService::NewStub(channel_);
  }

  grpc::Status Upload(const std::vector<v1::Chunk>& messages, v1::UploadReceipt* receipt) {
    auto ctx = ContextWithDeadline(30);
    auto writer = stub_->Upload(ctx.get(), receipt);
    for (const v1::Chunk& c : messages) {
      if (!writer->Write(c)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

// Downloads `digest` and returns the bytes (checked by a ChunkAssembler),
// or the status.
absl::StatusOr<std::string> Download(v1::NodeService::Stub* stub, const std::string& digest,
                                     v1::PayloadKind* kind) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::DownloadRequest request;
  request.mutable_sha256()->set_digest(digest);
  auto reader = stub->Download(&ctx, request);
  std::string received;
  transfer::ChunkAssembler assembler(
      1ull << 30, [](v1::PayloadKind) { return true; },
      [&](absl::string_view d) {
        received.append(d.data(), d.size());
        return absl::OkStatus();
      });
  v1::Chunk chunk;
  absl::Status s;
  while (reader->Read(&chunk)) {
    if (s.ok()) s = assembler.Add(chunk);
  }
  grpc::Status g = reader->Finish();
  if (!g.ok()) return absl::Status(static_cast<absl::StatusCode>(g.error_code()), g.error_message());
  if (!s.ok()) return s;
  if (absl::Status f = assembler.Finish(); !f.ok()) return f;
  *kind = assembler.header().kind();
  return received;
}

std::string RandomBytes(size_t n, int seed) {
  std::string payload(n, '\0');
  std::mt19937 rng(seed);
  for (char& c : payload) c = static_cast<char>(rng());
  return payload;
}

TEST_F(TransferTest, UploadOfManyChunksIsStoredWithItsDigest) {
  std::string payload = RandomBytes(9 * 1024 * 1024 + 17, 7);
  v1::UploadReceipt receipt;
  auto ctx = ContextWithDeadline(30);
  auto writer = stub_->Upload(ctx.get(), &receipt);
  v1::TransferHeader header;
  header.set_kind(v1::PAYLOAD_KIND_WEIGHT_UPDATE);
  absl::Status s = transfer::SendBytes(
      header, payload, [&](const v1::Chunk& c) { return writer->Write(c); }, 4 << 20);
  ASSERT_TRUE(s.ok()) << s;
  writer->WritesDone();
  grpc::Status g = writer->Finish();
  ASSERT_TRUE(g.ok()) << g.error_message();
  EXPECT_EQ(receipt.size(), payload.size());
  EXPECT_EQ(receipt.sha256().digest(), std::string(crypto::AsStringView(crypto::Sha256(payload))));
  EXPECT_EQ(ReadFileOrEmpty(tmp_.Sub("coordinator-state/payloads/uploads/" +
                                     crypto::ToHex(crypto::Sha256(payload)))),
            payload);

  // An upload is never served back to nodes: no hospital can fetch
  // another's update by its digest.
  v1::PayloadKind kind;
  EXPECT_EQ(Download(stub_.get(), receipt.sha256().digest(), &kind).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TransferTest, PublishedPayloadDownloadsIntactWithItsKind) {
  std::string weights = RandomBytes(6 * 1024 * 1024 + 3, 11);
  auto digest = server_->Publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, weights);
  ASSERT_TRUE(digest.ok()) << digest.status();
  v1::PayloadKind kind = v1::PAYLOAD_KIND_UNSPECIFIED;
  auto got = Download(stub_.get(), std::string(crypto::AsStringView(*digest)), &kind);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, weights);
  EXPECT_EQ(kind, v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
}

struct MalformedCase {
  std::string name;
  std::vector<v1::Chunk> messages;
  grpc::StatusCode code;
  std::string message_part;
};

TEST_F(TransferTest, MalformedUploadsGetClearErrorsAndServerCarriesOn) {
  const std::string abc = "abc";
  const std::string big(4 * 1024 * 1024 + 1, 'x');
  const std::string huge(5 * 1024 * 1024, 'y');
  const std::vector<MalformedCase> cases = {
      {"truncated: no trailer", {Header(3), Data(abc)}, grpc::StatusCode::INVALID_ARGUMENT,
       "truncated"},
      {"truncated: nothing at all", {}, grpc::StatusCode::INVALID_ARGUMENT, "before its header"},
      {"wrong digest", {Header(3), Data(abc), Trailer("abd")}, grpc::StatusCode::INVALID_ARGUMENT,
       "SHA-256 mismatch"},
      {"short digest",
       {Header(3), Data(abc), [] {
          v1::Chunk c;
          c.mutable_trailer()->mutable_sha256()->set_digest("short");
          return c;
        }()},
       grpc::StatusCode::INVALID_ARGUMENT, "expected 32"},
      {"oversized chunk", {Header(big.size()), Data(big)}, grpc::StatusCode::INVALID_ARGUMENT,
       "the limit is 4194304"},
      {"chunk above the gRPC message limit", {Header(huge.size()), Data(huge)},
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
      {"unknown payload kind", {Header(3, 99), Data(abc), Trailer(abc)},
       grpc::StatusCode::INVALID_ARGUMENT, "unknown payload kind 99"},
      {"kind not accepted here",
       {Header(3, v1::PAYLOAD_KIND_GLOBAL_WEIGHTS), Data(abc), Trailer(abc)},
       grpc::StatusCode::INVALID_ARGUMENT, "not accepted"},
      {"data before header", {Data(abc)}, grpc::StatusCode::INVALID_ARGUMENT,
       "before the transfer header"},
      {"more data than declared", {Header(2), Data(abc)}, grpc::StatusCode::INVALID_ARGUMENT,
       "more than its declared 2 bytes"},
      {"declared size above limit", {Header(uint64_t{1} << 40)},
       grpc::StatusCode::INVALID_ARGUMENT, "exceeds the limit"},
      {"empty chunk", {Header(3), Data("")}, grpc::StatusCode::INVALID_ARGUMENT, "empty"},
      {"two headers", {Header(3), Header(3)}, grpc::StatusCode::INVALID_ARGUMENT,
       "second transfer header"},
      {"message after trailer", {Header(3), Data(abc), Trailer(abc), Data(abc)},
       grpc::StatusCode::INVALID_ARGUMENT, "after the transfer's closing digest"},
      {"empty chunk message", {Header(3), v1::Chunk()}, grpc::StatusCode::INVALID_ARGUMENT,
       "no header, data or trailer"},
      {"tiny chunks", {Header(6), Data(abc), Data(abc), Trailer(abc + abc)},
       grpc::StatusCode::INVALID_ARGUMENT, "only the last chunk may be smaller"},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::UploadReceipt receipt;
    grpc::Status s = Upload(c.messages, &receipt);
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message_part));
  }
  // The coordinator is still healthy, and nothing of the refused uploads
  // was stored.
  v1::UploadReceipt receipt;
  EXPECT_TRUE(Upload({Header(3), Data(abc), Trailer(abc)}, &receipt).ok());
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.Sub("coordinator-state/payloads/uploads"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(TransferTest, DownloadOfUnknownOrMalformedDigestIsRefused) {
  auto download = [&](const std::string& digest) {
    auto ctx = ContextWithDeadline();
    v1::DownloadRequest request;
    request.mutable_sha256()->set_digest(digest);
    auto reader = stub_->Download(ctx.get(), request);
    v1::Chunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  };
  EXPECT_EQ(download("too short").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(download(std::string(32, '\x01')).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TransferTest, UnknownTaskStreamSessionIsRefused) {
  auto ctx = ContextWithDeadline();
  v1::TaskStreamRequest request;
  request.set_session_id("not-a-session");
  auto reader = stub_->OpenTaskStream(ctx.get(), request);
  v1::Task task;
  EXPECT_FALSE(reader->Read(&task));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_F(TransferTest, JoinWithOversizedOrBinaryTextIsRefused) {
  v1::JoinRequest request;
  request.set_software_version(std::string(500, 'v'));
  v1::JoinResponse response;
  auto ctx = ContextWithDeadline();
  EXPECT_EQ(stub_->Join(ctx.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_software_version(std::string("1.0\x01\x02", 5));
  auto ctx2 = ContextWithDeadline();
  EXPECT_EQ(stub_->Join(ctx2.get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A coordinator as deployed: an upload must be an update for a run's round;
// anything else is refused at its header, before a byte is stored.
class DefaultCoordinatorTransferTest : public CoordinatorFixture {};

TEST_F(DefaultCoordinatorTransferTest, UploadNamingNoRunIsRefused) {
  auto stub = v1::NodeService::NewStub(ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh")));
  auto ctx = ContextWithDeadline(30);
  v1::UploadReceipt receipt;
  auto writer = stub->Upload(ctx.get(), &receipt);
  // Writes after the server has answered may fail; Finish tells.
  for (const v1::Chunk& c : {Header(3), Data("abc"), Trailer("abc")}) writer->Write(c);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("must be an update for a run's round in progress"),
            std::string::npos)
      << s.error_message();
  const std::string uploads = tmp_.Sub("coordinator-state") + "/payloads/uploads";
  EXPECT_TRUE(!std::filesystem::exists(uploads) || std::filesystem::is_empty(uploads));
}

}  // namespace
}  // namespace tverr::testing
