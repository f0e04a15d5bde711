// Weights and updates of 500 MB pass through the chunked transfer in both
// directions over mutual TLS, in constant memory on the receiving side.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/crypto/sha256.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"
#include "tests/integration/coordinator_fixture.h"
#include "tverr/v1/node.grpc.pb.h"

namespace tverr::testing {
namespace {

constexpr size_t kSize = size_t{500} * 1024 * 1024;

// Deterministic, incompressible-enough content without holding it twice.
std::string MakePayload() {
  std::string data(kSize, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&data[i], &x, 8);
  }
  return data;
}

class LargeTransferTest : public CoordinatorFixture {
 protected:
  // The transfer path itself: uploads that name no run are stored.
  void Configure(v1::CoordinatorConfig& config) override {
    config.set_accept_unbound_uploads(true);
  }
};

TEST_F(LargeTransferTest, FiveHundredMegabytesUpAndDown) {
  auto stub = v1::NodeService::NewStub(ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh")));
  const std::string path = tmp_.Sub("update.bin");
  crypto::Sha256Digest digest;
  {
    std::string payload = MakePayload();
    digest = crypto::Sha256(payload);
    std::ofstream(path, std::ios::binary).write(payload.data(), payload.size());
    // Publish it as global weights too (the download direction).
    auto published = server_->Publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, payload);
    ASSERT_TRUE(published.ok()) << published.status();
    ASSERT_EQ(*published, digest);
  }

  // Up: streamed from the file, 4 MiB chunks.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    v1::UploadReceipt receipt;
    auto writer = stub->Upload(&ctx, &receipt);
    v1::TransferHeader header;
    header.set_kind(v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    absl::Status s = transfer::SendFile(
        header, path, [&](const v1::Chunk& c) { return writer->Write(c); }, 4 << 20);
    ASSERT_TRUE(s.ok()) << s;
    writer->WritesDone();
    grpc::Status g = writer->Finish();
    ASSERT_TRUE(g.ok()) << g.error_message();
    EXPECT_EQ(receipt.size(), kSize);
    EXPECT_EQ(receipt.sha256().digest(), std::string(crypto::AsStringView(digest)));
  }

  // Down: verified chunk by chunk, never held whole.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    v1::DownloadRequest request;
    request.mutable_sha256()->set_digest(std::string(crypto::AsStringView(digest)));
    auto reader = stub->Download(&ctx, request);
    uint64_t received = 0;
    transfer::ChunkAssembler assembler(
        uint64_t{1} << 40, [](v1::PayloadKind k) { return k == v1::PAYLOAD_KIND_GLOBAL_WEIGHTS; },
        [&](absl::string_view d) {
          received += d.size();
          return absl::OkStatus();
        });
    v1::Chunk chunk;
    while (reader->Read(&chunk)) ASSERT_TRUE(assembler.Add(chunk).ok());
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_TRUE(assembler.Finish().ok());
    EXPECT_EQ(received, kSize);
    EXPECT_EQ(assembler.digest(), digest);
  }
}

}  // namespace
}  // namespace tverr::testing
