#include "common/secagg/neighbour_graph.h"

#include <numeric>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace tverr::secagg {
namespace {

std::vector<uint32_t> Indices(uint32_t n) {
  std::vector<uint32_t> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

TEST(NeighbourGraph, SymmetricWithExactlyKNeighbours) {
  for (uint32_t n : {6u, 10u, 20u, 51u}) {
    for (uint32_t k : {4u, 6u, 8u}) {
      if (k + 1 >= n) continue;
      absl::StatusOr<NeighbourGraph> g = NeighbourGraph::Build(Indices(n), k, GraphSeed("run", 3));
      ASSERT_TRUE(g.ok()) << g.status();
      EXPECT_FALSE(g->full());
      for (uint32_t u = 1; u <= n; ++u) {
        const std::vector<uint32_t>& list = g->NeighboursOf(u);
        EXPECT_EQ(list.size(), k) << "n " << n << " k " << k << " node " << u;
        EXPECT_EQ(std::set<uint32_t>(list.begin(), list.end()).size(), k);
        for (uint32_t v : list) {
          EXPECT_NE(v, u);
          EXPECT_TRUE(g->AreNeighbours(v, u)) << u << " - " << v;
        }
      }
    }
  }
}

TEST(NeighbourGraph, DeterministicAndIndependentOfInputOrder) {
  std::vector<uint32_t> shuffled = {7, 3, 20, 1, 9, 12, 15, 4, 18, 2, 11};
  std::vector<uint32_t> sorted = shuffled;
  std::sort(sorted.begin(), sorted.end());
  auto a = NeighbourGraph::Build(shuffled, 4, GraphSeed("run-a", 5));
  auto b = NeighbourGraph::Build(sorted, 4, GraphSeed("run-a", 5));
  ASSERT_TRUE(a.ok() && b.ok());
  for (uint32_t u : sorted) EXPECT_EQ(a->NeighboursOf(u), b->NeighboursOf(u));
}

TEST(NeighbourGraph, SeedChangesTheGraph) {
  auto a = NeighbourGraph::Build(Indices(30), 4, GraphSeed("run-a", 5));
  auto b = NeighbourGraph::Build(Indices(30), 4, GraphSeed("run-a", 6));
  ASSERT_TRUE(a.ok() && b.ok());
  bool differs = false;
  for (uint32_t u = 1; u <= 30; ++u) differs |= a->NeighboursOf(u) != b->NeighboursOf(u);
  EXPECT_TRUE(differs);
  EXPECT_NE(GraphSeed("run-a", 5), GraphSeed("run-a", 6));
  EXPECT_NE(GraphSeed("run-a", 5), GraphSeed("run-b", 5));
}

TEST(NeighbourGraph, LargeDegreeOrZeroIsTheFullGraph) {
  for (uint32_t k : {0u, 8u, 10u}) {
    auto g = NeighbourGraph::Build(Indices(9), k, GraphSeed("run", 1));
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(g->full()) << k;
    EXPECT_EQ(g->degree(), 8u);
    for (uint32_t u = 1; u <= 9; ++u) EXPECT_EQ(g->NeighboursOf(u).size(), 8u);
  }
}

TEST(NeighbourGraph, RefusesBadDegreeAndRepeats) {
  EXPECT_EQ(NeighbourGraph::Build(Indices(10), 5, GraphSeed("r", 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NeighbourGraph::Build(Indices(10), 2, GraphSeed("r", 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NeighbourGraph::Build({1, 2, 2, 3, 4, 5, 6}, 4, GraphSeed("r", 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(NeighbourGraph::NeighbourGraph::Build(Indices(10), 4, GraphSeed("r", 1))
                  ->NeighboursOf(11)
                  .empty());
}

TEST(NeighbourThreshold, MajorityOfTheNeighbourhoodAtLeast) {
  EXPECT_EQ(NeighbourThreshold(4, 7, 10), 3u);    // max(3, ceil(2.8))
  EXPECT_EQ(NeighbourThreshold(6, 7, 10), 5u);    // max(4, ceil(4.2))
  EXPECT_EQ(NeighbourThreshold(8, 34, 50), 6u);   // max(5, ceil(5.44))
  EXPECT_EQ(NeighbourThreshold(8, 50, 50), 8u);   // capped at k
  EXPECT_EQ(NeighbourThreshold(0, 7, 10), 7u);    // full graph
  EXPECT_EQ(NeighbourThreshold(10, 7, 10), 7u);   // k >= n - 1: full graph
}

}  // namespace
}  // namespace tverr::secagg
