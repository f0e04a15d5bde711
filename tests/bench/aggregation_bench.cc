// Aggregation benchmark: FedAvg folding of streamed updates (TVTS bytes in
// 4 MiB pieces, as they arrive from the network) for 10 and 50 nodes x 1M
// and 25M parameters, next to a memory-stream rate measured in the same
// run (STREAM triad over arrays of the model's size). With --rss_only it
// runs one configuration the way the coordinator holds it (global model,
// running sum, one 4 MiB piece at a time) and reports the peak RSS.
// Run it through scripts/bench-aggregation.sh.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "coordinator/aggregation/aggregator_factory.h"
#include "coordinator/aggregation/streaming_update.h"
#include "common/tensor/tensor_codec.h"

ABSL_FLAG(bool, rss_only, false, "Run one configuration and print the peak RSS.");
ABSL_FLAG(int, nodes, 50, "--rss_only: nodes.");
ABSL_FLAG(int64_t, params, 25000000, "--rss_only: parameters.");

namespace {

using tverr::tensor::TensorList;
constexpr size_t kPiece = 4 << 20;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A model of `params` parameters in 10 tensors.
TensorList Model(int64_t params) {
  TensorList list;
  int64_t left = params;
  for (int i = 0; i < 10; ++i) {
    int64_t n = i == 9 ? left : params / 10;
    left -= n;
    list.push_back({"layer" + std::to_string(i) + ".weight", {n}, std::vector<float>(n, 0.5f)});
  }
  return list;
}

void Put32(std::string* s, uint32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }
void Put64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }

// The TVTS header of `list` (see common/tensor/tensor_codec.h), built
// without encoding the values.
std::string Header(const TensorList& list) {
  std::string h = "TVTS";
  Put32(&h, 1);
  Put32(&h, static_cast<uint32_t>(list.size()));
  for (const auto& t : list) {
    Put32(&h, static_cast<uint32_t>(t.name.size()));
    h += t.name;
    h.push_back(1);  // float32
    h.push_back(static_cast<char>(t.shape.size()));
    for (int64_t d : t.shape) Put64(&h, static_cast<uint64_t>(d));
    Put64(&h, t.values.size());
  }
  return h;
}

// Streams one node's update (values from a cheap generator) into the
// aggregator in 4 MiB pieces, holding one piece at a time. Returns bytes.
uint64_t StreamUpdate(tverr::coordinator::Aggregator& agg, const std::string& header,
                      int64_t params, int node, std::string* piece) {
  auto update = tverr::coordinator::StreamingUpdate::Start(agg, "node-" + std::to_string(node),
                                                           100.0 + node);
  if (!update.ok()) std::abort();
  if (!(*update)->Add(header).ok()) std::abort();
  uint64_t bytes = header.size();
  int64_t done = 0;
  float v = 0.001f * static_cast<float>(node + 1);
  // The piece arrives from the network; make it once per node, outside
  // what is being measured as far as possible.
  piece->resize(kPiece);
  float* f = reinterpret_cast<float*>(piece->data());
  for (size_t i = 0; i < kPiece / 4; ++i) f[i] = v;
  while (done < params) {
    const int64_t n = std::min<int64_t>(kPiece / 4, params - done);
    if (!(*update)->Add(absl::string_view(piece->data(), static_cast<size_t>(n) * 4)).ok()) {
      std::abort();
    }
    bytes += static_cast<uint64_t>(n) * 4;
    done += n;
  }
  if (!(*update)->Commit().ok()) std::abort();
  return bytes;
}

// The least work aggregation can do: sum[i] += w * x[i] in float over the
// model, streaming x from a 4 MiB piece. In bytes of x per second.
double MinimalFoldGBs(int64_t params) {
  std::vector<float> sum(params, 0.0f);
  std::vector<float> piece(kPiece / 4, 0.25f);
  double best = 1e9;
  for (int r = 0; r < 3; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int64_t done = 0; done < params;) {
      const int64_t n = std::min<int64_t>(kPiece / 4, params - done);
      float* s = sum.data() + done;
      for (int64_t i = 0; i < n; ++i) s[i] += 1.5f * piece[i];
      done += n;
    }
    best = std::min(best, Seconds(start));
  }
  if (sum[params / 2] < 0) std::puts("");
  return 4.0 * params / best / 1e9;
}

double TriadGBs(int64_t params) {
  std::vector<float> a(params), b(params, 1.0f), c(params, 2.0f);
  double best = 1e9;
  for (int r = 0; r < 3; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < params; ++i) a[i] = b[i] + 0.5f * c[i];
    best = std::min(best, Seconds(start));
  }
  if (a[params / 2] < 0) std::puts("");
  return 3.0 * 4 * params / best / 1e9;
}

long PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  tverr::v1::AggregationSpec spec;
  spec.set_strategy(tverr::v1::AggregationSpec::FEDAVG);
  spec.set_server_learning_rate(1.0);
  std::string piece;
  if (absl::GetFlag(FLAGS_rss_only)) {
    const int64_t params = absl::GetFlag(FLAGS_params);
    const int nodes = absl::GetFlag(FLAGS_nodes);
    auto agg = tverr::coordinator::MakeAggregator(spec, nullptr);
    std::string header;
    {
      TensorList global = Model(params);  // as loaded from the checkpoint
      header = Header(global);
      if (!(*agg)->Begin(global).ok()) return 1;
    }
    for (int n = 0; n < nodes; ++n) StreamUpdate(**agg, header, params, n, &piece);
    auto result = (*agg)->Finish();
    if (!result.ok()) return 1;
    const double model_mb = params * 4 / 1e6;
    std::printf("peak RSS with %d nodes x %lld parameters (model %.0f MB): %ld MB; "
                "target <= 3 x model + 200 MB = %.0f MB\n",
                nodes, static_cast<long long>(params), model_mb, PeakRssMb(),
                3 * model_mb + 200);
    return 0;
  }
  std::printf("%-8s %-12s %12s %16s %8s %12s\n", "nodes", "parameters", "update GB/s",
              "minimal fold GB/s", "ratio", "triad GB/s");
  for (int64_t params : {int64_t{1000000}, int64_t{25000000}}) {
    const double triad = TriadGBs(params);
    const double minimal = MinimalFoldGBs(params);
    for (int nodes : {10, 50}) {
      auto agg = tverr::coordinator::MakeAggregator(spec, nullptr);
      TensorList global = Model(params);
      const std::string header = Header(global);
      if (!(*agg)->Begin(global).ok()) return 1;
      auto start = std::chrono::steady_clock::now();
      uint64_t bytes = 0;
      for (int n = 0; n < nodes; ++n) bytes += StreamUpdate(**agg, header, params, n, &piece);
      const double t = Seconds(start);
      if (!(*agg)->Finish().ok()) return 1;
      const double gbs = bytes / t / 1e9;
      std::printf("%-8d %-12lld %12.2f %16.2f %8.2f %12.2f\n", nodes,
                  static_cast<long long>(params), gbs, minimal, gbs / minimal, triad);
    }
  }
  return 0;
}
