// Whole secure-aggregation rounds with the SecAgg+ neighbour graph
// (SecAggRoundSetup.neighbours): the decoded sum, shares and masks only
// between neighbours, dropouts up to what each neighbourhood's threshold
// allows, and the abort when one neighbourhood loses too many nodes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/secagg/neighbour_graph.h"
#include "common/secagg/protocol.h"
#include "gtest/gtest.h"
#include "tests/secagg/manual_round.h"
#include "tests/secagg/secagg_round.h"

namespace tverr::secagg_testing {
namespace {

const Consortium& Twenty() {
  static const Consortium consortium(20);
  return consortium;
}

double Clip(double x, double clip) { return std::min(std::max(x, -clip), clip); }

void ExpectCorrectSum(const RoundOutcome& out, const RoundSpec& spec) {
  ASSERT_TRUE(out.status.ok()) << out.failed_step << ": " << out.status;
  ASSERT_TRUE(out.sum.has_value());
  const coordinator::SecureSum& sum = *out.sum;
  const double clip = spec.params.clip();
  std::vector<std::string> names;
  uint64_t samples = 0;
  std::vector<double> expected(spec.elements, 0.0);
  for (uint32_t index : out.expected_contributors) {
    names.push_back(Twenty().node(static_cast<int>(index - 1)).uri);
    samples += out.samples.at(index);
    const double weight = static_cast<double>(out.samples.at(index));
    uint64_t i = 0;
    for (const tensor::NamedTensor& t : out.deltas.at(index)) {
      for (float v : t.values) expected[i++] += Clip(weight * v, clip);
    }
  }
  EXPECT_EQ(sum.contributors, names);
  EXPECT_EQ(sum.samples, samples);
  ASSERT_EQ(sum.weighted_sum.size(), spec.elements);
  size_t outside = 0;
  for (uint64_t i = 0; i < spec.elements; ++i) {
    if (std::abs(sum.weighted_sum[i] - expected[i]) > sum.error_bound) ++outside;
  }
  EXPECT_EQ(outside, 0u) << "bound " << sum.error_bound;
  EXPECT_GT(Pearson(sum.weighted_sum, expected), 0.999999);
}

RoundSpec Spec(uint32_t n, uint32_t k) {
  RoundSpec spec;
  spec.n = n;
  spec.threshold = secagg::Threshold(n, 2.0 / 3);
  spec.neighbours = k;
  spec.elements = 6000;
  spec.seed = n * 100 + k;
  return spec;
}

secagg::NeighbourGraph GraphOf(const RoundSpec& spec) {
  std::vector<uint32_t> indices;
  for (uint32_t i = 1; i <= spec.n; ++i) indices.push_back(i);
  return *secagg::NeighbourGraph::Build(indices, spec.neighbours,
                                        secagg::GraphSeed(spec.run_id, spec.round));
}

uint32_t LocalThreshold(const RoundSpec& spec) {
  return secagg::NeighbourThreshold(spec.neighbours, spec.threshold, spec.n);
}

// Whether every node still has `t_local` holders of its shares (itself if
// it is not lost, and its neighbours that are not) when `lost` are gone.
bool Recoverable(const secagg::NeighbourGraph& g, uint32_t n, uint32_t t_local,
                 const std::set<uint32_t>& lost) {
  for (uint32_t u = 1; u <= n; ++u) {
    uint32_t holders = lost.count(u) ? 0 : 1;
    for (uint32_t v : g.NeighboursOf(u)) holders += lost.count(v) ? 0 : 1;
    if (holders < t_local) return false;
  }
  return true;
}

// As many nodes as the local thresholds allow (at most n - t), greedily.
std::set<uint32_t> MostDropouts(const RoundSpec& spec) {
  const secagg::NeighbourGraph g = GraphOf(spec);
  std::set<uint32_t> lost;
  for (uint32_t c = 1; c <= spec.n && lost.size() < spec.n - spec.threshold; ++c) {
    lost.insert(c);
    if (!Recoverable(g, spec.n, LocalThreshold(spec), lost)) lost.erase(c);
  }
  return lost;
}

struct Case {
  uint32_t n;
  uint32_t k;
};

class SecAggSparseTest : public ::testing::TestWithParam<Case> {};

TEST_P(SecAggSparseTest, SumIsThePlainWeightedSumAndSharesGoOnlyToNeighbours) {
  const RoundSpec spec = Spec(GetParam().n, GetParam().k);
  const RoundOutcome out = RunRound(Twenty(), spec);
  ExpectCorrectSum(out, spec);
  EXPECT_EQ(out.sum->contributors.size(), spec.n);
  const secagg::NeighbourGraph g = GraphOf(spec);
  ASSERT_FALSE(g.full());
  ASSERT_EQ(out.transcript.share_keys.size(), spec.n);
  for (const v1::SecAggShareKeysRequest& request : out.transcript.share_keys) {
    ASSERT_GT(request.shares_size(), 0);
    const uint32_t from = request.shares(0).from_index();
    std::vector<uint32_t> to;
    for (const v1::EncryptedShare& share : request.shares()) to.push_back(share.to_index());
    std::sort(to.begin(), to.end());
    EXPECT_EQ(to, g.NeighboursOf(from)) << "shares of node " << from;
  }
  for (const auto& [from, answer] : out.transcript.unmask) {
    EXPECT_EQ(answer.shares_size(), static_cast<int>(spec.neighbours) + 1);
    for (const v1::RevealedShare& r : answer.shares()) {
      EXPECT_TRUE(r.of_index() == from || g.AreNeighbours(from, r.of_index()))
          << from << " revealed a share of " << r.of_index();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Graphs, SecAggSparseTest,
                         ::testing::Values(Case{10, 4}, Case{10, 6}, Case{20, 4}, Case{20, 6}));

TEST(SecAggSparseDropoutTest, AsManyDropoutsAsTheNeighbourhoodsAllow) {
  for (Case c : {Case{10, 4}, Case{20, 4}, Case{20, 6}}) {
    for (Drop drop : {Drop::kAfterShareKeys, Drop::kDuringInput, Drop::kAfterMaskedInput}) {
      RoundSpec spec = Spec(c.n, c.k);
      const std::set<uint32_t> lost = MostDropouts(spec);
      SCOPED_TRACE(absl::StrCat("n ", c.n, " k ", c.k, " drop ", static_cast<int>(drop),
                                " lost ", lost.size()));
      ASSERT_GE(lost.size(), 2u);
      for (uint32_t index : lost) spec.drops[index] = drop;
      const RoundOutcome out = RunRound(Twenty(), spec);
      ExpectCorrectSum(out, spec);
      if (drop != Drop::kAfterMaskedInput) {
        ASSERT_TRUE(out.unmask_task.has_value());
        EXPECT_EQ(out.unmask_task->dropped_size(), static_cast<int>(lost.size()));
      }
    }
  }
}

TEST(SecAggSparseDropoutTest, MixedDropoutsOverThePhases) {
  RoundSpec spec = Spec(20, 6);
  const std::set<uint32_t> lost = MostDropouts(spec);
  ASSERT_GE(lost.size(), 3u);
  const Drop kinds[] = {Drop::kAfterShareKeys, Drop::kAfterMaskedInput, Drop::kDuringInput};
  int i = 0;
  for (uint32_t index : lost) spec.drops[index] = kinds[i++ % 3];
  ExpectCorrectSum(RunRound(Twenty(), spec), spec);
}

// Three of one node's six neighbours drop out: far fewer than n - t = 6 in
// all, but that node's shares (threshold 5 over 7 holders) cannot be
// recovered any more, so the round aborts.
TEST(SecAggSparseDropoutTest, TooManyDropoutsInOneNeighbourhoodAbort) {
  for (Drop drop : {Drop::kAfterShareKeys, Drop::kAfterMaskedInput}) {
    RoundSpec spec = Spec(20, 6);
    ASSERT_EQ(LocalThreshold(spec), 5u);
    const secagg::NeighbourGraph g = GraphOf(spec);
    const std::vector<uint32_t>& around = g.NeighboursOf(1);
    for (int j = 0; j < 3; ++j) spec.drops[around[j]] = drop;
    const RoundOutcome out = RunRound(Twenty(), spec);
    EXPECT_EQ(out.status.code(), absl::StatusCode::kFailedPrecondition) << out.status;
    EXPECT_EQ(out.failed_step, drop == Drop::kAfterShareKeys ? "CloseInput" : "Finish")
        << out.status;
    EXPECT_FALSE(out.sum.has_value());
  }
}

TEST(SecAggSparseTest, DegreeAtLeastNMinusOneIsTheFullGraph) {
  RoundSpec spec = Spec(10, 10);
  const RoundOutcome out = RunRound(Twenty(), spec);
  ExpectCorrectSum(out, spec);
  for (const v1::SecAggShareKeysRequest& request : out.transcript.share_keys) {
    EXPECT_EQ(request.shares_size(), 9);
  }
}

// The first node of 1..n that is not node 1 nor one of its neighbours.
uint32_t NonNeighbourOfOne(const secagg::NeighbourGraph& g, uint32_t n) {
  for (uint32_t v = 2; v <= n; ++v) {
    if (!g.AreNeighbours(1, v)) return v;
  }
  return 0;
}

// Shares, share tasks and unmask answers that reach beyond a node's
// neighbourhood are refused, by the server and by the node.
TEST(SecAggSparseRulesTest, NothingCrossesTheNeighbourhood) {
  const RoundSpec spec = Spec(20, 6);
  const secagg::NeighbourGraph g = GraphOf(spec);
  const uint32_t stranger = NonNeighbourOfOne(g, spec.n);
  ASSERT_NE(stranger, 0u);
  ManualRound round(Twenty(), spec);
  const v1::SecAggKeysTask keys = round.Advertise();

  // The server: a share to a node that is not a neighbour.
  absl::StatusOr<v1::SecAggShareKeysRequest> mine = round.client(1).OnKeys(keys);
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_EQ(mine->shares_size(), 6);
  v1::SecAggShareKeysRequest wider = *mine;
  v1::EncryptedShare* extra = wider.add_shares();
  *extra = mine->shares(0);
  extra->set_to_index(stranger);
  EXPECT_EQ(round.server().SharesReceived(round.uri(1), wider).code(),
            absl::StatusCode::kInvalidArgument);
  std::map<uint32_t, v1::SecAggSharesTask> shares = round.ShareKeys(keys);

  // The node: a share from a node that is not a neighbour.
  v1::SecAggSharesTask forged = shares.at(1);
  v1::EncryptedShare* from_stranger = forged.add_shares();
  *from_stranger = forged.shares(0);
  from_stranger->set_from_index(stranger);
  EXPECT_EQ(round.client(1).OnShares(forged).code(), absl::StatusCode::kFailedPrecondition);

  std::map<uint32_t, v1::SecAggUnmaskTask> tasks = round.MaskedInputs(shares);
  // The node: a split that leaves out one of its neighbours.
  v1::SecAggUnmaskTask short_task = tasks.at(1);
  const uint32_t neighbour = g.NeighboursOf(1).front();
  short_task.clear_survivors();
  for (uint32_t v : tasks.at(1).survivors()) {
    if (v != neighbour) short_task.add_survivors(v);
  }
  EXPECT_EQ(round.client(1).OnUnmask(short_task).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // The server: an answer that reveals a share of a node that is not a
  // neighbour.
  absl::StatusOr<v1::SecAggUnmaskRequest> answer = round.client(2).OnUnmask(tasks.at(2));
  ASSERT_TRUE(answer.ok()) << answer.status();
  uint32_t far = 0;
  for (uint32_t v = 1; v <= spec.n && far == 0; ++v) {
    if (v != 2 && !g.AreNeighbours(2, v)) far = v;
  }
  v1::SecAggUnmaskRequest overshared = *answer;
  v1::RevealedShare* more = overshared.add_shares();
  *more = answer->shares(0);
  more->set_of_index(far);
  EXPECT_EQ(round.server().UnmaskReceived(round.uri(2), overshared).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(round.server().UnmaskReceived(round.uri(2), *answer).ok());
}

}  // namespace
}  // namespace tverr::secagg_testing
