// The coordinator's side: what it accepts in each phase, streamed inputs
// and the rebuild after a broken upload, and the unmasking's checks.
#include "coordinator/secagg/secagg_server.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/shamir.h"
#include "common/secagg/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/secagg/manual_round.h"
#include "tests/secagg/secagg_round.h"

namespace tverr::secagg_testing {
namespace {

using ::testing::HasSubstr;

RoundSpec SmallSpec(uint32_t n = 5, uint32_t threshold = 3) {
  RoundSpec spec;
  spec.n = n;
  spec.threshold = threshold;
  spec.elements = 1000;
  return spec;
}

uint64_t SamplesOf(const ManualRound& round, const std::set<uint32_t>& nodes) {
  uint64_t total = 0;
  for (uint32_t i : nodes) total += round.samples(i);
  return total;
}

TEST(SecAggServerTest, CreateRefusesInconsistentSetups) {
  const RoundSpec spec = SmallSpec();
  const v1::SecAggRoundSetup base = MakeSetup(TestConsortium(), spec);
  auto create = [&](const v1::SecAggRoundSetup& setup, uint64_t elements = 10) {
    return coordinator::SecAggServer::Create("run", 1, crypto::Sha256("m"), setup, elements)
        .status()
        .code();
  };
  EXPECT_EQ(create(base), absl::StatusCode::kOk);
  EXPECT_EQ(create(base, 0), absl::StatusCode::kInvalidArgument);
  v1::SecAggRoundSetup setup = base;
  setup.set_threshold(2);  // 2 of 5 is not a majority
  EXPECT_EQ(create(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.mutable_participants(2)->set_node(base.participants(1).node());
  EXPECT_EQ(create(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.mutable_participants(2)->set_index(0);
  EXPECT_EQ(create(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.mutable_params()->set_max_nodes(4);
  EXPECT_EQ(create(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.mutable_params()->set_clip(0);
  EXPECT_EQ(create(setup), absl::StatusCode::kInvalidArgument);
}

TEST(SecAggServerTest, AdvertisePhaseChecks) {
  ManualRound round(TestConsortium(), SmallSpec());
  coordinator::SecAggServer& server = round.server();
  auto keys_of = [&](uint32_t index) {
    auto request = round.client(index).Advertise();
    EXPECT_TRUE(request.ok());
    return *request;
  };
  const v1::SecAggAdvertiseRequest one = keys_of(1);
  EXPECT_EQ(server.Advertised("fl://nordic/node/stranger", one).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.Advertised(round.uri(2), one).code(), absl::StatusCode::kInvalidArgument);
  v1::SecAggAdvertiseRequest bad = one;
  bad.mutable_keys()->set_mask_public_key("short");
  EXPECT_EQ(server.Advertised(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  bad = one;
  bad.set_round(one.round() + 1);
  EXPECT_EQ(server.Advertised(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(server.Advertised(round.uri(1), one).ok());
  EXPECT_EQ(server.Advertised(round.uri(1), one).code(), absl::StatusCode::kFailedPrecondition);
  // Two nodes only: fewer than t = 3.
  ASSERT_TRUE(server.Advertised(round.uri(3), keys_of(3)).ok());
  auto closed = server.CloseAdvertise();
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(closed.status().message()), HasSubstr("aborted"));
  // The round is over.
  EXPECT_EQ(server.Advertised(round.uri(4), keys_of(4)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.CloseSharing().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggServerTest, KeysTaskIsInIndexOrder) {
  ManualRound round(TestConsortium(), SmallSpec());
  // Advertised in reverse order.
  for (uint32_t index : {5u, 3u, 4u, 1u}) {
    ASSERT_TRUE(round.server().Advertised(round.uri(index), *round.client(index).Advertise()).ok());
  }
  auto keys = round.server().CloseAdvertise();
  ASSERT_TRUE(keys.ok());
  std::vector<uint32_t> indices;
  for (const v1::AdvertisedKeys& k : keys->keys()) indices.push_back(k.index());
  EXPECT_EQ(indices, (std::vector<uint32_t>{1, 3, 4, 5}));
  EXPECT_EQ(keys->run_id(), round.spec().run_id);
  EXPECT_EQ(keys->round(), round.spec().round);
}

TEST(SecAggServerTest, SharePhaseChecksAndRelaysOnlyWithinU2) {
  ManualRound round(TestConsortium(), SmallSpec());
  coordinator::SecAggServer& server = round.server();
  const v1::SecAggKeysTask keys = round.Advertise({1, 2, 3, 4, 5});
  auto from_1 = round.client(1).OnKeys(keys);
  ASSERT_TRUE(from_1.ok());
  v1::SecAggShareKeysRequest bad = *from_1;
  bad.mutable_shares()->RemoveLast();
  EXPECT_EQ(server.SharesReceived(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  bad = *from_1;
  bad.mutable_shares(0)->mutable_ciphertext()->push_back('x');
  EXPECT_EQ(server.SharesReceived(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  bad = *from_1;
  bad.mutable_shares(0)->set_to_index(1);  // to itself
  EXPECT_EQ(server.SharesReceived(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.SharesReceived(round.uri(2), *from_1).code(),
            absl::StatusCode::kInvalidArgument);  // node 2 sending node 1's shares
  ASSERT_TRUE(server.SharesReceived(round.uri(1), *from_1).ok());
  EXPECT_EQ(server.SharesReceived(round.uri(1), *from_1).code(),
            absl::StatusCode::kFailedPrecondition);
  // Nodes 2 and 3 share; 4 and 5 do not.
  for (uint32_t index : {2u, 3u}) {
    ASSERT_TRUE(server.SharesReceived(round.uri(index), *round.client(index).OnKeys(keys)).ok());
  }
  auto tasks = server.CloseSharing();
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 3u);
  for (uint32_t index : {1u, 2u, 3u}) {
    const v1::SecAggSharesTask& task = tasks->at(round.uri(index));
    std::set<uint32_t> from;
    for (const v1::EncryptedShare& s : task.shares()) {
      EXPECT_EQ(s.to_index(), index);
      from.insert(s.from_index());
    }
    std::set<uint32_t> others = {1, 2, 3};
    others.erase(index);
    EXPECT_EQ(from, others);
  }
  EXPECT_EQ(server.BeginInput(round.uri(4)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggServerTest, StreamedInputsAndRebuild) {
  ManualRound round(TestConsortium(), SmallSpec());
  coordinator::SecAggServer& server = round.server();
  const auto shares = round.ShareKeys(round.Advertise());
  std::map<uint32_t, std::string> masked;
  for (uint32_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(round.client(i).OnShares(shares.at(i)).ok());
    auto m = round.client(i).MaskedInput(round.delta(i), round.samples(i));
    ASSERT_TRUE(m.ok()) << m.status();
    masked[i] = *m;
  }
  // Node 1 whole, in 3-byte pieces (every word split).
  {
    auto input = server.BeginInput(round.uri(1));
    ASSERT_TRUE(input.ok());
    EXPECT_EQ(server.BeginInput(round.uri(1)).status().code(),
              absl::StatusCode::kFailedPrecondition);
    for (size_t at = 0; at < masked[1].size(); at += 3) {
      ASSERT_TRUE((*input)->Add(absl::string_view(masked[1]).substr(at, 3)).ok());
    }
    ASSERT_TRUE((*input)->Commit().ok());
    EXPECT_EQ((*input)->Add("x").code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(server.BeginInput(round.uri(1)).status().code(), absl::StatusCode::kFailedPrecondition);
  // Node 2 too long: refused, and the sum now holds part of it.
  {
    auto input = server.BeginInput(round.uri(2));
    ASSERT_TRUE(input.ok());
    ASSERT_TRUE((*input)->Add(absl::string_view(masked[2]).substr(0, 100)).ok());
    EXPECT_EQ((*input)->Add(masked[2]).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(server.needs_rebuild());
  // Node 3 too short.
  {
    auto input = server.BeginInput(round.uri(3));
    ASSERT_TRUE(input.ok());
    ASSERT_TRUE((*input)->Add(absl::string_view(masked[3]).substr(0, masked[3].size() - 1)).ok());
    EXPECT_EQ((*input)->Commit().code(), absl::StatusCode::kInvalidArgument);
  }
  // Node 4 open across the rebuild: inert afterwards.
  auto stale = server.BeginInput(round.uri(4));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(server.CloseInput().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.committed_inputs(), std::vector<std::string>{round.uri(1)});
  server.ResetSum();
  EXPECT_FALSE(server.needs_rebuild());
  EXPECT_EQ((*stale)->Add(masked[4]).code(), absl::StatusCode::kFailedPrecondition);
  stale->reset();
  EXPECT_FALSE(server.needs_rebuild());
  // Node 1's input counts but is no longer in the sum: it must be added
  // again before the phase can close.
  EXPECT_EQ(server.committed_inputs(), std::vector<std::string>{round.uri(1)});
  EXPECT_EQ(server.CloseInput().status().code(), absl::StatusCode::kFailedPrecondition);
  for (uint32_t i : {2u, 3u, 4u, 1u}) ASSERT_TRUE(round.Upload(i, masked[i]).ok()) << i;
  EXPECT_EQ(round.Upload(1, masked[1]).code(), absl::StatusCode::kFailedPrecondition);
  // An empty input (node 5 started and gave up) leaves the sum clean.
  { ASSERT_TRUE(server.BeginInput(round.uri(5)).ok()); }
  EXPECT_FALSE(server.needs_rebuild());
  auto tasks = server.CloseInput();
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 4u);
  const v1::SecAggUnmaskTask& task = tasks->begin()->second;
  EXPECT_EQ(std::vector<uint32_t>(task.survivors().begin(), task.survivors().end()),
            (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(std::vector<uint32_t>(task.dropped().begin(), task.dropped().end()),
            std::vector<uint32_t>{5});
  std::map<uint32_t, v1::SecAggUnmaskTask> by_index;
  for (const auto& [node, t] : *tasks) by_index[round.index_of(node)] = t;
  for (const auto& [index, answer] : round.Unmask(by_index)) {
    ASSERT_TRUE(server.UnmaskReceived(round.uri(index), answer).ok());
  }
  auto sum = server.Finish();
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->samples, SamplesOf(round, {1, 2, 3, 4}));
  EXPECT_EQ(sum->weighted_sum.size(), 1000u);
  EXPECT_EQ(server.Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggServerTest, FinishNeedsThresholdAnswers) {
  ManualRound round(TestConsortium(), SmallSpec());
  auto tasks = round.MaskedInputs(round.ShareKeys(round.Advertise()));
  auto answers = round.Unmask(tasks);
  coordinator::SecAggServer& server = round.server();
  for (uint32_t index : {1u, 2u}) ASSERT_TRUE(server.UnmaskReceived(round.uri(index), answers[index]).ok());
  EXPECT_EQ(server.unmask_answers(), 2u);
  EXPECT_EQ(server.Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(server.UnmaskReceived(round.uri(3), answers[3]).ok());
  auto sum = server.Finish();
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->samples, SamplesOf(round, {1, 2, 3, 4, 5}));
  EXPECT_EQ(sum->contributors.size(), 5u);
}

TEST(SecAggServerTest, UnmaskAnswerChecks) {
  ManualRound round(TestConsortium(), SmallSpec());
  const auto shares = round.ShareKeys(round.Advertise());
  auto tasks = round.MaskedInputs(shares, {1, 2, 3, 4});  // node 5 dropped after sharing
  auto answers = round.Unmask(tasks);
  coordinator::SecAggServer& server = round.server();
  const v1::SecAggUnmaskRequest& a1 = answers.at(1);
  ASSERT_EQ(a1.shares_size(), 5);
  v1::SecAggUnmaskRequest bad = a1;
  bad.mutable_shares()->RemoveLast();
  EXPECT_EQ(server.UnmaskReceived(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  bad = a1;
  for (v1::RevealedShare& r : *bad.mutable_shares()) {
    if (r.of_index() == 5) r.set_kind(v1::RevealedShare::SELF_MASK_SEED);
  }
  EXPECT_EQ(server.UnmaskReceived(round.uri(1), bad).code(), absl::StatusCode::kInvalidArgument);
  // Node 2's answer presented as node 1's: the shares' x is 2.
  EXPECT_EQ(server.UnmaskReceived(round.uri(1), answers.at(2)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.UnmaskReceived(round.uri(5), a1).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(server.UnmaskReceived(round.uri(1), a1).ok());
  EXPECT_EQ(server.UnmaskReceived(round.uri(1), a1).code(), absl::StatusCode::kFailedPrecondition);
}

// Flips the lowest bit of the share of `of` in `answer`.
void Corrupt(v1::SecAggUnmaskRequest& answer, uint32_t of) {
  for (v1::RevealedShare& r : *answer.mutable_shares()) {
    if (r.of_index() == of) r.mutable_share()->back() ^= 1;
  }
}

TEST(SecAggServerTest, InconsistentSharesAreDataLoss) {
  for (uint32_t corrupted_of : {5u, 2u}) {  // node 5 dropped (mask key), node 2 survived (seed)
    SCOPED_TRACE(corrupted_of);
    ManualRound round(TestConsortium(), SmallSpec());
    auto tasks = round.MaskedInputs(round.ShareKeys(round.Advertise()), {1, 2, 3, 4});
    auto answers = round.Unmask(tasks);
    Corrupt(answers.at(3), corrupted_of);
    // Four answers for t = 3: the fourth share must lie on the polynomial.
    for (const auto& [index, answer] : answers) {
      ASSERT_TRUE(round.server().UnmaskReceived(round.uri(index), answer).ok());
    }
    auto sum = round.server().Finish();
    EXPECT_EQ(sum.status().code(), absl::StatusCode::kDataLoss) << sum.status();
    EXPECT_THAT(std::string(sum.status().message()), HasSubstr(round.uri(corrupted_of)));
  }
}

TEST(SecAggServerTest, ReconstructedMaskKeyMustMatchTheAdvertisedKey) {
  ManualRound round(TestConsortium(), SmallSpec());
  auto tasks = round.MaskedInputs(round.ShareKeys(round.Advertise()), {1, 2, 3, 4});
  auto answers = round.Unmask(tasks);
  // Consistent shares of another key for node 5 (as if every answering
  // node lied the same way).
  auto forged = crypto::ShamirSplit(std::string(32, 'f'), 3, std::vector<uint32_t>{1, 2, 3, 4});
  ASSERT_TRUE(forged.ok());
  for (auto& [index, answer] : answers) {
    for (v1::RevealedShare& r : *answer.mutable_shares()) {
      if (r.of_index() == 5) r.set_share((*forged)[index - 1].Serialize());
    }
    ASSERT_TRUE(round.server().UnmaskReceived(round.uri(index), answer).ok());
  }
  auto sum = round.server().Finish();
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kDataLoss) << sum.status();
  EXPECT_THAT(std::string(sum.status().message()), HasSubstr("advertised public key"));
}

// The same round (its transcript replayed into fresh servers) finished on
// 1, 2, 3 and more threads than blocks: the same sum, bit for bit. The
// model spans four 16K-word blocks and a part, so the threads' runs of
// blocks are uneven and the last one ends inside a block.
TEST(SecAggServerTest, FinishGivesTheSameSumOnAnyNumberOfThreads) {
  RoundSpec spec = SmallSpec();
  spec.elements = 4 * 16384 + 1234;
  spec.drops = {{2, Drop::kAfterShareKeys}};  // pairwise masks to remove as well
  const RoundOutcome out = RunRound(TestConsortium(), spec);
  ASSERT_TRUE(out.status.ok()) << out.failed_step << ": " << out.status;
  auto uri = [](uint32_t index) -> const std::string& {
    return TestConsortium().node(static_cast<int>(index - 1)).uri;
  };
  for (int threads : {1, 2, 3, 16}) {
    SCOPED_TRACE(absl::StrCat(threads, " threads"));
    auto server = coordinator::SecAggServer::Create(
        spec.run_id, spec.round, crypto::Sha256(absl::StrCat("global ", spec.seed)), out.setup,
        spec.elements, {/*finish_threads=*/threads});
    ASSERT_TRUE(server.ok()) << server.status();
    coordinator::SecAggServer& srv = **server;
    for (const v1::SecAggAdvertiseRequest& request : out.transcript.advertise) {
      ASSERT_TRUE(srv.Advertised(request.keys().node(), request).ok());
    }
    ASSERT_TRUE(srv.CloseAdvertise().ok());
    ASSERT_EQ(srv.session_id(), out.session_id);
    for (const v1::SecAggShareKeysRequest& request : out.transcript.share_keys) {
      ASSERT_TRUE(srv.SharesReceived(uri(request.shares(0).from_index()), request).ok());
    }
    ASSERT_TRUE(srv.CloseSharing().ok());
    for (const auto& [index, masked] : out.transcript.masked_inputs) {
      auto input = srv.BeginInput(uri(index));
      ASSERT_TRUE(input.ok()) << input.status();
      ASSERT_TRUE((*input)->Add(masked).ok());
      ASSERT_TRUE((*input)->Commit().ok());
    }
    ASSERT_TRUE(srv.CloseInput().ok());
    for (const auto& [index, request] : out.transcript.unmask) {
      ASSERT_TRUE(srv.UnmaskReceived(uri(index), request).ok());
    }
    auto sum = srv.Finish();
    ASSERT_TRUE(sum.ok()) << sum.status();
    EXPECT_EQ(sum->samples, out.sum->samples);
    EXPECT_EQ(sum->contributors, out.sum->contributors);
    ASSERT_EQ(sum->weighted_sum.size(), spec.elements);
    EXPECT_TRUE(sum->weighted_sum == out.sum->weighted_sum);
  }
}

TEST(SecAggServerTest, CreateRefusesNegativeFinishThreads) {
  const RoundSpec spec = SmallSpec();
  auto server = coordinator::SecAggServer::Create("run", 1, crypto::Sha256("m"),
                                                  MakeSetup(TestConsortium(), spec), 10,
                                                  {/*finish_threads=*/-1});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tverr::secagg_testing
