// A researcher creates a run whose artifact and initial weights are larger
// than one message (4 MiB): `flctl run create` sends them as chunked
// transfers, the run names them by digest, and nodes can then download the
// artifact. Over mutual TLS against the in-process coordinator.
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "google/protobuf/text_format.h"

#include "common/crypto/sha256.h"
#include "common/tensor/tensor_codec.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"
#include "coordinator/flctl/run_command.h"
#include "coordinator/runs/run_spec.h"
#include "tests/integration/coordinator_fixture.h"
#include "tverr/v1/node.grpc.pb.h"
#include "tverr/v1/researcher.grpc.pb.h"

namespace tverr::testing {
namespace {

using ::testing::HasSubstr;

class ResearcherUploadTest : public CoordinatorFixture {
 protected:
  void SetUp() override {
    CoordinatorFixture::SetUp();
    researcher_ = pki_->Issue(v1::ROLE_RESEARCHER, "alice");
    // 9 MB of artifact: the coordinator checks only its digest.
    std::mt19937 rng(7);
    artifact_.resize(9 * 1000 * 1000);
    for (char& c : artifact_) c = static_cast<char>(rng());
    // 2.5M parameters: 10 MB of initial weights.
    initial_ = {{"fc.weight", {2500, 1000}, std::vector<float>(2500000)},
                {"fc.bias", {2500}, std::vector<float>(2500, 0.5f)}};
    for (size_t i = 0; i < initial_[0].values.size(); ++i) {
      initial_[0].values[i] = static_cast<float>(i % 1000) / 1000.0f;
    }
    Write("model.pt", artifact_);
    Write("initial.tvts", tensor::Encode(initial_));

    spec_.set_artifact_sha256(crypto::ToHex(crypto::Sha256(artifact_)));
    spec_.mutable_input()->set_width(50);
    spec_.mutable_input()->set_height(20);
    spec_.mutable_input()->set_channels(1);
    spec_.add_labels("no finding");
    spec_.add_labels("finding");
    spec_.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
    spec_.mutable_optimizer()->set_learning_rate(0.01);
    spec_.mutable_local()->set_batch_size(32);
    spec_.mutable_local()->set_local_epochs(1);
    spec_.mutable_rounds()->set_rounds(1);
    std::string text;
    ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(spec_, &text));
    Write("spec.textproto", text);
  }

  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(tmp_.Sub(name), std::ios::binary) << bytes;
  }

  int Flctl(std::vector<std::string> argv, std::string* out_text) {
    argv.insert(argv.end(), {"--coordinator", target(), "--tls_dir", researcher_.dir});
    std::ostringstream out, err;
    const int rc = flctl::RunRunCommand(argv, out, err);
    *out_text = out.str() + err.str();
    return rc;
  }

  TlsDir researcher_;
  std::string artifact_;
  tensor::TensorList initial_;
  v1::RunSpec spec_;
};

TEST_F(ResearcherUploadTest, LargeArtifactAndWeightsGoAsChunkedTransfers) {
  std::string out;
  ASSERT_EQ(Flctl({"create", "--spec", tmp_.Sub("spec.textproto"), "--artifact",
                   tmp_.Sub("model.pt"), "--initial_weights", tmp_.Sub("initial.tvts")},
                  &out),
            0)
      << out;
  const std::string run_id = *coordinator::RunId(coordinator::WithDefaults(spec_));
  EXPECT_EQ(out, run_id + "\n");

  // Started, the run's global model is the uploaded weights.
  ASSERT_EQ(Flctl({"start", run_id}, &out), 0) << out;
  const tensor::TensorList global = server_->GlobalModel();
  ASSERT_EQ(global.size(), 2u);
  EXPECT_EQ(global[0].values, initial_[0].values);
  EXPECT_EQ(global[1].values, initial_[1].values);

  // A node downloads the artifact, byte for byte.
  auto node = v1::NodeService::NewStub(ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh")));
  grpc::ClientContext ctx;
  v1::DownloadRequest request;
  request.mutable_sha256()->set_digest(std::string(crypto::AsStringView(crypto::Sha256(artifact_))));
  auto reader = node->Download(&ctx, request);
  std::string downloaded;
  transfer::ChunkAssembler assembler(
      uint64_t{1} << 30, [](v1::PayloadKind k) { return k == v1::PAYLOAD_KIND_MODEL_ARTIFACT; },
      [&](absl::string_view d) {
        downloaded.append(d.data(), d.size());
        return absl::OkStatus();
      });
  v1::Chunk chunk;
  while (reader->Read(&chunk)) ASSERT_TRUE(assembler.Add(chunk).ok());
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_TRUE(assembler.Finish().ok());
  EXPECT_TRUE(downloaded == artifact_);
}

TEST_F(ResearcherUploadTest, RunNamingPayloadsNeverUploadedIsRefused) {
  auto stub = v1::ResearcherService::NewStub(ChannelFor(researcher_));
  v1::CreateRunRequest request;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(spec_, request.mutable_spec_textproto()));
  request.set_initial_weights(tensor::Encode({{"b", {2}, {0, 0}}}));
  grpc::ClientContext ctx;
  v1::CreateRunResponse response;
  grpc::Status s = stub->CreateRun(&ctx, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("artifact: no uploaded payload"));

  // A staged payload is not served to nodes before a run names it.
  std::string out;
  auto node = v1::NodeService::NewStub(ChannelFor(pki_->Issue(v1::ROLE_NODE, "oslo-uh")));
  {
    grpc::ClientContext up;
    v1::UploadReceipt receipt;
    auto writer = stub->UploadPayload(&up, &receipt);
    v1::TransferHeader header;
    header.set_kind(v1::PAYLOAD_KIND_MODEL_ARTIFACT);
    ASSERT_TRUE(transfer::SendFile(header, tmp_.Sub("model.pt"),
                                   [&](const v1::Chunk& c) { return writer->Write(c); })
                    .ok());
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  grpc::ClientContext down;
  v1::DownloadRequest request2;
  request2.mutable_sha256()->set_digest(std::string(crypto::AsStringView(crypto::Sha256(artifact_))));
  auto reader = node->Download(&down, request2);
  v1::Chunk chunk;
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);

  // A payload kind researchers do not send is refused.
  grpc::ClientContext up;
  v1::UploadReceipt receipt;
  auto writer = stub->UploadPayload(&up, &receipt);
  v1::TransferHeader header;
  header.set_kind(v1::PAYLOAD_KIND_WEIGHT_UPDATE);
  (void)transfer::SendBytes(header, "x", [&](const v1::Chunk& c) { return writer->Write(c); });
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace tverr::testing
