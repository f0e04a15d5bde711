#include "coordinator/secagg/unmask.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/types/span.h"
#include "common/secagg/bulk_decode.h"

namespace tverr::coordinator::secagg_internal {
namespace {

// Runs part(0) .. part(count - 1), part 0 on the calling thread and the
// others on threads of their own; returns once all have ended. A part whose
// thread cannot be started runs on the calling thread.
template <typename Part>
void RunParts(int count, const Part& part) {
  std::vector<std::thread> threads;
  std::vector<int> here = {0};
  for (int i = 1; i < count; ++i) {
    try {
      threads.emplace_back(part, i);
    } catch (const std::system_error&) {
      here.push_back(i);
    }
  }
  for (int i : here) part(i);
  for (std::thread& thread : threads) thread.join();
}

// Maps the whole pages inside [begin, end) before they are written: one
// system call instead of a page fault per 4 KiB, and the threads map their
// parts of a fresh result in parallel. A hint only (Linux >= 5.14; failure
// leaves the pages to be faulted in on first write).
void Prefault(void* begin, void* end) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  constexpr uintptr_t kPage = 4096;
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + kPage - 1) & ~(kPage - 1);
  const uintptr_t last = reinterpret_cast<uintptr_t>(end) & ~(kPage - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
  (void)begin;
  (void)end;
#endif
}

}  // namespace

int UnmaskThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();  // 0 if unknown
  return static_cast<int>(std::clamp<unsigned>(hardware, 1, kMaxUnmaskThreads));
}

absl::StatusOr<Unmasker> Unmasker::Create(const std::vector<MaskStream>& streams,
                                          const crypto::MaskNonce& nonce, uint64_t words,
                                          int threads) {
  const uint64_t blocks = (words + kUnmaskBlockWords - 1) / kUnmaskBlockWords;
  const int count =
      static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(std::max(threads, 1), blocks)));
  std::vector<std::vector<crypto::MaskPrg>> prgs(static_cast<size_t>(count));
  std::vector<bool> add;
  for (const MaskStream& stream : streams) add.push_back(stream.add);
  for (std::vector<crypto::MaskPrg>& mine : prgs) {
    mine.reserve(streams.size());
    for (const MaskStream& stream : streams) {
      absl::StatusOr<crypto::MaskPrg> prg = crypto::MaskPrg::Create(stream.seed, nonce);
      if (!prg.ok()) return prg.status();
      mine.push_back(std::move(*prg));
    }
  }
  return Unmasker(std::move(prgs), std::move(add), words);
}

Unmasker::Unmasker(std::vector<std::vector<crypto::MaskPrg>> prgs, std::vector<bool> add,
                   uint64_t words)
    : prgs_(std::move(prgs)), add_(std::move(add)), words_(words) {}
Unmasker::Unmasker(Unmasker&&) noexcept = default;
Unmasker& Unmasker::operator=(Unmasker&&) noexcept = default;
Unmasker::~Unmasker() = default;

absl::Status Unmasker::Run(const v1::SecureAggregationParams& params, uint32_t contributors,
                           uint64_t elements, std::vector<uint32_t>& sum,
                           std::vector<double>& out) {
  if (sum.size() != words_ || elements >= words_) {
    return absl::InternalError("unmasking: the sum does not have the size it was prepared for");
  }
  const int count = threads();
  const uint64_t blocks = (words_ + kUnmaskBlockWords - 1) / kUnmaskBlockWords;
  // Thread i's blocks: [first_block(i), first_block(i + 1)).
  auto first_block = [&](int i) { return blocks * static_cast<uint64_t>(i) / count; };
  auto first_word = [&](int i) { return std::min(words_, first_block(i) * kUnmaskBlockWords); };

  out.clear();
  out.reserve(elements);
  double* base = out.data();
  RunParts(count, [&](int i) {
    Prefault(base + std::min(elements, first_word(i)),
             base + std::min(elements, first_word(i + 1)));
  });
  out.resize(elements);

  std::vector<absl::Status> errors(static_cast<size_t>(count));
  std::atomic<bool> failed{false};
  RunParts(count, [&](int i) {
    std::vector<crypto::MaskPrg>& prgs = prgs_[static_cast<size_t>(i)];
    const uint64_t end = first_word(i + 1);
    for (uint64_t offset = first_word(i); offset < end; offset += kUnmaskBlockWords) {
      const size_t len = static_cast<size_t>(std::min(kUnmaskBlockWords, end - offset));
      absl::Span<uint32_t> block(sum.data() + offset, len);
      for (size_t j = 0; j < prgs.size(); ++j) {
        absl::Status status =
            add_[j] ? prgs[j].AddTo(offset, block) : prgs[j].SubtractFrom(offset, block);
        if (!status.ok()) {
          errors[static_cast<size_t>(i)] = std::move(status);
          failed.store(true, std::memory_order_relaxed);
          return;
        }
      }
      if (failed.load(std::memory_order_relaxed)) return;
      // Words past `elements` (the sample count) are not decoded.
      if (offset < elements) {
        const size_t values = static_cast<size_t>(std::min<uint64_t>(len, elements - offset));
        secagg::DecodeSums(params, contributors, block.data(), values, out.data() + offset);
      }
    }
  });
  for (absl::Status& error : errors) {
    if (!error.ok()) return std::move(error);
  }
  return absl::OkStatus();
}

}  // namespace tverr::coordinator::secagg_internal
