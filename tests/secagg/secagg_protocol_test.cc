// Whole secure-aggregation rounds, n clients and one server in process
// (tests/secagg/secagg_round.h): the decoded sum, dropouts at every phase,
// what a curious coordinator can learn from everything it receives.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/mask_prg.h"
#include "common/crypto/shamir.h"
#include "common/crypto/x25519.h"
#include "common/secagg/protocol.h"
#include "common/secagg/wire.h"
#include "gtest/gtest.h"
#include "tests/secagg/secagg_round.h"

namespace tverr::secagg_testing {
namespace {

const Consortium& Nodes() { return TestConsortium(); }

std::vector<float> Flatten(const tensor::TensorList& delta) {
  std::vector<float> out;
  for (const tensor::NamedTensor& t : delta) out.insert(out.end(), t.values.begin(), t.values.end());
  return out;
}

double Clip(double x, double clip) { return std::min(std::max(x, -clip), clip); }

// The expected encoding of one node's update without rounding noise:
// (clip(samples x delta) + clip) x levels / (2 clip). What the coordinator
// would like to learn.
std::vector<double> TrueQuantised(const RoundOutcome& out, uint32_t index,
                                  const v1::SecureAggregationParams& params) {
  const double levels = static_cast<double>((uint64_t{1} << params.bits()) - 1);
  const double weight = static_cast<double>(out.samples.at(index));
  std::vector<double> q;
  for (float v : Flatten(out.deltas.at(index))) {
    q.push_back((Clip(weight * v, params.clip()) + params.clip()) * levels / (2 * params.clip()));
  }
  return q;
}

std::vector<double> AsDoubles(const std::vector<uint32_t>& words, bool recentred) {
  std::vector<double> out;
  out.reserve(words.size());
  for (uint32_t w : words) {
    out.push_back(recentred ? static_cast<double>(static_cast<int32_t>(w)) : static_cast<double>(w));
  }
  return out;
}

// |r| between a masked vector and a node's true quantised update, both as
// uint32 and re-centred to int32.
void ExpectUncorrelated(const std::vector<uint32_t>& masked, const std::vector<double>& truth,
                        const std::string& what) {
  ASSERT_GE(truth.size(), 10000u);
  const std::vector<double> plain(truth.begin(), truth.begin() + std::min(truth.size(), masked.size()));
  for (bool recentred : {false, true}) {
    const double r = Pearson(AsDoubles(masked, recentred), plain);
    EXPECT_LT(std::abs(r), 0.05) << what << (recentred ? " (re-centred)" : " (uint32)");
  }
}

// The decoded sum equals the plain sum of the survivors' clipped,
// sample-weighted deltas within the quantisation bound, element by element.
void ExpectCorrectSum(const RoundOutcome& out, const RoundSpec& spec) {
  ASSERT_TRUE(out.status.ok()) << out.failed_step << ": " << out.status;
  ASSERT_TRUE(out.sum.has_value());
  const coordinator::SecureSum& sum = *out.sum;
  const double clip = spec.params.clip();
  const double levels = static_cast<double>((uint64_t{1} << spec.params.bits()) - 1);
  const double contributors = static_cast<double>(out.expected_contributors.size());
  // The bound is the quantisation step per contributor (plus float slack).
  EXPECT_NEAR(sum.error_bound, contributors * 2 * clip / levels, 1e-3 * sum.error_bound);
  std::vector<std::string> names;
  uint64_t samples = 0;
  std::vector<double> expected(spec.elements, 0.0);
  for (uint32_t index : out.expected_contributors) {
    names.push_back(Nodes().node(static_cast<int>(index - 1)).uri);
    samples += out.samples.at(index);
    const std::vector<float> delta = Flatten(out.deltas.at(index));
    const double weight = static_cast<double>(out.samples.at(index));
    for (uint64_t i = 0; i < spec.elements; ++i) expected[i] += Clip(weight * delta[i], clip);
  }
  EXPECT_EQ(sum.contributors, names);
  EXPECT_EQ(sum.samples, samples);
  ASSERT_EQ(sum.weighted_sum.size(), spec.elements);
  size_t outside = 0;
  double worst = 0;
  for (uint64_t i = 0; i < spec.elements; ++i) {
    const double error = std::abs(sum.weighted_sum[i] - expected[i]);
    worst = std::max(worst, error);
    if (error > sum.error_bound) ++outside;
  }
  EXPECT_EQ(outside, 0u) << "worst error " << worst << ", bound " << sum.error_bound;
  // Not trivially within the bound: the sum is of values far larger.
  EXPECT_GT(Pearson(sum.weighted_sum, expected), 0.999999);
}

RoundSpec Spec(uint32_t n, uint32_t threshold, std::map<uint32_t, Drop> drops = {}) {
  RoundSpec spec;
  spec.n = n;
  spec.threshold = threshold;
  spec.elements = 12000;
  spec.seed = n * 100 + threshold + drops.size();
  spec.drops = std::move(drops);
  return spec;
}

class SecAggSumTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SecAggSumTest, UnmaskedSumIsThePlainWeightedSum) {
  const uint32_t n = GetParam();
  const RoundSpec spec = Spec(n, secagg::Threshold(n, 2.0 / 3));
  const RoundOutcome out = RunRound(Nodes(), spec);
  ExpectCorrectSum(out, spec);
  EXPECT_EQ(out.sum->contributors.size(), n);
}

INSTANTIATE_TEST_SUITE_P(Nodes, SecAggSumTest, ::testing::Values(3u, 5u, 10u));

struct DropCase {
  const char* name;
  Drop drop;
};
constexpr DropCase kPhases[] = {
    {"before advertise", Drop::kBeforeAdvertise},
    {"after advertise", Drop::kAfterAdvertise},
    {"after share keys", Drop::kAfterShareKeys},
    {"during masked input", Drop::kDuringInput},
    {"during unmask", Drop::kAfterMaskedInput},
};

TEST(SecAggDropoutTest, UpToNMinusTDropoutsAtEachPhase) {
  // n = 10, t = 6: four nodes may drop out.
  for (const DropCase& phase : kPhases) {
    SCOPED_TRACE(phase.name);
    RoundSpec spec = Spec(10, 6, {{2, phase.drop}, {5, phase.drop}, {9, phase.drop},
                                  {10, phase.drop}});
    const RoundOutcome out = RunRound(Nodes(), spec);
    ExpectCorrectSum(out, spec);
    const size_t in_sum = phase.drop == Drop::kAfterMaskedInput ? 10 : 6;
    EXPECT_EQ(out.expected_contributors.size(), in_sum);
    if (phase.drop == Drop::kAfterShareKeys || phase.drop == Drop::kDuringInput) {
      // The coordinator removed the dropped nodes' pairwise masks.
      ASSERT_TRUE(out.unmask_task.has_value());
      EXPECT_EQ(out.unmask_task->dropped_size(), 4);
    }
  }
}

TEST(SecAggDropoutTest, DropoutsSpreadOverThePhases) {
  RoundSpec spec = Spec(10, 6,
                        {{1, Drop::kBeforeAdvertise},
                         {4, Drop::kAfterShareKeys},
                         {7, Drop::kDuringInput},
                         {8, Drop::kAfterMaskedInput}});
  const RoundOutcome out = RunRound(Nodes(), spec);
  ExpectCorrectSum(out, spec);
  EXPECT_EQ(out.expected_contributors, (std::set<uint32_t>{2, 3, 5, 6, 8, 9, 10}));
  // Five nodes with the default threshold 4 (n - t = 1).
  RoundSpec five = Spec(5, secagg::Threshold(5, 2.0 / 3), {{3, Drop::kAfterShareKeys}});
  ExpectCorrectSum(RunRound(Nodes(), five), five);
}

// With one dropout more than n - t the phase's Close (or Finish) fails, and
// nothing the coordinator holds reveals a node's update.
TEST(SecAggDropoutTest, OneDropoutTooManyAbortsAndRevealsNothing) {
  const std::map<Drop, std::string> failing_step = {
      {Drop::kBeforeAdvertise, "CloseAdvertise"},
      {Drop::kAfterAdvertise, "CloseSharing"},
      {Drop::kAfterShareKeys, "CloseInput"},
      {Drop::kDuringInput, "CloseInput"},
      {Drop::kAfterMaskedInput, "Finish"},
  };
  for (const DropCase& phase : kPhases) {
    SCOPED_TRACE(phase.name);
    RoundSpec spec = Spec(10, 6);
    for (uint32_t index : {2u, 3u, 5u, 9u, 10u}) spec.drops[index] = phase.drop;
    const RoundOutcome out = RunRound(Nodes(), spec);
    EXPECT_EQ(out.status.code(), absl::StatusCode::kFailedPrecondition) << out.status;
    EXPECT_EQ(out.failed_step, failing_step.at(phase.drop));
    // Every masked input the coordinator holds (complete or partial) is
    // uncorrelated with that node's true update.
    for (const auto& [index, bytes] : out.transcript.masked_inputs) {
      ExpectUncorrelated(Words(bytes), TrueQuantised(out, index, spec.params),
                         absl::StrCat("masked input of node ", index));
    }
    if (phase.drop != Drop::kAfterMaskedInput) continue;
    EXPECT_EQ(out.transcript.unmask.size(), 5u);  // t - 1 answers
    // Finish refused; the t - 1 shares the coordinator got of each
    // survivor's self-mask seed do not reconstruct it, neither as t shares
    // nor as a polynomial of lower degree.
    for (uint32_t of : out.expected_contributors) {
      std::vector<crypto::ShamirShare> shares;
      for (const auto& [from, answer] : out.transcript.unmask) {
        for (const v1::RevealedShare& r : answer.shares()) {
          EXPECT_EQ(r.kind(), v1::RevealedShare::SELF_MASK_SEED);  // nobody dropped after sharing
          if (r.of_index() == of) shares.push_back(*crypto::ShamirShare::Parse(r.share()));
        }
      }
      ASSERT_EQ(shares.size(), 5u);
      EXPECT_EQ(crypto::ShamirReconstruct(shares, 6).status().code(),
                absl::StatusCode::kFailedPrecondition);
      EXPECT_FALSE(crypto::ShamirReconstruct(shares, 5).ok());
      EXPECT_FALSE(crypto::ShamirReconstruct(shares, 1).ok());
    }
  }
}

// Records everything the coordinator receives and tries to learn one
// node's update from it.
TEST(SecAggCuriousCoordinatorTest, NoSingleUpdateIsRecoverable) {
  // Node 4 drops after sharing (its mask key is revealed so the sum can be
  // unmasked); node 6's upload breaks off half way (the coordinator holds
  // half of its masked input and, as it dropped, its mask key).
  RoundSpec spec = Spec(7, 4, {{4, Drop::kAfterShareKeys}, {6, Drop::kDuringInput}});
  const RoundOutcome out = RunRound(Nodes(), spec);
  ExpectCorrectSum(out, spec);
  const crypto::MaskNonce nonce = secagg::MaskNonceOf(out.session_id);

  // 1. Each masked input alone is uncorrelated with the node's update.
  for (const auto& [index, bytes] : out.transcript.masked_inputs) {
    ExpectUncorrelated(Words(bytes), TrueQuantised(out, index, spec.params),
                       absl::StrCat("masked input of node ", index));
  }

  // 2. The shares the coordinator got: for every node one kind only (a
  // survivor's self-mask seed, a dropped node's mask key), so it can remove
  // a survivor's self mask but never its pairwise masks.
  std::map<uint32_t, std::set<int>> kinds;
  std::map<uint32_t, std::vector<crypto::ShamirShare>> seed_shares, key_shares;
  for (const auto& [from, answer] : out.transcript.unmask) {
    for (const v1::RevealedShare& r : answer.shares()) {
      kinds[r.of_index()].insert(r.kind());
      auto share = crypto::ShamirShare::Parse(r.share());
      ASSERT_TRUE(share.ok());
      (r.kind() == v1::RevealedShare::SELF_MASK_SEED ? seed_shares : key_shares)[r.of_index()]
          .push_back(*share);
    }
  }
  for (const auto& [of, k] : kinds) EXPECT_EQ(k.size(), 1u) << "node " << of;
  EXPECT_EQ(key_shares.size(), 2u);  // nodes 4 and 6
  EXPECT_TRUE(key_shares.count(4) && key_shares.count(6));

  // 3. With its self mask removed, a survivor's input is still hidden by
  // the pairwise masks.
  for (const auto& [index, bytes] : out.transcript.masked_inputs) {
    auto seed_bytes = crypto::ShamirReconstruct(seed_shares.at(index), 4);
    ASSERT_TRUE(seed_bytes.ok()) << seed_bytes.status();
    auto prg = crypto::MaskPrg::Create(*crypto::MaskSeed::FromBytes(*seed_bytes), nonce);
    ASSERT_TRUE(prg.ok());
    std::vector<uint32_t> words = Words(bytes);
    ASSERT_TRUE(prg->SubtractFrom(0, absl::MakeSpan(words)).ok());
    ExpectUncorrelated(words, TrueQuantised(out, index, spec.params),
                       absl::StrCat("input of node ", index, " without its self mask"));
  }

  // 4. Node 6 dropped: the coordinator reconstructs its mask key and removes
  // all of its pairwise masks from the half input it holds, which is still
  // hidden by node 6's self mask (whose shares honest nodes never reveal for
  // a dropped node).
  {
    auto key_bytes = crypto::ShamirReconstruct(key_shares.at(6), 4);
    ASSERT_TRUE(key_bytes.ok()) << key_bytes.status();
    const auto key = crypto::X25519PrivateKey::FromBytes(*key_bytes);
    ASSERT_TRUE(key.ok());
    std::vector<uint32_t> words = Words(out.transcript.partial_inputs.at(6));
    for (const v1::AdvertisedKeys& peer : out.keys_task->keys()) {
      if (peer.index() == 6 || !out.shares_tasks.count(peer.index())) continue;
      auto seed = secagg::PairwiseMaskSeed(
          *key, *crypto::X25519PublicKey::FromBytes(peer.mask_public_key()), out.session_id);
      ASSERT_TRUE(seed.ok());
      auto prg = crypto::MaskPrg::Create(*seed, nonce);
      ASSERT_TRUE((6 < peer.index() ? prg->SubtractFrom(0, absl::MakeSpan(words))
                                    : prg->AddTo(0, absl::MakeSpan(words)))
                      .ok());
    }
    std::vector<double> truth = TrueQuantised(out, 6, spec.params);
    truth.resize(words.size());
    ASSERT_GE(words.size(), 5000u);
    for (bool recentred : {false, true}) {
      EXPECT_LT(std::abs(Pearson(AsDoubles(words, recentred), truth)), 0.05);
    }
  }

  // 5. The encrypted shares do not open with any key the coordinator can
  // derive: it knows every public key but no private one. Its best try is a
  // key pair of its own against the sender's or the recipient's key.
  auto own = crypto::GenerateX25519KeyPair();
  ASSERT_TRUE(own.ok());
  std::map<uint32_t, crypto::X25519PublicKey> cipher_keys;
  for (const v1::AdvertisedKeys& k : out.keys_task->keys()) {
    cipher_keys[k.index()] = *crypto::X25519PublicKey::FromBytes(k.cipher_public_key());
  }
  int tried = 0;
  for (const v1::SecAggShareKeysRequest& request : out.transcript.share_keys) {
    for (const v1::EncryptedShare& share : request.shares()) {
      const std::string aad =
          secagg::wire::ShareAad(out.session_id, share.from_index(), share.to_index());
      for (uint32_t party : {share.from_index(), share.to_index()}) {
        auto raw = secagg::ShareEncryptionKey(own->private_key, cipher_keys.at(party),
                                              out.session_id, share.from_index(),
                                              share.to_index());
        ASSERT_TRUE(raw.ok());
        auto key = crypto::AesGcmKey::FromBytes(*raw);
        EXPECT_FALSE(crypto::AesGcmOpen(*key, crypto::AesGcmNonce{}, share.ciphertext(), aad).ok());
        ++tried;
      }
      EXPECT_FALSE(
          crypto::AesGcmOpen(crypto::AesGcmKey{}, crypto::AesGcmNonce{}, share.ciphertext(), aad)
              .ok());
    }
  }
  EXPECT_EQ(tried, 7 * 6 * 2);

  // 6. Nothing it received carries a node's update in the clear: no run of
  // 64 bytes of any node's delta appears in any message or input.
  for (const auto& [index, delta] : out.deltas) {
    const std::vector<float> values = Flatten(delta);
    const std::string probe(reinterpret_cast<const char*>(values.data() + 100), 64);
    for (const std::string& bytes : out.transcript.all_bytes) {
      EXPECT_EQ(bytes.find(probe), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace tverr::secagg_testing
