// Secure aggregation benchmark: one real secure round (node certificates
// from a test CA, every phase, every masked input real and verified) per
// configuration, n = 10 and 50 nodes x 1M and 25M parameters, with 0 % and
// 10 % of the nodes dropping out after sharing keys (so the coordinator
// must reconstruct their mask keys and remove their pairwise masks), and
// with --neighbours the SecAgg+ graph degrees (0: the full graph).
//
// Measured, per configuration:
//  - masking: SecAggClient::MaskedInput of every surviving node (quantise,
//    self mask, one pairwise mask per peer that shared), reported in ns per
//    parameter per peer (median and best over the nodes);
//  - coordinator: every server call from CloseSharing (which allocates the
//    sum) on: streaming every masked input in 4 MiB pieces (the sum modulo
//    2^32), CloseInput, the unmask answers and Finish (reconstruction, mask
//    removal, decoding into a new vector of doubles; Finish on
//    --finish_threads threads, by default one per core);
//  - plain reference, same run: what the coordinator does for the same
//    updates in a round without secure aggregation: the FedAvg aggregator
//    (MeanAggregator: Begin allocates its float sum, each update streamed
//    as TVTS bytes in 4 MiB pieces, decoded, checked and folded, Finish).
//    Until 2026-11-27 the reference was a bare double fold,
//    sum[i] += w * x[i], on one thread; it is still printed ("fold s").
// Inputs are made one node at a time and streamed into the server as they
// are made: at most one delta and one masked input are in memory. The
// decoded sum is checked against the plain sum (quantisation bound).
// Run it through scripts/bench-secagg.sh.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tensor/tensor_codec.h"
#include "coordinator/aggregation/aggregator_factory.h"
#include "coordinator/aggregation/streaming_update.h"
#include "coordinator/secagg/secagg_server.h"
#include "node/secagg/secagg_client.h"
#include "tests/secagg/secagg_round.h"

ABSL_FLAG(std::string, nodes, "10,50", "Node counts, comma-separated.");
ABSL_FLAG(std::string, params, "1000000,25000000", "Parameter counts, comma-separated.");
ABSL_FLAG(std::string, dropouts, "0,0.1",
          "Fractions of the nodes that drop out after sharing keys, comma-separated.");
ABSL_FLAG(std::string, neighbours, "0",
          "Neighbour graph degrees (SecAggRoundSetup.neighbours), comma-separated; 0: the "
          "full graph.");
ABSL_FLAG(int, finish_threads, 0,
          "Threads of the coordinator's Finish (unmasking, decoding); 0: one per core.");

namespace {

using Clock = std::chrono::steady_clock;
using tverr::coordinator::SecAggServer;
using tverr::node::SecAggClient;
using tverr::secagg_testing::Consortium;

constexpr size_t kPiece = 4 << 20;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "secagg_bench: %s: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*value);
}

void OrDie(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "secagg_bench: %s: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

// A delta of `params` values in [-0.01, 0.01] in 10 tensors (xorshift, cheap).
tverr::tensor::TensorList Delta(int64_t params, uint64_t seed) {
  tverr::tensor::TensorList list(10);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  int64_t left = params;
  for (int t = 0; t < 10; ++t) {
    const int64_t n = t == 9 ? left : params / 10;
    left -= n;
    list[t].name = absl::StrCat("layer", t, ".weight");
    list[t].shape = {n};
    list[t].values.resize(static_cast<size_t>(n));
    for (float& v : list[t].values) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v = (static_cast<float>(x >> 40) / 16777216.0f - 0.5f) * 0.02f;
    }
  }
  return list;
}

struct Result {
  int nodes = 0;
  int64_t params = 0;
  int dropped = 0;
  int peers = 0;                 // neighbours per node (n - 1: the full graph)
  double setup_ms_per_node = 0;  // advertise + keys (verify n - 1 signatures) + shares
  double mask_ns_median = 0;     // per parameter per peer
  double mask_ns_best = 0;
  double mask_s_median = 0;      // one node's masking, seconds
  double sum_s = 0;              // streaming all inputs into the server
  double finish_s = 0;
  double coordinator_s = 0;      // every server call from CloseSharing on
  double plain_s = 0;            // the reference: the plain FedAvg aggregator
  double fold_s = 0;             // the earlier reference: a bare double fold
  double max_error_over_bound = 0;
};

Result RunOne(const Consortium& consortium, int n, int64_t params, double dropout,
              int neighbours) {
  Result r;
  r.nodes = n;
  r.params = params;
  r.dropped = static_cast<int>(std::lround(dropout * n));
  tverr::secagg_testing::RoundSpec spec;
  spec.n = static_cast<uint32_t>(n);
  spec.threshold = static_cast<uint32_t>(std::ceil(2.0 * n / 3));
  spec.elements = static_cast<uint64_t>(params);
  spec.neighbours = static_cast<uint32_t>(neighbours);
  const tverr::v1::SecAggRoundSetup setup = tverr::secagg_testing::MakeSetup(consortium, spec);
  const auto digest = tverr::crypto::Sha256("global model");
  auto server =
      OrDie(SecAggServer::Create(spec.run_id, spec.round, digest, setup, spec.elements,
                                 {/*finish_threads=*/absl::GetFlag(FLAGS_finish_threads)}),
            "Create");

  // Phases 1 and 2, timed per node (client side only).
  std::vector<std::unique_ptr<SecAggClient>> clients;
  double setup_s = 0;
  for (int i = 0; i < n; ++i) {
    tverr::v1::SecAggRoundSetup mine = setup;
    mine.set_my_index(static_cast<uint32_t>(i + 1));
    clients.push_back(OrDie(SecAggClient::Start(consortium.ClientOptions(i, 3), spec.run_id,
                                                spec.round, digest, mine),
                            "Start"));
    auto start = Clock::now();
    auto request = OrDie(clients.back()->Advertise(), "Advertise");
    setup_s += Seconds(start);
    OrDie(server->Advertised(consortium.node(i).uri, request), "Advertised");
  }
  const auto keys = OrDie(server->CloseAdvertise(), "CloseAdvertise");
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    auto request = OrDie(clients[i]->OnKeys(keys), "OnKeys");
    setup_s += Seconds(start);
    OrDie(server->SharesReceived(consortium.node(i).uri, request), "SharesReceived");
  }
  // The coordinator's time from here on: it allocates and zeroes its sum
  // in CloseSharing (as a plain aggregator does at the start of a round).
  auto start_close = Clock::now();
  auto shares = OrDie(server->CloseSharing(), "CloseSharing");
  r.coordinator_s += Seconds(start_close);
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    OrDie(clients[i]->OnShares(shares.at(consortium.node(i).uri)), "OnShares");
    setup_s += Seconds(start);
  }
  r.setup_ms_per_node = 1000 * setup_s / n;

  // Phase 3: the last `dropped` nodes drop out after sharing. One node at a
  // time: delta, reference fold, masking, streaming into the server.
  const int survivors = n - r.dropped;
  // Every node shared: each masks with all its neighbours.
  const int peers = neighbours == 0 || neighbours >= n - 1 ? n - 1 : neighbours;
  r.peers = peers;
  auto start_plain = Clock::now();
  std::vector<double> plain(static_cast<size_t>(params), 0.0);
  r.fold_s += Seconds(start_plain);
  tverr::v1::AggregationSpec fedavg;
  fedavg.set_strategy(tverr::v1::AggregationSpec::FEDAVG);
  fedavg.set_server_learning_rate(1.0);
  auto aggregator = OrDie(tverr::coordinator::MakeAggregator(fedavg, nullptr), "MakeAggregator");
  {
    tverr::tensor::TensorList global = Delta(params, 0);  // any finite model of the layout
    start_plain = Clock::now();
    OrDie(aggregator->Begin(global), "Begin");
    r.plain_s += Seconds(start_plain);
  }
  std::vector<double> mask_s;
  uint64_t total_samples = 0;
  for (int i = 0; i < survivors; ++i) {
    const uint64_t samples = 100 + 37 * static_cast<uint64_t>(i);
    total_samples += samples;
    const tverr::tensor::TensorList delta = Delta(params, static_cast<uint64_t>(i + 1));

    auto start = Clock::now();
    {
      const double w = static_cast<double>(samples);
      double* sum = plain.data();
      for (const auto& t : delta) {
        const float* x = t.values.data();
        const size_t count = t.values.size();
        for (size_t k = 0; k < count; ++k) sum[k] += w * x[k];
        sum += count;
      }
    }
    r.fold_s += Seconds(start);

    {
      const std::string bytes = tverr::tensor::Encode(delta);
      start = Clock::now();
      auto update = OrDie(tverr::coordinator::StreamingUpdate::Start(
                              *aggregator, absl::StrCat("node-", i), static_cast<double>(samples)),
                          "StreamingUpdate");
      for (size_t at = 0; at < bytes.size(); at += kPiece) {
        OrDie(update->Add(absl::string_view(bytes).substr(at, kPiece)), "plain Add");
      }
      OrDie(update->Commit(), "plain Commit");
      r.plain_s += Seconds(start);
    }

    start = Clock::now();
    const std::string masked = OrDie(clients[i]->MaskedInput(delta, samples), "MaskedInput");
    mask_s.push_back(Seconds(start));

    start = Clock::now();
    auto input = OrDie(server->BeginInput(consortium.node(i).uri), "BeginInput");
    for (size_t at = 0; at < masked.size(); at += kPiece) {
      OrDie(input->Add(absl::string_view(masked).substr(at, kPiece)), "Add");
    }
    OrDie(input->Commit(), "Commit");
    r.sum_s += Seconds(start);
  }
  start_close = Clock::now();
  auto unmask = OrDie(server->CloseInput(), "CloseInput");
  r.coordinator_s += Seconds(start_close);
  for (int i = 0; i < survivors; ++i) {
    auto answer = OrDie(clients[i]->OnUnmask(unmask.at(consortium.node(i).uri)), "OnUnmask");
    auto start = Clock::now();
    OrDie(server->UnmaskReceived(consortium.node(i).uri, answer), "UnmaskReceived");
    r.coordinator_s += Seconds(start);
  }
  auto start = Clock::now();
  OrDie(aggregator->Finish().status(), "plain Finish");
  r.plain_s += Seconds(start);
  aggregator.reset();
  start = Clock::now();
  const auto sum = OrDie(server->Finish(), "Finish");
  r.finish_s = Seconds(start);
  r.coordinator_s += r.sum_s + r.finish_s;

  // The decoded sum is the plain sum within the quantisation bound.
  if (sum.samples != total_samples || sum.weighted_sum.size() != plain.size()) {
    std::fprintf(stderr, "secagg_bench: wrong sum (samples %llu, expected %llu)\n",
                 static_cast<unsigned long long>(sum.samples),
                 static_cast<unsigned long long>(total_samples));
    std::exit(1);
  }
  double worst = 0;
  for (size_t k = 0; k < plain.size(); ++k) {
    worst = std::max(worst, std::abs(sum.weighted_sum[k] - plain[k]));
  }
  r.max_error_over_bound = worst / sum.error_bound;
  if (r.max_error_over_bound > 1) {
    std::fprintf(stderr, "secagg_bench: error %g exceeds the bound %g\n", worst, sum.error_bound);
    std::exit(1);
  }
  std::sort(mask_s.begin(), mask_s.end());
  r.mask_s_median = mask_s[mask_s.size() / 2];
  const double per = 1e9 / (static_cast<double>(params) * peers);
  r.mask_ns_median = r.mask_s_median * per;
  r.mask_ns_best = mask_s.front() * per;
  return r;
}

std::vector<std::string> List(const std::string& flag) { return absl::StrSplit(flag, ','); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<int> node_counts;
  std::vector<int64_t> param_counts;
  std::vector<double> dropouts;
  for (const std::string& s : List(absl::GetFlag(FLAGS_nodes))) {
    int v = 0;
    if (!absl::SimpleAtoi(s, &v) || v < 3 || v > 64) return 2;
    node_counts.push_back(v);
  }
  for (const std::string& s : List(absl::GetFlag(FLAGS_params))) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(s, &v) || v < 1) return 2;
    param_counts.push_back(v);
  }
  std::vector<int> degrees;
  for (const std::string& s : List(absl::GetFlag(FLAGS_neighbours))) {
    int v = 0;
    if (!absl::SimpleAtoi(s, &v) || v < 0 || (v != 0 && (v < 4 || v % 2 != 0))) return 2;
    degrees.push_back(v);
  }
  for (const std::string& s : List(absl::GetFlag(FLAGS_dropouts))) {
    double v = 0;
    if (!absl::SimpleAtod(s, &v) || v < 0 || v > 0.3) return 2;
    dropouts.push_back(v);
  }
  const int most = *std::max_element(node_counts.begin(), node_counts.end());
  const Consortium consortium(most);
  const int finish_threads = absl::GetFlag(FLAGS_finish_threads);
  if (finish_threads < 0) return 2;
  if (finish_threads == 0) {
    std::printf("Finish: one thread per core (%u hardware threads, at most 16)\n",
                std::thread::hardware_concurrency());
  } else {
    std::printf("Finish: %d thread(s)\n", finish_threads);
  }

  std::printf("%5s %5s %10s %7s | %9s | %10s %10s %9s | %8s %8s %8s %8s %6s %8s %6s | %7s\n",
              "nodes", "peers", "params", "dropped", "setup/ms", "mask ns/pp", "best", "mask s",
              "sum s", "finish s", "coord s", "plain s", "ratio", "fold s", "ratio", "err/bnd");
  for (int n : node_counts) {
    for (int64_t params : param_counts) {
      for (double dropout : dropouts) {
        for (int degree : degrees) {
          const Result r = RunOne(consortium, n, params, dropout, degree);
          const double coordinator = r.coordinator_s;
          std::printf(
              "%5d %5d %10lld %7d | %9.1f | %10.3f %10.3f %9.3f | %8.3f %8.3f %8.3f %8.3f %6.2f "
              "%8.3f %6.2f | %7.3f\n",
              r.nodes, r.peers, static_cast<long long>(r.params), r.dropped, r.setup_ms_per_node,
              r.mask_ns_median, r.mask_ns_best, r.mask_s_median, r.sum_s, r.finish_s,
              coordinator, r.plain_s, coordinator / r.plain_s, r.fold_s, coordinator / r.fold_s,
              r.max_error_over_bound);
          std::fflush(stdout);
        }
      }
    }
  }
  std::printf(
      "peers: each node's neighbours (n - 1: the full graph; else --neighbours);\n"
      "mask ns/pp: one node's MaskedInput per parameter per peer (median over the surviving "
      "nodes; best);\nsum s: streaming the masked inputs into the server; coord s: every "
      "server call from CloseSharing\n(which allocates the sum) to Finish; plain s: the plain "
      "FedAvg aggregator on the same updates\n(Begin, TVTS streams in 4 MiB pieces, Finish); "
      "fold s: allocating a double sum and sum[i] += w * x[i]\nfor as many float updates (the "
      "reference until 2026-11-27); ratio = coord / plain or / fold;\nerr/bnd: worst decoded "
      "error / bound.\n");
  return 0;
}
