// Mask benchmark: the cost of adding one peer's secure aggregation mask
// (common/crypto/mask_prg.h, AES-256-CTR into Z_2^32) to an accumulator of
// 1M and 25M uint32 elements, in one call and in 4 MiB pieces as a
// streamed update is masked, next to a reference measured in the same run:
// a plain acc[i] += x[i] pass over arrays of the same size. Reports ns per
// element (per peer: a node with k peers makes k + 1 such passes).
// Build it on demand: cmake --build <dir> --target mask_bench.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/crypto/mask_prg.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Timing {
  double min_ns_per_element;
  double median_ns_per_element;
};

// Runs `pass` `reps` times over `n` elements and summarises ns/element.
template <typename Pass>
Timing Measure(size_t n, int reps, Pass pass) {
  pass();  // Warm-up: page faults, caches, CPU frequency.
  std::vector<double> ns;
  for (int r = 0; r < reps; ++r) {
    auto start = Clock::now();
    pass();
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                 static_cast<double>(n));
  }
  std::sort(ns.begin(), ns.end());
  return {ns.front(), ns[ns.size() / 2]};
}

void Report(size_t n, const char* what, Timing t) {
  std::printf("%10zu  %-34s %8.3f %10.3f\n", n, what, t.min_ns_per_element,
              t.median_ns_per_element);
}

void Check(const absl::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "mask_bench: %s\n", status.ToString().c_str());
    std::exit(1);
  }
}

void Run(size_t n, int reps, tverr::crypto::MaskPrg& prg) {
  std::vector<uint32_t> acc(n), x(n);
  for (size_t i = 0; i < n; ++i) {
    acc[i] = static_cast<uint32_t>(i);
    x[i] = static_cast<uint32_t>(i * 2654435761u);
  }
  uint32_t* a = acc.data();
  const uint32_t* b = x.data();
  Report(n, "reference acc[i] += x[i]", Measure(n, reps, [&] {
           for (size_t i = 0; i < n; ++i) a[i] += b[i];
           // Keep the loop: the result is observed below.
           asm volatile("" : : "r"(a) : "memory");
         }));
  Report(n, "mask AddTo, one call",
         Measure(n, reps, [&] { Check(prg.AddTo(0, absl::MakeSpan(acc))); }));
  // 4 MiB pieces: how a streamed update arrives (1M elements per piece).
  constexpr size_t kPiece = (4 << 20) / sizeof(uint32_t);
  Report(n, "mask AddTo, 4 MiB pieces", Measure(n, reps, [&] {
           for (size_t off = 0; off < n; off += kPiece) {
             size_t len = std::min(kPiece, n - off);
             Check(prg.AddTo(off, absl::MakeSpan(acc).subspan(off, len)));
           }
         }));
  // Odd pieces (1000 elements, not block aligned): per-call overhead.
  Report(n, "mask AddTo, 1000-element pieces", Measure(n, reps, [&] {
           for (size_t off = 0; off < n; off += 1000) {
             size_t len = std::min<size_t>(1000, n - off);
             Check(prg.AddTo(off, absl::MakeSpan(acc).subspan(off, len)));
           }
         }));
  Report(n, "mask SubtractFrom, one call",
         Measure(n, reps, [&] { Check(prg.SubtractFrom(0, absl::MakeSpan(acc))); }));
  uint64_t sum = 0;
  for (uint32_t v : acc) sum += v;
  std::printf("%10s  (checksum %llu)\n", "", static_cast<unsigned long long>(sum));
}

}  // namespace

int main() {
  tverr::crypto::MaskSeed seed;
  seed.bytes.fill(0x42);
  auto prg = tverr::crypto::MaskPrg::Create(seed, tverr::crypto::MaskNonce{});
  Check(prg.status());
  std::printf("%10s  %-34s %8s %10s\n", "elements", "pass (ns per element)", "min", "median");
  Run(1000000, 50, *prg);
  Run(25000000, 7, *prg);
  return 0;
}
