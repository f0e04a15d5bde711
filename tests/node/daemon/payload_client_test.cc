// PayloadClient against an in-process fake NodeService (no TLS): downloads
// are checked chunk by chunk and by kind, uploads carry the run, round and
// UpdateInfo, and gRPC errors come back as absl::Status with their code.
#include "node/daemon/payload_client.h"

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/crypto/sha256.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"
#include "common/transfer/limits.h"
#include "gtest/gtest.h"

namespace tverr::node {
namespace {

// Serves one payload for Download and keeps the last upload.
class FakeNodeService final : public v1::NodeService::Service {
 public:
  FakeNodeService(std::string payload, v1::PayloadKind kind)
      : payload_(std::move(payload)), kind_(kind) {}

  grpc::Status Download(grpc::ServerContext*, const v1::DownloadRequest* request,
                        grpc::ServerWriter<v1::Chunk>* writer) override {
    if (request->sha256().digest() != crypto::AsStringView(crypto::Sha256(payload_))) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such payload");
    }
    v1::TransferHeader header;
    header.set_kind(kind_);
    absl::Status s = transfer::SendBytes(
        header, payload_, [writer](const v1::Chunk& c) { return writer->Write(c); });
    return s.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken");
  }

  grpc::Status Upload(grpc::ServerContext*, grpc::ServerReader<v1::Chunk>* reader,
                      v1::UploadReceipt* receipt) override {
    std::string bytes;
    transfer::ChunkAssembler assembler(
        uint64_t{1} << 30, [](v1::PayloadKind k) { return k == v1::PAYLOAD_KIND_WEIGHT_UPDATE; },
        [&bytes](absl::string_view d) {
          bytes.append(d.data(), d.size());
          return absl::OkStatus();
        });
    v1::Chunk chunk;
    while (reader->Read(&chunk)) {
      if (!assembler.Add(chunk).ok()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad transfer");
      }
    }
    if (!assembler.Finish().ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "truncated");
    }
    if (assembler.header().round() == 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "round closed");
    }
    receipt->mutable_sha256()->set_digest(std::string(crypto::AsStringView(assembler.digest())));
    receipt->set_size(bytes.size());
    absl::MutexLock lock(&mu_);
    uploaded_header_ = assembler.header();
    uploaded_ = std::move(bytes);
    return grpc::Status::OK;
  }

  v1::TransferHeader uploaded_header() {
    absl::MutexLock lock(&mu_);
    return uploaded_header_;
  }
  std::string uploaded() {
    absl::MutexLock lock(&mu_);
    return uploaded_;
  }

 private:
  const std::string payload_;
  const v1::PayloadKind kind_;
  absl::Mutex mu_;
  v1::TransferHeader uploaded_header_ ABSL_GUARDED_BY(mu_);
  std::string uploaded_ ABSL_GUARDED_BY(mu_);
};

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + 7);
  return s;
}

class PayloadClientTest : public ::testing::Test {
 protected:
  void Start(std::string payload, v1::PayloadKind kind) {
    service_ = std::make_unique<FakeNodeService>(std::move(payload), kind);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    builder.SetMaxReceiveMessageSize(transfer::kGrpcMaxMessageBytes);
    builder.SetMaxSendMessageSize(transfer::kGrpcMaxMessageBytes);
    server_ = builder.BuildAndStart();
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(transfer::kGrpcMaxMessageBytes);
    args.SetMaxSendMessageSize(transfer::kGrpcMaxMessageBytes);
    stub_ = v1::NodeService::NewStub(server_->InProcessChannel(args));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<FakeNodeService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

TEST_F(PayloadClientTest, FetchReturnsThePayloadOfTheRequestedKind) {
  const std::string payload = Bytes(3 * transfer::kMiB + 5);
  Start(payload, v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  PayloadClient client(stub_.get());
  absl::StatusOr<std::string> got =
      client.Fetch(crypto::ToHex(crypto::Sha256(payload)), v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, payload);
}

TEST_F(PayloadClientTest, FetchRefusesAnotherKind) {
  const std::string payload = Bytes(100);
  Start(payload, v1::PAYLOAD_KIND_MODEL_ARTIFACT);
  PayloadClient client(stub_.get());
  EXPECT_EQ(client.Fetch(crypto::ToHex(crypto::Sha256(payload)), v1::PAYLOAD_KIND_GLOBAL_WEIGHTS)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PayloadClientTest, FetchRefusesAPayloadAboveTheLimit) {
  const std::string payload = Bytes(2 * transfer::kMiB);
  Start(payload, v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  PayloadClient client(stub_.get(), {/*max_download_bytes=*/transfer::kMiB});
  EXPECT_EQ(client.Fetch(crypto::ToHex(crypto::Sha256(payload)), v1::PAYLOAD_KIND_GLOBAL_WEIGHTS)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PayloadClientTest, FetchReturnsTheServersErrorCode) {
  Start(Bytes(100), v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  PayloadClient client(stub_.get());
  EXPECT_EQ(client.Fetch(std::string(64, 'a'), v1::PAYLOAD_KIND_GLOBAL_WEIGHTS).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client.Fetch("not-hex", v1::PAYLOAD_KIND_GLOBAL_WEIGHTS).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PayloadClientTest, UploadCarriesRunRoundAndInfo) {
  Start("", v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  PayloadClient client(stub_.get());
  v1::UpdateInfo info;
  info.set_samples(640);
  info.set_steps(10);
  const std::string update = Bytes(9 * transfer::kMiB + 1);
  ASSERT_TRUE(client.UploadUpdate("ab12", 3, info, update).ok());
  v1::TransferHeader header = service_->uploaded_header();
  EXPECT_EQ(header.kind(), v1::PAYLOAD_KIND_WEIGHT_UPDATE);
  EXPECT_EQ(header.run_id(), "ab12");
  EXPECT_EQ(header.round(), 3u);
  EXPECT_EQ(header.update().samples(), 640u);
  EXPECT_EQ(header.chunk_size(), transfer::kMaxChunkBytes);
  EXPECT_EQ(service_->uploaded(), update);
}

TEST_F(PayloadClientTest, UploadReturnsTheRefusal) {
  Start("", v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  PayloadClient client(stub_.get());
  EXPECT_EQ(client.UploadUpdate("ab12", /*round=*/0, v1::UpdateInfo(), Bytes(10)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PayloadClientTest, CancelledClientRefusesNewCalls) {
  Start(Bytes(10), v1::PAYLOAD_KIND_GLOBAL_WEIGHTS);
  PayloadClient client(stub_.get());
  client.Cancel();
  EXPECT_EQ(client.UploadUpdate("ab12", 1, v1::UpdateInfo(), Bytes(10)).code(),
            absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace tverr::node
