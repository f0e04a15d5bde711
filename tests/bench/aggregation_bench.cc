// Aggregation benchmark: FedAvg folding of streamed updates (TVTS bytes in
// 4 MiB pieces, as they arrive from the network) for 10 and 50 nodes x 1M
// and 25M parameters, next to references measured in the same run: the
// memory-stream rate of the least work aggregation can do (a float fold
// sum[i] += w * x[i] over a sum larger than the caches; the target is >= 50 %
// of it), the same fold over the model's size and as many passes as nodes
// (a cache rate for 1M parameters), and a STREAM triad over model-sized
// arrays for context. Each figure is the best of 3. With --rss_only it runs
// one configuration the way the coordinator holds it (global model, running
// sum, one 4 MiB piece at a time) and reports the peak RSS.
// Run it through scripts/bench-aggregation.sh.
#include <sys/resource.h>

#include <algorithm>
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

// One node's update as it arrives from the network: the TVTS stream
// (header, then the values) cut into 4 MiB pieces, so values straddle piece
// boundaries as they do in a real upload (a piece seldom starts on a float).
// Every value is the same, so a piece that starts at any stream position is
// a run of `pattern` (the value's bytes repeated) at that position's phase
// within a float. Prepared before timing; the same 4 MiB stays in cache
// like a piece just received would.
struct UpdateStream {
  std::string first;    // header and the first values: the first piece
  std::string pattern;  // kPiece + 4 bytes: the value's bytes repeated
  uint64_t header = 0;  // header bytes
  uint64_t total = 0;   // stream bytes
};

UpdateStream MakeStream(const TensorList& model, int64_t params, float value) {
  UpdateStream s;
  s.first = Header(model);
  s.header = s.first.size();
  s.total = s.header + static_cast<uint64_t>(params) * 4;
  s.pattern.resize(kPiece + 4);
  for (size_t i = 0; i < s.pattern.size(); i += 4) std::memcpy(&s.pattern[i], &value, 4);
  const size_t first_values = std::min<uint64_t>(kPiece, s.total) - s.header;
  s.first.append(s.pattern, 0, first_values);
  return s;
}

// Streams one node's update into the aggregator piece by piece. Returns the
// bytes streamed.
uint64_t StreamUpdate(tverr::coordinator::Aggregator& agg, const UpdateStream& stream, int node) {
  auto update = tverr::coordinator::StreamingUpdate::Start(agg, "node-" + std::to_string(node),
                                                           100.0 + node);
  if (!update.ok()) std::abort();
  if (!(*update)->Add(stream.first).ok()) std::abort();
  for (uint64_t pos = stream.first.size(); pos < stream.total; pos += kPiece) {
    const size_t phase = static_cast<size_t>((pos - stream.header) % 4);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kPiece, stream.total - pos));
    if (!(*update)->Add(absl::string_view(stream.pattern).substr(phase, n)).ok()) std::abort();
  }
  if (!(*update)->Commit().ok()) std::abort();
  return stream.total;
}

// The least work aggregation can do: sum[i] += w * x[i] in float over
// `params` values, `passes` times (as many as there are nodes), streaming x
// from a 4 MiB piece. In bytes of x per second, best of 3. The loop is
// written in blocks of 8 (as the aggregator's own loops are) so that GCC
// vectorises it at -O2; a plain loop stays scalar under GCC 12's -O2 cost
// model and would understate the rate the machine can stream.
double MinimalFoldGBs(int64_t params, int passes) {
  std::vector<float> sum(params, 0.0f);
  std::vector<float> piece(kPiece / 4, 0.25f);
  double best = 1e9;
  for (int r = 0; r < 3; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int pass = 0; pass < passes; ++pass) {
      const float w = 1.0f + 0.01f * static_cast<float>(pass);
      for (int64_t done = 0; done < params;) {
        const int64_t n = std::min<int64_t>(kPiece / 4, params - done);
        float* s = sum.data() + done;
        const float* x = piece.data();
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
          for (int j = 0; j < 8; ++j) s[i + j] += w * x[i + j];
        }
        for (; i < n; ++i) s[i] += w * x[i];
        done += n;
      }
    }
    best = std::min(best, Seconds(start));
  }
  if (sum[params / 2] < 0) std::puts("");
  return 4.0 * params * passes / best / 1e9;
}

// The memory-stream rate the target refers to: the minimal fold over a sum
// too large for any cache (64M values, 256 MB: more than 4 x the 32 MB L3,
// as STREAM sizes its arrays). A 1M-parameter model's sum stays in cache,
// so the fold at the model's size is a cache rate there; it is printed
// next to it.
constexpr int64_t kStreamValues = int64_t{64} << 20;

// STREAM triad over model-sized arrays (printed for context), in bytes of
// the three arrays per second, best of 3; vectorised like the reference.
double TriadGBs(int64_t params) {
  std::vector<float> a(params), b(params, 1.0f), c(params, 2.0f);
  double best = 1e9;
  for (int r = 0; r < 3; ++r) {
    auto start = std::chrono::steady_clock::now();
    float* pa = a.data();
    const float* pb = b.data();
    const float* pc = c.data();
    int64_t i = 0;
    for (; i + 8 <= params; i += 8) {
      for (int j = 0; j < 8; ++j) pa[i + j] = pb[i + j] + 0.5f * pc[i + j];
    }
    for (; i < params; ++i) pa[i] = pb[i] + 0.5f * pc[i];
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
  if (absl::GetFlag(FLAGS_rss_only)) {
    const int64_t params = absl::GetFlag(FLAGS_params);
    const int nodes = absl::GetFlag(FLAGS_nodes);
    auto agg = tverr::coordinator::MakeAggregator(spec, nullptr);
    UpdateStream stream;
    {
      TensorList global = Model(params);  // as loaded from the checkpoint
      stream = MakeStream(global, params, 0.001f);
      if (!(*agg)->Begin(global).ok()) return 1;
    }
    for (int n = 0; n < nodes; ++n) StreamUpdate(**agg, stream, n);
    auto result = (*agg)->Finish();
    if (!result.ok()) return 1;
    const double model_mb = params * 4 / 1e6;
    std::printf("peak RSS with %d nodes x %lld parameters (model %.0f MB): %ld MB; "
                "target <= 3 x model + 200 MB = %.0f MB\n",
                nodes, static_cast<long long>(params), model_mb, PeakRssMb(),
                3 * model_mb + 200);
    return 0;
  }
  std::printf("%-6s %-11s %12s %17s %6s %17s %6s %11s\n", "nodes", "parameters",
              "update GB/s", "mem-stream GB/s", "ratio", "model-fold GB/s", "ratio",
              "triad GB/s");
  for (int64_t params : {int64_t{1000000}, int64_t{25000000}}) {
    const double triad = TriadGBs(params);
    const TensorList global = Model(params);
    const UpdateStream stream = MakeStream(global, params, 0.001f);
    for (int nodes : {10, 50}) {
      // The references right before the measurement, so that a build
      // starting on the machine moves both alike.
      const double memory = MinimalFoldGBs(kStreamValues, 3);
      const double model = MinimalFoldGBs(params, nodes);
      auto agg = tverr::coordinator::MakeAggregator(spec, nullptr);
      double best = 1e9;
      uint64_t bytes = 0;
      for (int r = 0; r < 3; ++r) {
        if (!(*agg)->Begin(global).ok()) return 1;
        auto start = std::chrono::steady_clock::now();
        bytes = 0;
        for (int n = 0; n < nodes; ++n) bytes += StreamUpdate(**agg, stream, n);
        best = std::min(best, Seconds(start));
        if (!(*agg)->Finish().ok()) return 1;
      }
      const double gbs = bytes / best / 1e9;
      std::printf("%-6d %-11lld %12.2f %17.2f %6.2f %17.2f %6.2f %11.2f\n", nodes,
                  static_cast<long long>(params), gbs, memory, gbs / memory, model, gbs / model,
                  triad);
    }
  }
  return 0;
}
