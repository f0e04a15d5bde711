// The sparse neighbour graph of SecAgg+ (Bell et al. 2020): a Harary graph
// H(k, n) over a pseudo-random permutation of the round's participants.
// Every node and the coordinator derive it from public values only (the
// sorted participant indices, the run id and the round), so the
// coordinator cannot pick a node's neighbours. A node shares its secrets
// with, and masks pairwise with, its neighbours only
// (docs/secure_aggregation.md, "Sparse neighbour graph").
// Immutable after Build(): thread-compatible, safe to share for reads.
#ifndef TVERR_COMMON_SECAGG_NEIGHBOUR_GRAPH_H_
#define TVERR_COMMON_SECAGG_NEIGHBOUR_GRAPH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/sha256.h"

namespace tverr::secagg {

// SHA-256(LP(run_id) ‖ BE64(round) ‖ LP("tverr.secagg.v1.graph")).
crypto::Sha256Digest GraphSeed(const std::string& run_id, uint64_t round);

class NeighbourGraph {
 public:
  // The graph over `participants` (indices, any order, no repeats) with
  // degree `k`. k = 0 or k >= n - 1 is the full graph (every node is a
  // neighbour of every other). INVALID_ARGUMENT for a repeated index or an
  // odd k, or k in 1..3.
  static absl::StatusOr<NeighbourGraph> Build(std::vector<uint32_t> participants, uint32_t k,
                                              const crypto::Sha256Digest& seed);

  // True when every node neighbours every other.
  bool full() const { return full_; }
  // The neighbours of `index` (itself excluded), ascending; empty for a
  // non-participant.
  const std::vector<uint32_t>& NeighboursOf(uint32_t index) const;
  bool AreNeighbours(uint32_t a, uint32_t b) const;
  // Neighbours per node (n - 1 for the full graph).
  uint32_t degree() const { return degree_; }

 private:
  NeighbourGraph() = default;
  bool full_ = true;
  uint32_t degree_ = 0;
  std::map<uint32_t, std::vector<uint32_t>> neighbours_;
};

// The Shamir threshold over one node's neighbourhood (its k neighbours and
// itself) in a round of n participants with round threshold t:
// max(floor(k / 2) + 1, ceil(t · k / n)), at most k. t / n stands for
// threshold_fraction, which nodes do not receive. For the full graph
// (k >= n - 1) the round threshold t itself.
uint32_t NeighbourThreshold(uint32_t k, uint32_t t, uint32_t n);

}  // namespace tverr::secagg

#endif  // TVERR_COMMON_SECAGG_NEIGHBOUR_GRAPH_H_
