// Upload throughput of a 100 MB update over mutual TLS on loopback (the
// chunked Upload RPC, to a real in-process coordinator that hashes and
// stores it durably), next to a reference measured in the same run: the
// same bytes through a plain TCP loopback socket. Run it through
// scripts/bench-transfer.sh; results go to docs/benchmarks.md.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/tls/credentials.h"
#include "common/transfer/chunk_writer.h"
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

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using tverr::testing::TempDir;
  TempDir tmp;
  tverr::testing::TestPki pki(tmp.Sub("pki"), "bench");
  tverr::testing::TlsDir server_tls = pki.Issue(tverr::v1::ROLE_COORDINATOR, "coordinator");
  tverr::testing::TlsDir node_tls = pki.Issue(tverr::v1::ROLE_NODE, "node");
  tverr::v1::CoordinatorConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_consortium("bench");
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
  tverr::tls::TlsFiles files{node_tls.cert(), node_tls.key(), node_tls.ca(), "", 60};
  auto channel = grpc::CreateCustomChannel(
      "localhost:" + std::to_string((*server)->port()), *tverr::tls::MakeChannelCredentials(files),
      tverr::tls::DefaultChannelArguments());
  auto stub = tverr::v1::NodeService::NewStub(channel);

  const size_t size = static_cast<size_t>(absl::GetFlag(FLAGS_megabytes)) * 1000 * 1000;
  std::string data(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = i * 0x9E3779B97F4A7C15ull;
    std::memcpy(&data[i], &v, std::min<size_t>(8, size - i));
  }
  double best_upload = 1e9, best_tcp = 1e9, best_disk = 1e9;
  for (int r = 0; r < absl::GetFlag(FLAGS_repeats); ++r) {
    data[0] = static_cast<char>(r);  // a new digest each time: a real store
    best_tcp = std::min(best_tcp, TcpLoopback(data));
    best_disk = std::min(best_disk, DurableWrite(tmp.path(), data));
    auto start = std::chrono::steady_clock::now();
    grpc::ClientContext ctx;
    tverr::v1::UploadReceipt receipt;
    auto writer = stub->Upload(&ctx, &receipt);
    tverr::v1::TransferHeader header;
    header.set_kind(tverr::v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    absl::Status s = tverr::transfer::SendBytes(
        header, data, [&](const tverr::v1::Chunk& c) { return writer->Write(c); }, 4 << 20);
    writer->WritesDone();
    grpc::Status g = writer->Finish();
    if (!s.ok() || !g.ok()) {
      std::fprintf(stderr, "upload failed: %s %s\n", std::string(s.message()).c_str(),
                   g.error_message().c_str());
      return 1;
    }
    best_upload = std::min(best_upload, Seconds(start));
  }
  const double mb = size / 1e6;
  std::printf("update: %.0f MB in 4 MiB chunks, mutual TLS on loopback, stored with fsync\n", mb);
  std::printf("reference: plain TCP loopback   %8.0f MB/s\n", mb / best_tcp);
  std::printf("reference: write + fsync        %8.0f MB/s\n", mb / best_disk);
  std::printf("upload (gRPC + mTLS + SHA-256 + durable store) %8.0f MB/s  ratio to TCP %.3f, "
              "to write+fsync %.3f\n",
              mb / best_upload, best_tcp / best_upload, best_disk / best_upload);
  (*server)->Shutdown();
  return 0;
}
