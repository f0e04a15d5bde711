#include "common/secagg/neighbour_graph.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/secagg/wire.h"

namespace tverr::secagg {
namespace {

constexpr char kGraphLabel[] = "tverr.secagg.v1.graph";

// The i-th 64-bit word of the stream SHA-256(seed ‖ BE64(block)), for a
// permutation that is the same on every platform (std::shuffle is not).
class SeedStream {
 public:
  explicit SeedStream(const crypto::Sha256Digest& seed) : seed_(seed) {}
  uint64_t Next() {
    if (used_ == 4) {
      std::string data(crypto::AsStringView(seed_));
      wire::AppendBe64(&data, block_++);
      block_digest_ = crypto::Sha256(data);
      used_ = 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | block_digest_[used_ * 8 + i];
    ++used_;
    return v;
  }

 private:
  crypto::Sha256Digest seed_;
  crypto::Sha256Digest block_digest_{};
  uint64_t block_ = 0;
  int used_ = 4;
};

}  // namespace

crypto::Sha256Digest GraphSeed(const std::string& run_id, uint64_t round) {
  std::string data;
  wire::AppendLengthPrefixed(&data, run_id);
  wire::AppendBe64(&data, round);
  wire::AppendLengthPrefixed(&data, kGraphLabel);
  return crypto::Sha256(data);
}

absl::StatusOr<NeighbourGraph> NeighbourGraph::Build(std::vector<uint32_t> participants,
                                                     uint32_t k,
                                                     const crypto::Sha256Digest& seed) {
  if (k != 0 && (k % 2 != 0 || k < 4)) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbour graph: degree ", k, " must be 0 (full) or even and >= 4"));
  }
  std::sort(participants.begin(), participants.end());
  if (std::adjacent_find(participants.begin(), participants.end()) != participants.end()) {
    return absl::InvalidArgumentError("neighbour graph: a participant index appears twice");
  }
  const size_t n = participants.size();
  NeighbourGraph graph;
  if (k == 0 || k + 1 >= n) {
    graph.full_ = true;
    graph.degree_ = n == 0 ? 0 : static_cast<uint32_t>(n - 1);
    for (uint32_t u : participants) {
      std::vector<uint32_t>& list = graph.neighbours_[u];
      for (uint32_t v : participants) {
        if (v != u) list.push_back(v);
      }
    }
    return graph;
  }
  // Fisher-Yates over the sorted indices; the modulo bias of a 64-bit word
  // for n <= 2^32 is below 2^-32 and public anyway.
  SeedStream stream(seed);
  for (size_t i = n - 1; i > 0; --i) {
    const size_t j = static_cast<size_t>(stream.Next() % (i + 1));
    std::swap(participants[i], participants[j]);
  }
  graph.full_ = false;
  graph.degree_ = k;
  const size_t half = k / 2;
  for (size_t p = 0; p < n; ++p) {
    std::vector<uint32_t>& list = graph.neighbours_[participants[p]];
    for (size_t d = 1; d <= half; ++d) {
      list.push_back(participants[(p + d) % n]);
      list.push_back(participants[(p + n - d) % n]);
    }
    std::sort(list.begin(), list.end());
  }
  return graph;
}

const std::vector<uint32_t>& NeighbourGraph::NeighboursOf(uint32_t index) const {
  static const std::vector<uint32_t>* const kNone = new std::vector<uint32_t>();
  auto it = neighbours_.find(index);
  return it == neighbours_.end() ? *kNone : it->second;
}

bool NeighbourGraph::AreNeighbours(uint32_t a, uint32_t b) const {
  const std::vector<uint32_t>& list = NeighboursOf(a);
  return std::binary_search(list.begin(), list.end(), b);
}

uint32_t NeighbourThreshold(uint32_t k, uint32_t t, uint32_t n) {
  if (n == 0 || k == 0 || k + 1 >= n) return t;
  const uint32_t majority = k / 2 + 1;
  const uint64_t proportional = (uint64_t{t} * k + n - 1) / n;
  return std::min(k, std::max(majority, static_cast<uint32_t>(proportional)));
}

}  // namespace tverr::secagg
