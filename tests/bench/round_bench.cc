// Round overhead (issue 4, benchmark f): the wall time of a training round
// minus the nodes' local training, for 5 nodes and a model of about 1M
// parameters (logistic regression on 316 x 316 inputs, 10 classes: 4 MB of
// weights), with the real coordinator and node daemons talking gRPC over
// mutual TLS on loopback, in one process. What remains is the round's
// protocol work: task push, weight download, update encode and upload,
// streaming aggregation, publishing the new model durably, the SQLite
// commit.
//
// Per round the coordinator records its duration (selection to commit) and
// the longest local training among the contributors (as the nodes report
// it); overhead = duration - longest training. Round 1 also fetches the
// artifact and loads and caches the data, and the last round evaluates, so
// both are shown separately; the figure is the median over the others.
//
// Reference from the same run: one node moving the model's bytes once each
// way over the same mutual TLS (download of the global weights + upload of
// an update of the same size as a stored payload) — the least transfer work
// a round does per node.
//
// The same run is made twice: plain FedAvg, then with secure aggregation
// (issue 5: its round overhead, and the round-time ratio secure / plain).
//
// Run it through scripts/bench-round.sh; results go to docs/benchmarks.md.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/sha256.h"
#include "common/tensor/tensor_codec.h"
#include "common/tls/credentials.h"
#include "common/transfer/chunk_assembler.h"
#include "common/transfer/chunk_writer.h"
#include "coordinator/runs/run_spec.h"
#include "coordinator/server/coordinator_config.h"
#include "coordinator/server/coordinator_server.h"
#include "node/daemon/node_config.h"
#include "node/daemon/node_daemon.h"
#include "node/data/demo/demo_dataset.h"
#include "node/trainer/demo_models.h"
#include "node/trainer/trainer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tverr/v1/node.grpc.pb.h"

ABSL_FLAG(int, nodes, 5, "Node daemons.");
ABSL_FLAG(int, rounds, 8, "Rounds of the run.");
ABSL_FLAG(int, side, 316, "Input side: parameters = side^2 * 10 + 10.");
ABSL_FLAG(int, images, 64, "Training images per site.");

namespace tverr {
namespace {

using testing::TempDir;
using testing::TestPki;
using testing::TlsDir;

#define CHECK_OK(expr)                                                             \
  do {                                                                             \
    const absl::Status _s = (expr);                                                \
    if (!_s.ok()) {                                                                \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, _s.ToString().c_str()); \
      std::exit(1);                                                                \
    }                                                                              \
  } while (0)

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::shared_ptr<grpc::Channel> ChannelFor(const TlsDir& tls, int port) {
  tls::TlsFiles files{tls.cert(), tls.key(), tls.ca(), "", 1};
  auto creds = tls::MakeChannelCredentials(files);
  CHECK_OK(creds.status());
  grpc::ChannelArguments args = tls::DefaultChannelArguments();
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("localhost:", port), *creds, args);
}

// Download of `digest` + upload of `bytes` as a stored payload, seconds.
double TransferReference(v1::NodeService::Stub& stub, const crypto::Sha256Digest& digest,
                         const std::string& bytes) {
  const auto start = std::chrono::steady_clock::now();
  {
    grpc::ClientContext ctx;
    v1::DownloadRequest request;
    request.mutable_sha256()->set_digest(std::string(crypto::AsStringView(digest)));
    auto reader = stub.Download(&ctx, request);
    transfer::ChunkAssembler assembler(
        uint64_t{1} << 32, [](v1::PayloadKind) { return true; },
        [](absl::string_view) { return absl::OkStatus(); });
    v1::Chunk chunk;
    while (reader->Read(&chunk)) CHECK_OK(assembler.Add(chunk));
    if (!reader->Finish().ok()) std::exit(1);
  }
  {
    grpc::ClientContext ctx;
    v1::UploadReceipt receipt;
    auto writer = stub.Upload(&ctx, &receipt);
    v1::TransferHeader header;
    header.set_kind(v1::PAYLOAD_KIND_WEIGHT_UPDATE);
    CHECK_OK(transfer::SendBytes(header, bytes, [&](const v1::Chunk& c) { return writer->Write(c); },
                                 transfer::kMaxChunkBytes));
    writer->WritesDone();
    if (!writer->Finish().ok()) std::exit(1);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Main() {
  const int nodes = absl::GetFlag(FLAGS_nodes);
  const int side = absl::GetFlag(FLAGS_side);
  TempDir tmp;
  TestPki pki(tmp.Sub("pki"), "nordic");
  TlsDir coordinator_tls = pki.Issue(v1::ROLE_COORDINATOR, "coordinator");
  v1::CoordinatorConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_consortium("nordic");
  config.set_accept_unbound_uploads(true);  // the transfer reference uploads a stored payload
  config.set_state_dir(tmp.Sub("coordinator-state"));
  config.mutable_tls()->set_cert_file(coordinator_tls.cert());
  config.mutable_tls()->set_key_file(coordinator_tls.key());
  config.mutable_tls()->set_ca_file(coordinator_tls.ca());
  config.mutable_tls()->set_crl_dir(pki.crl_dir());
  config.set_heartbeat_interval_seconds(5);
  auto finished = coordinator::FinishCoordinatorConfig(config, "bench", tmp.path());
  CHECK_OK(finished.status());
  auto server = coordinator::CoordinatorServer::Start(*finished);
  CHECK_OK(server.status());
  const int port = (*server)->port();

  node::demo::DemoOptions demo;
  demo.out_dir = tmp.Sub("demo");
  for (int i = 0; i < nodes; ++i) demo.sites.push_back(absl::StrCat("site-", i));
  demo.images_per_site = absl::GetFlag(FLAGS_images);
  CHECK_OK(node::demo::WriteDemoSites(demo).status());
  const std::string artifact_path = tmp.Sub("lr.pt");
  CHECK_OK(node::WriteLogisticRegression(artifact_path, 1, side, side, 10, 5));
  const std::string artifact = ReadAll(artifact_path);

  auto make_spec = [&](bool secure) {
    v1::RunSpec spec;
    spec.set_artifact_sha256(crypto::ToHex(crypto::Sha256(artifact)));
    spec.mutable_input()->set_width(side);
    spec.mutable_input()->set_height(side);
    spec.mutable_input()->set_channels(1);
    for (const std::string& l : node::demo::FashionMnistLabels()) spec.add_labels(l);
    spec.mutable_optimizer()->set_kind(v1::OptimizerSpec::SGD);
    spec.mutable_optimizer()->set_learning_rate(0.01);
    spec.mutable_local()->set_batch_size(32);
    spec.mutable_local()->set_local_epochs(1);
    spec.mutable_local()->set_threads(1);
    spec.mutable_rounds()->set_rounds(absl::GetFlag(FLAGS_rounds));
    spec.mutable_rounds()->set_min_nodes(nodes);
    spec.mutable_rounds()->set_phase_deadline_seconds(300);
    spec.mutable_rounds()->set_evaluate_every(0);
    spec.set_secure_aggregation(secure);
    spec = coordinator::WithDefaults(spec);
    CHECK_OK(coordinator::ValidateRunSpec(spec));
    return spec;
  };
  const v1::RunSpec plain_spec = make_spec(false);
  const v1::RunSpec secure_spec = make_spec(true);
  const std::string plain_id = *coordinator::RunId(plain_spec);
  const std::string secure_id = *coordinator::RunId(secure_spec);
  auto trainer = node::LoadTorchScriptTrainer(artifact_path, plain_spec);
  CHECK_OK(trainer.status());
  const tensor::TensorList initial = *(*trainer)->Weights();
  size_t parameters = 0;
  for (const auto& t : initial) parameters += t.values.size();

  std::vector<std::unique_ptr<node::NodeDaemon>> daemons;
  std::vector<std::thread> threads;
  for (const std::string& site : demo.sites) {
    TlsDir tls = pki.Issue(v1::ROLE_NODE, site);
    v1::NodeConfig node_config;
    node_config.set_coordinator_address(absl::StrCat("localhost:", port));
    node_config.set_consortium("nordic");
    node_config.set_state_dir(tmp.Sub(site + "-state"));
    node_config.mutable_tls()->set_cert_file(tls.cert());
    node_config.mutable_tls()->set_key_file(tls.key());
    node_config.mutable_tls()->set_ca_file(tls.ca());
    node_config.mutable_data()->mutable_directory()->set_directory(demo.out_dir + "/" + site +
                                                                   "/dicom");
    node_config.mutable_data()->mutable_directory()->set_manifest(demo.out_dir + "/" + site +
                                                                  "/labels.csv");
    node_config.add_approved_runs(plain_id);
    node_config.add_approved_runs(secure_id);
    auto node_finished = node::FinishNodeConfig(node_config, "bench", tmp.path());
    CHECK_OK(node_finished.status());
    node::NodeDaemonOptions options;
    options.config = *node_finished;
    options.software_version = "bench";
    options.worker.data = node_finished->data();
    options.worker.approved_runs = {plain_id, secure_id};
    options.worker.work_dir = node_finished->state_dir() + "/work";
    options.worker.cpu_cores = 1;
    daemons.push_back(std::make_unique<node::NodeDaemon>(options));
  }
  for (auto& d : daemons) threads.emplace_back([&d] { d->Run(); });
  const absl::Time connect_deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    bool all = true;
    for (auto& d : daemons) all = all && d->connected();
    if (all) break;
    if (absl::Now() > connect_deadline) {
      std::fprintf(stderr, "nodes did not connect\n");
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }

  auto run = [&](const v1::RunSpec& spec) {
    CHECK_OK((*server)->StartRun(spec, artifact, initial));
    while ((*server)->Progress().state == "running") absl::SleepFor(absl::Milliseconds(50));
    return (*server)->Progress();
  };
  const coordinator::RunProgress plain = run(plain_spec);
  const coordinator::RunProgress secure = run(secure_spec);

  // The reference, with the nodes idle.
  TlsDir probe_tls = pki.Issue(v1::ROLE_NODE, "probe");
  auto probe = v1::NodeService::NewStub(ChannelFor(probe_tls, port));
  const std::string update = tensor::Encode(initial);
  auto digest = (*server)->Publish(v1::PAYLOAD_KIND_GLOBAL_WEIGHTS, update);
  CHECK_OK(digest.status());
  double reference = 1e9;
  for (int i = 0; i < 5; ++i) reference = std::min(reference, TransferReference(*probe, *digest, update));

  for (auto& d : daemons) d->Stop();
  for (auto& t : threads) t.join();
  (*server)->Shutdown();
  for (const coordinator::RunProgress* p : {&plain, &secure}) {
    if (p->state != "completed") {
      std::fprintf(stderr, "run %s: %s\n", p->state.c_str(), p->failure.c_str());
      return 1;
    }
  }

  std::printf("%d nodes, %zu parameters (%.1f MB of weights), %d images per site\n", nodes,
              parameters, parameters * 4 / 1e6, absl::GetFlag(FLAGS_images));
  // Median over the rounds that neither start the run nor evaluate.
  auto report = [](const char* name, const coordinator::RunProgress& p, double* median_overhead,
                   double* median_duration) {
    std::printf("\n%s\n\n| round | duration s | longest training s | overhead s |\n"
                "|---:|---:|---:|---:|\n",
                name);
    std::vector<double> overheads, durations;
    for (const coordinator::RoundRecord& r : p.history) {
      const double overhead = r.duration_seconds - r.max_train_seconds;
      std::printf("| %llu%s | %.3f | %.3f | %.3f |\n", static_cast<unsigned long long>(r.round),
                  r.round == 1 ? " (first)" : r.evaluated ? " (evaluates)" : "",
                  r.duration_seconds, r.max_train_seconds, overhead);
      if (r.round != 1 && !r.evaluated) {
        overheads.push_back(overhead);
        durations.push_back(r.duration_seconds);
      }
    }
    std::sort(overheads.begin(), overheads.end());
    std::sort(durations.begin(), durations.end());
    *median_overhead = overheads.empty() ? 0 : overheads[overheads.size() / 2];
    *median_duration = durations.empty() ? 0 : durations[durations.size() / 2];
  };
  double plain_overhead = 0, plain_duration = 0, secure_overhead = 0, secure_duration = 0;
  report("plain FedAvg", plain, &plain_overhead, &plain_duration);
  report("secure aggregation", secure, &secure_overhead, &secure_duration);
  std::printf("\nmedian overhead, plain: %.3f s (target <= 0.3 s)\n", plain_overhead);
  std::printf("median overhead, secure: %.3f s (target <= 1 s)\n", secure_overhead);
  std::printf("median round time secure / plain: %.2f\n",
              plain_duration > 0 ? secure_duration / plain_duration : 0);
  std::printf("reference: one node's download + upload of the model over mTLS: %.3f s\n",
              reference);
  std::printf("ratio plain overhead / reference: %.2f\n", plain_overhead / reference);
  return 0;
}

}  // namespace
}  // namespace tverr

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tverr::Main();
}
