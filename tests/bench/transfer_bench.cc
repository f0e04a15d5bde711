// Upload throughput of a 100 MB update over mutual TLS on loopback (the
// chunked Upload RPC in 4 MiB chunks, to a real in-process coordinator):
//  - into a training round in progress, as nodes upload their updates: the
//    coordinator checks and hashes the chunks, spools them and folds them
//    into the round's FedAvg sum as they arrive (the update is a 25M-
//    parameter TVTS delta for a run started on a 100 MB model). Two nodes
//    take part in each round; the first one's upload is timed, the second
//    one's (untimed) completes the round, whose aggregation and commit then
//    run inside that last upload;
//  - as a stored payload (hashed, written and fsynced), the path updates
//    took before rounds folded them.
// References measured in the same run: the same bytes through a plain TCP
// loopback socket, and written to a file and fsynced. Every figure is the
// best of --repeats; the four measurements alternate. Run it through
// scripts/bench-transfer.sh; results go to docs/benchmarks.md.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto/sha256.h"
#include "common/tensor/tensor_codec.h"
#include "common/tls/credentials.h"
#include "common/transfer/chunk_writer.h"
#include "common/transfer/limits.h"
#include "coordinator/runs/run_spec.h"
#include "coordinator/server/coordinator_config.h"
#include "coordinator/server/coordinator_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tverr/v1/node.grpc.pb.h"

ABSL_FLAG(int, megabytes, 100, "Update size in MB.");
ABSL_FLAG(int, repeats, 3, "Repetitions (best is reported).");

namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Plain TCP over loopback: the same bytes, no TLS, no gRPC.
double TcpLoopback(const std::string& data) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  listen(listener, 1);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread receiver([listener] {
    int c = accept(listener, nullptr, nullptr);
    std::vector<char> buf(1 << 20);
    while (read(c, buf.data(), buf.size()) > 0) {
    }
    close(c);
  });
  auto start = std::chrono::steady_clock::now();
  int s = socket(AF_INET, SOCK_STREAM, 0);
  connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = write(s, data.data() + off, std::min<size_t>(1 << 20, data.size() - off));
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  close(s);
  receiver.join();
  close(listener);
  return Seconds(start);
}

// Writing the same bytes to a file in `dir` and fsyncing: the durable
// storage the coordinator's upload path ends in.
double DurableWrite(const std::string& dir, const std::string& data) {
  const std::string path = dir + "/durable-reference.bin";
  auto start = std::chrono::steady_clock::now();
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data.data(), 1, data.size(), f);
  std::fflush(f);
  fsync(fileno(f));
  std::fclose(f);
  double t = Seconds(start);
  unlink(path.c_str());
  return t;
}

// The bench's node: joined, with its task stream open (so rounds select
// it) and heartbeats going; hands out the training tasks it is sent.
class BenchNode {
 public:
  explicit BenchNode(std::shared_ptr<grpc::Channel> channel)
      : stub_(tverr::v1::NodeService::NewStub(std::move(channel))) {}
  ~BenchNode() { Stop(); }

  bool Start() {
    grpc::ClientContext ctx;
    tverr::v1::JoinRequest join;
    join.set_software_version("bench");
    tverr::v1::JoinResponse joined;
    if (!stub_->Join(&ctx, join, &joined).ok()) return false;
    session_ = joined.session_id();
    tasks_ = std::thread([this] {
      tverr::v1::TaskStreamRequest request;
      request.set_session_id(session_);
      auto reader = stub_->OpenTaskStream(&stream_ctx_, request);
      tverr::v1::Task task;
      while (reader->Read(&task)) {
        if (!task.has_train()) continue;
        absl::MutexLock lock(&mu_);
        train_.push_back(task.train());
      }
      reader->Finish();
    });
    heartbeats_ = std::thread([this] {
      for (;;) {
        {
          absl::MutexLock lock(&mu_);
          mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Seconds(1));
          if (stop_) return;
        }
        grpc::ClientContext ctx;
        tverr::v1::HeartbeatRequest request;
        request.set_session_id(session_);
        tverr::v1::HeartbeatResponse response;
        stub_->Heartbeat(&ctx, request, &response);
      }
    });
    return true;
  }

  // The next training task, or nothing after `timeout`.
  std::optional<tverr::v1::TrainTask> NextTrainTask(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto have = [this] { return !train_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&have), timeout)) return std::nullopt;
    tverr::v1::TrainTask task = std::move(train_.front());
    train_.erase(train_.begin());
    return task;
  }

  tverr::v1::NodeService::Stub& stub() { return *stub_; }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      stop_ = true;
    }
    stream_ctx_.TryCancel();
    if (tasks_.joinable()) tasks_.join();
    if (heartbeats_.joinable()) heartbeats_.join();
  }

 private:
  std::unique_ptr<tverr::v1::NodeService::Stub> stub_;
  std::string session_;
  grpc::ClientContext stream_ctx_;
  std::thread tasks_;
  std::thread heartbeats_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<tverr::v1::TrainTask> train_ ABSL_GUARDED_BY(mu_);
};

// A model of `params` parameters in 10 tensors, every value `value`.
tverr::tensor::TensorList Model(int64_t params, float value) {
  tverr::tensor::TensorList list;
  int64_t left = params;
  for (int i = 0; i < 10; ++i) {
    const int64_t n = i == 9 ? left : params / 10;
    left -= n;
    list.push_back(
        {"layer" + std::to_string(i) + ".weight", {n}, std::vector<float>(n, value)});
  }
  return list;
}

// Uploads `data` with `header` in 4 MiB chunks (as nodes do); seconds, or
// a negative value if the upload failed.
double TimedUpload(tverr::v1::NodeService::Stub& stub, tverr::v1::TransferHeader header,
                   const std::string& data) {
  auto start = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  tverr::v1::UploadReceipt receipt;
  auto writer = stub.Upload(&ctx, &receipt);
  absl::Status s = tverr::transfer::SendBytes(
      std::move(header), data, [&](const tverr::v1::Chunk& c) { return writer->Write(c); },
      tverr::transfer::kMaxChunkBytes);
  writer->WritesDone();
  grpc::Status g = writer->Finish();
  if (!s.ok() || !g.ok()) {
    std::fprintf(stderr, "upload failed: %s %s\n", std::string(s.message()).c_str(),
                 g.error_message().c_str());
    return -1;
  }
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using tverr::testing::TempDir;
  TempDir tmp;
  tverr::testing::TestPki pki(tmp.Sub("pki"), "bench");
  tverr::testing::TlsDir server_tls = pki.Issue(tverr::v1::ROLE_COORDINATOR, "coordinator");
  tverr::v1::CoordinatorConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_consortium("bench");
  config.set_accept_unbound_uploads(true);  // the "stored" reference row
  config.set_state_dir(tmp.Sub("state"));
  config.mutable_tls()->set_cert_file(server_tls.cert());
  config.mutable_tls()->set_key_file(server_tls.key());
  config.mutable_tls()->set_ca_file(server_tls.ca());
  config.mutable_tls()->set_crl_dir(pki.crl_dir());
  auto finished = tverr::coordinator::FinishCoordinatorConfig(config, "bench", tmp.path());
  auto server = tverr::coordinator::CoordinatorServer::Start(*finished);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  // The timed node and the one that completes each round, each on its own
  // connection.
  std::vector<std::unique_ptr<BenchNode>> nodes;
  for (const char* name : {"timed", "closing"}) {
    tverr::testing::TlsDir tls = pki.Issue(tverr::v1::ROLE_NODE, name);
    tverr::tls::TlsFiles files{tls.cert(), tls.key(), tls.ca(), "", 60};
    grpc::ChannelArguments args = tverr::tls::DefaultChannelArguments();
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    nodes.push_back(std::make_unique<BenchNode>(grpc::CreateCustomChannel(
        "localhost:" + std::to_string((*server)->port()),
        *tverr::tls::MakeChannelCredentials(files), args)));
    if (!nodes.back()->Start()) {
      std::fprintf(stderr, "bench node %s cannot join\n", name);
      return 1;
    }
  }
  BenchNode& timed = *nodes[0];
  BenchNode& closing = *nodes[1];

  // A run on a model of megabytes / 4 million parameters: its updates are
  // `megabytes` MB of values (plus the TVTS header).
  const int repeats = absl::GetFlag(FLAGS_repeats);
  const int64_t params = int64_t{absl::GetFlag(FLAGS_megabytes)} * 1000 * 1000 / 4;
  const std::string artifact = "bench: the artifact is never loaded";
  tverr::v1::RunSpec spec;
  spec.set_artifact_sha256(tverr::crypto::ToHex(tverr::crypto::Sha256(artifact)));
  spec.mutable_input()->set_width(28);
  spec.mutable_input()->set_height(28);
  spec.mutable_input()->set_channels(1);
  spec.add_labels("a");
  spec.add_labels("b");
  spec.mutable_rounds()->set_rounds(static_cast<uint32_t>(repeats));
  spec.mutable_rounds()->set_min_nodes(2);
  spec.mutable_rounds()->set_phase_deadline_seconds(600);
  spec = tverr::coordinator::WithDefaults(spec);
  if (absl::Status s = (*server)->StartRun(spec, artifact, Model(params, 0.5f)); !s.ok()) {
    std::fprintf(stderr, "cannot start the run: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const std::string update = tverr::tensor::Encode(Model(params, 0.001f));
  auto into_round = [](const tverr::v1::TrainTask& task) {
    tverr::v1::TransferHeader header;
    header.set_kind(tverr::v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    header.set_run_id(task.run_id());
    header.set_round(task.round());
    header.mutable_update()->set_samples(1000);
    return header;
  };

  // The same bytes for the stored path and the references.
  std::string data = update;
  double best_round = 1e9, best_stored = 1e9, best_tcp = 1e9, best_disk = 1e9;
  for (int r = 0; r < repeats; ++r) {
    // Each repetition is the next round: waiting for its tasks first also
    // lets the previous round's commit finish before anything is timed.
    std::optional<tverr::v1::TrainTask> task = timed.NextTrainTask(absl::Seconds(120));
    std::optional<tverr::v1::TrainTask> closing_task = closing.NextTrainTask(absl::Seconds(120));
    if (!task || !closing_task) {
      std::fprintf(stderr, "no training task for round %d\n", r + 1);
      return 1;
    }
    data[0] = static_cast<char>(r);  // a new digest each time: a real store
    best_tcp = std::min(best_tcp, TcpLoopback(data));
    best_disk = std::min(best_disk, DurableWrite(tmp.path(), data));

    tverr::v1::TransferHeader stored;
    stored.set_kind(tverr::v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    const double t_stored = TimedUpload(timed.stub(), stored, data);
    if (t_stored < 0) return 1;
    best_stored = std::min(best_stored, t_stored);

    const double t_round = TimedUpload(timed.stub(), into_round(*task), update);
    if (t_round < 0) return 1;
    best_round = std::min(best_round, t_round);
    if (TimedUpload(closing.stub(), into_round(*closing_task), update) < 0) return 1;
  }
  const double mb = update.size() / 1e6;
  std::printf("update: %.0f MB (%lld parameters) in 4 MiB chunks, mutual TLS on loopback, "
              "best of %d\n",
              mb, static_cast<long long>(params), repeats);
  std::printf("reference: plain TCP loopback   %8.0f MB/s\n", mb / best_tcp);
  std::printf("reference: write + fsync        %8.0f MB/s\n", mb / best_disk);
  std::printf("upload into a round (gRPC + mTLS + SHA-256 + spool + fold)  %8.0f MB/s  "
              "ratio to TCP %.3f\n",
              mb / best_round, best_tcp / best_round);
  std::printf("upload stored (gRPC + mTLS + SHA-256 + durable store)       %8.0f MB/s  "
              "ratio to TCP %.3f, to write+fsync %.3f\n",
              mb / best_stored, best_tcp / best_stored, best_disk / best_stored);
  for (auto& n : nodes) n->Stop();
  (*server)->Shutdown();
  return 0;
}
