// The node's side: keys substituted by the coordinator are detected, and
// the node's safety rules (K, the unmask split) hold.
#include "node/secagg/secagg_client.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/key_signature.h"
#include "common/crypto/x25519.h"
#include "common/pki/certificate.h"
#include "common/secagg/protocol.h"
#include "common/secagg/quantizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/secagg/manual_round.h"
#include "tests/secagg/secagg_round.h"

namespace tverr::secagg_testing {
namespace {

using ::testing::HasSubstr;

RoundSpec SmallSpec(uint32_t n = 4, uint32_t threshold = 3, uint32_t min_peers = 3) {
  RoundSpec spec;
  spec.n = n;
  spec.threshold = threshold;
  spec.min_peers = min_peers;
  spec.elements = 1000;
  return spec;
}

std::string PublicKeyOfOwnPair() {
  auto pair = crypto::GenerateX25519KeyPair();
  EXPECT_TRUE(pair.ok());
  return pair->public_key.ToBytes();
}

// OnKeys at every node; the statuses by index.
std::map<uint32_t, absl::Status> OnKeysEverywhere(ManualRound& round,
                                                  const v1::SecAggKeysTask& keys) {
  std::map<uint32_t, absl::Status> out;
  for (uint32_t i = 1; i <= round.spec().n; ++i) out[i] = round.client(i).OnKeys(keys).status();
  return out;
}

// --- Keys substituted by the coordinator -------------------------------

TEST(SecAggKeysTest, UntamperedKeysAreAccepted) {
  ManualRound round(TestConsortium(), SmallSpec());
  const v1::SecAggKeysTask keys = round.Advertise();
  for (const auto& [index, status] : OnKeysEverywhere(round, keys)) {
    EXPECT_TRUE(status.ok()) << index << ": " << status;
  }
  // Every node computed the coordinator's session id.
  for (uint32_t i = 1; i <= 4; ++i) EXPECT_EQ(round.client(i).session_id(), round.server().session_id());
}

TEST(SecAggKeysTest, SwappedPublicKeyIsDetectedByEveryPeer) {
  for (bool cipher : {true, false}) {
    SCOPED_TRACE(cipher ? "cipher key" : "mask key");
    ManualRound round(TestConsortium(), SmallSpec());
    v1::SecAggKeysTask keys = round.Advertise();
    // The coordinator puts a key of its own in node 2's entry.
    v1::AdvertisedKeys* entry = keys.mutable_keys(1);
    ASSERT_EQ(entry->index(), 2u);
    if (cipher) {
      entry->set_cipher_public_key(PublicKeyOfOwnPair());
    } else {
      entry->set_mask_public_key(PublicKeyOfOwnPair());
    }
    for (const auto& [index, status] : OnKeysEverywhere(round, keys)) {
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << index << ": " << status;
      EXPECT_THAT(std::string(status.message()), HasSubstr(round.uri(2))) << index;
    }
    // Node 2 sees its own keys changed.
    EXPECT_THAT(std::string(round.client(2).OnKeys(keys).status().message()),
                HasSubstr("differ from the keys it advertised"));
  }
}

TEST(SecAggKeysTest, KeysResignedWithAnotherNodesKeyAreDetected) {
  const Consortium& nodes = TestConsortium();
  ManualRound round(nodes, SmallSpec());
  const v1::SecAggKeysTask original = round.Advertise();
  // The coordinator makes a key pair for node 2 and gets it signed by node
  // 3 (which it might control): with node 3's certificate, and with node
  // 2's certificate left in place.
  for (bool own_certificate : {true, false}) {
    SCOPED_TRACE(own_certificate ? "signer's certificate" : "node 2's certificate");
    v1::SecAggKeysTask keys = original;
    v1::AdvertisedKeys* entry = keys.mutable_keys(1);
    entry->set_cipher_public_key(PublicKeyOfOwnPair());
    entry->set_mask_public_key(PublicKeyOfOwnPair());
    auto signature = crypto::SignWithPrivateKeyPem(
        nodes.node(2).private_key_pem, secagg::kAdvertiseContext,
        secagg::AdvertiseMessage(round.spec().run_id, round.spec().round, *entry));
    ASSERT_TRUE(signature.ok());
    entry->set_signature(*signature);
    if (own_certificate) entry->set_certificate_pem(nodes.node(2).certificate_pem);
    for (uint32_t index : {1u, 3u, 4u}) {
      const absl::Status status = round.client(index).OnKeys(keys).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
      EXPECT_THAT(std::string(status.message()), HasSubstr("keys of " + round.uri(2)));
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr(own_certificate ? "signed with the certificate of " + round.uri(3)
                                            : "does not verify"));
    }
  }
  // A signature of node 2's real keys for another round does not carry over.
  v1::SecAggKeysTask replay = original;
  auto old_signature = crypto::SignWithPrivateKeyPem(
      nodes.node(1).private_key_pem, secagg::kAdvertiseContext,
      secagg::AdvertiseMessage(round.spec().run_id, round.spec().round - 1, replay.keys(1)));
  replay.mutable_keys(1)->set_signature(*old_signature);
  EXPECT_EQ(round.client(1).OnKeys(replay).status().code(), absl::StatusCode::kPermissionDenied);
  // The untampered task is still accepted afterwards.
  EXPECT_TRUE(round.client(1).OnKeys(original).ok());
}

TEST(SecAggKeysTest, CertificateOfAnotherCaIsRefused) {
  // A rogue CA with the same consortium name issues "hospital-2".
  Consortium rogue(2);
  ManualRound round(TestConsortium(), SmallSpec());
  v1::SecAggKeysTask keys = round.Advertise();
  v1::AdvertisedKeys* entry = keys.mutable_keys(1);
  ASSERT_EQ(rogue.node(1).uri, entry->node());
  entry->set_cipher_public_key(PublicKeyOfOwnPair());
  entry->set_certificate_pem(rogue.node(1).certificate_pem);
  entry->set_signature(*crypto::SignWithPrivateKeyPem(
      rogue.node(1).private_key_pem, secagg::kAdvertiseContext,
      secagg::AdvertiseMessage(round.spec().run_id, round.spec().round, *entry)));
  const absl::Status status = round.client(1).OnKeys(keys).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("not trusted"));
}

TEST(SecAggKeysTest, RevokedCertificateIsRefusedWithTheCrl) {
  Consortium consortium(4);
  auto info = pki::ParseCertificatePem(consortium.node(2).certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(consortium.pki().ca().Revoke(info->serial_hex).ok());
  std::string crl;
  int newest = -1;
  for (const auto& entry : std::filesystem::directory_iterator(consortium.pki().crl_dir())) {
    const std::string name = entry.path().filename().string();
    int n = 0;
    const size_t dot = name.rfind(".r");
    if (dot != std::string::npos && absl::SimpleAtoi(name.substr(dot + 2), &n) && n > newest) {
      newest = n;
      crl = testing::ReadFileOrEmpty(entry.path().string());
    }
  }
  ASSERT_FALSE(crl.empty());
  RoundSpec spec = SmallSpec();
  const v1::SecAggRoundSetup setup = MakeSetup(consortium, spec);
  const crypto::Sha256Digest digest = crypto::Sha256("model");
  std::vector<std::unique_ptr<node::SecAggClient>> clients;
  v1::SecAggKeysTask keys;
  keys.set_run_id(spec.run_id);
  keys.set_round(spec.round);
  for (uint32_t index = 1; index <= 4; ++index) {
    node::SecAggClient::Options options = consortium.ClientOptions(index - 1, 3);
    options.crl_pems = {crl};
    v1::SecAggRoundSetup mine = setup;
    mine.set_my_index(index);
    auto client = node::SecAggClient::Start(options, spec.run_id, spec.round, digest, mine);
    ASSERT_TRUE(client.ok()) << client.status();
    *keys.add_keys() = (*client)->Advertise()->keys();
    clients.push_back(std::move(*client));
  }
  const absl::Status status = clients[0]->OnKeys(keys).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(consortium.node(2).uri));
  EXPECT_THAT(std::string(status.message()), HasSubstr("revoked"));
}

TEST(SecAggKeysTest, MalformedKeysTasksAreRefused) {
  ManualRound round(TestConsortium(), SmallSpec(4, 3, 4));
  const v1::SecAggKeysTask keys = round.Advertise();
  node::SecAggClient& client = round.client(1);
  auto refused = [&](const v1::SecAggKeysTask& task, absl::string_view why) {
    const absl::Status status = client.OnKeys(task).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << why << ": " << status;
  };
  v1::SecAggKeysTask task = keys;
  task.set_round(keys.round() + 1);
  refused(task, "another round");
  task = keys;
  task.mutable_keys()->RemoveLast();
  refused(task, "fewer than K = 4 nodes");
  task = keys;
  task.mutable_keys()->SwapElements(1, 2);
  refused(task, "not in index order");
  task = keys;
  task.mutable_keys(3)->set_index(7);
  refused(task, "not a participant");
  task = keys;
  *task.add_keys() = keys.keys(3);
  refused(task, "a node twice");
  {
    // Without this node's own keys (K = 3 so that the count passes).
    ManualRound three(TestConsortium(), SmallSpec(4, 3, 3));
    v1::SecAggKeysTask without = three.Advertise();
    without.mutable_keys()->DeleteSubrange(0, 1);
    const absl::Status status = three.client(1).OnKeys(without).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  }
  // A resend of the same task gets the same answer; a different one after
  // that is refused.
  auto first = client.OnKeys(keys);
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = client.OnKeys(keys);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->SerializeAsString(), again->SerializeAsString());
  task = keys;
  task.mutable_keys(3)->set_signature("x");
  EXPECT_EQ(client.OnKeys(task).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggKeysTest, DifferentKeysTasksPerNodeBreakTheShares) {
  // The coordinator shows node 1 a keys task without node 5: node 1 then
  // has another session id, and its shares do not decrypt at the others.
  ManualRound round(TestConsortium(), SmallSpec(5, 3));
  const v1::SecAggKeysTask keys = round.Advertise();
  v1::SecAggKeysTask partial = keys;
  partial.mutable_keys()->RemoveLast();
  auto from_1 = round.client(1).OnKeys(partial);
  ASSERT_TRUE(from_1.ok()) << from_1.status();
  EXPECT_NE(round.client(1).session_id(), round.server().session_id());
  auto from_2 = round.client(2).OnKeys(keys);
  ASSERT_TRUE(from_2.ok());
  v1::SecAggSharesTask to_2;
  to_2.set_run_id(keys.run_id());
  to_2.set_round(keys.round());
  for (const v1::EncryptedShare& share : from_1->shares()) {
    if (share.to_index() == 2) *to_2.add_shares() = share;
  }
  const absl::Status status = round.client(2).OnShares(to_2);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(round.uri(1)));
}

// --- Shares -----------------------------------------------------------------

TEST(SecAggSharesTest, TamperedOrMisaddressedSharesAreRefused) {
  ManualRound round(TestConsortium(), SmallSpec());
  const auto shares = round.ShareKeys(round.Advertise());
  const v1::SecAggSharesTask& mine = shares.at(1);
  ASSERT_EQ(mine.shares_size(), 3);
  // A flipped ciphertext bit.
  v1::SecAggSharesTask task = mine;
  std::string* ciphertext = task.mutable_shares(0)->mutable_ciphertext();
  (*ciphertext)[10] ^= 1;
  absl::Status status = round.client(1).OnShares(task);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(round.uri(mine.shares(0).from_index())));
  // Node 2's share for node 3, relabelled as for node 1.
  task = mine;
  for (const v1::EncryptedShare& s : shares.at(3).shares()) {
    if (s.from_index() == 2) *task.mutable_shares(0) = s;
  }
  task.mutable_shares(0)->set_to_index(1);
  EXPECT_FALSE(round.client(1).OnShares(task).ok());
  // Twice from one sender.
  task = mine;
  *task.add_shares() = mine.shares(0);
  EXPECT_EQ(round.client(1).OnShares(task).code(), absl::StatusCode::kFailedPrecondition);
  // Refusals kept nothing: the real task is accepted.
  EXPECT_FALSE(round.client(1).ready_to_mask());
  EXPECT_TRUE(round.client(1).OnShares(mine).ok());
  EXPECT_TRUE(round.client(1).ready_to_mask());
}

// --- Node safety rules -------------------------------------------------------

TEST(SecAggSafetyTest, FewerThanKNodesNoMaskedInput) {
  // K = 5 at every node; node 5 advertises but does not share.
  ManualRound round(TestConsortium(), SmallSpec(5, 3, /*min_peers=*/5));
  const auto shares = round.ShareKeys(round.Advertise(), {1, 2, 3, 4});
  ASSERT_EQ(shares.size(), 4u);
  for (uint32_t index = 1; index <= 4; ++index) {
    node::SecAggClient& client = round.client(index);
    ASSERT_TRUE(client.OnShares(shares.at(index)).ok());
    auto masked = client.MaskedInput(round.delta(index), round.samples(index));
    EXPECT_EQ(masked.status().code(), absl::StatusCode::kFailedPrecondition) << masked.status();
    EXPECT_THAT(std::string(masked.status().message()), HasSubstr("min_peers 5"));
  }
  // And with K = 5 a keys task of 4 nodes is refused outright.
  ManualRound four(TestConsortium(), SmallSpec(5, 3, /*min_peers=*/5));
  const v1::SecAggKeysTask keys = four.Advertise({1, 2, 3, 4});
  EXPECT_EQ(four.client(1).OnKeys(keys).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggSafetyTest, MaskedInputRules) {
  ManualRound round(TestConsortium(), SmallSpec());
  const auto shares = round.ShareKeys(round.Advertise());
  node::SecAggClient& client = round.client(1);
  // Before the shares arrived.
  EXPECT_EQ(client.MaskedInput(round.delta(1), 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(client.OnShares(shares.at(1)).ok());
  const uint32_t max_samples = secagg::MaxSamples(round.spec().params);
  EXPECT_EQ(client.MaskedInput(round.delta(1), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client.MaskedInput(round.delta(1), uint64_t{max_samples} + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  tensor::TensorList bad = round.delta(1);
  bad[2].values[17] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(client.MaskedInput(bad, 5).status().code(), absl::StatusCode::kInvalidArgument);
  bad[2].values[17] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(client.MaskedInput(bad, 5).status().code(), absl::StatusCode::kInvalidArgument);
  // None of that released anything: a valid input follows.
  auto masked = client.MaskedInput(round.delta(1), max_samples);
  ASSERT_TRUE(masked.ok()) << masked.status();
  EXPECT_EQ(masked->size(), (round.spec().elements + 1) * 4);
  // A second input under the same masks would reveal the difference.
  EXPECT_EQ(client.MaskedInput(round.delta(1), 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggSafetyTest, UnmaskSplitRules) {
  ManualRound round(TestConsortium(), SmallSpec(5, 3));
  const auto tasks = round.MaskedInputs(round.ShareKeys(round.Advertise()));
  ASSERT_EQ(tasks.size(), 5u);
  const v1::SecAggUnmaskTask& task = tasks.at(1);
  node::SecAggClient& client = round.client(1);
  auto split = [&](std::vector<uint32_t> survivors, std::vector<uint32_t> dropped) {
    v1::SecAggUnmaskTask t = task;
    t.clear_survivors();
    t.clear_dropped();
    for (uint32_t s : survivors) t.add_survivors(s);
    for (uint32_t d : dropped) t.add_dropped(d);
    return t;
  };
  auto refused = [&](const v1::SecAggUnmaskTask& t, absl::string_view why) {
    auto answer = client.OnUnmask(t);
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition)
        << why << ": " << answer.status();
  };
  refused(split({1, 2, 3, 4}, {}), "node 5 missing: not the nodes that shared");
  refused(split({1, 2, 3, 4, 5, 6}, {}), "unknown node 6");
  refused(split({1, 2, 3, 4}, {5, 6}), "unknown dropped node 6");
  refused(split({2, 3, 4, 5}, {1}), "this node among the dropped");
  refused(split({1, 2, 3, 4, 5}, {5}), "node 5 both survivor and dropped");
  refused(split({1, 2, 3, 4, 4, 5}, {}), "node 4 twice");
  refused(split({1, 2}, {3, 4, 5}), "fewer survivors than max(K, t) = 3");
  v1::SecAggUnmaskTask other_round = task;
  other_round.set_round(task.round() + 1);
  refused(other_round, "another round");

  // The real split: self-mask shares of the survivors.
  auto answer = client.OnUnmask(task);
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->shares_size(), 5);
  for (const v1::RevealedShare& r : answer->shares()) {
    EXPECT_EQ(r.kind(), v1::RevealedShare::SELF_MASK_SEED);
  }
  // The same task again gets the same answer.
  auto again = client.OnUnmask(task);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->SerializeAsString(), answer->SerializeAsString());
  // A second task naming node 5 dropped would get its mask key share too:
  // refused.
  auto second = client.OnUnmask(split({1, 2, 3, 4}, {5}));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("different split"));
}

TEST(SecAggSafetyTest, NoUnmaskAnswerBeforeTheMaskedInput) {
  ManualRound round(TestConsortium(), SmallSpec());
  const auto shares = round.ShareKeys(round.Advertise());
  ASSERT_TRUE(round.client(1).OnShares(shares.at(1)).ok());
  v1::SecAggUnmaskTask task;
  task.set_run_id(round.spec().run_id);
  task.set_round(round.spec().round);
  for (uint32_t i : {1, 2, 3}) task.add_survivors(i);
  task.add_dropped(4);
  EXPECT_EQ(round.client(1).OnUnmask(task).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggSafetyTest, StartRefusesInconsistentSetups) {
  const Consortium& nodes = TestConsortium();
  RoundSpec spec = SmallSpec(4, 3);
  const v1::SecAggRoundSetup base = MakeSetup(nodes, spec);
  auto start = [&](const v1::SecAggRoundSetup& setup, int node = 0) {
    return node::SecAggClient::Start(nodes.ClientOptions(node, 3), spec.run_id, spec.round,
                                     crypto::Sha256("m"), setup)
        .status()
        .code();
  };
  v1::SecAggRoundSetup setup = base;
  setup.set_my_index(1);
  EXPECT_EQ(start(setup), absl::StatusCode::kOk);
  EXPECT_EQ(start(setup, /*node=*/1), absl::StatusCode::kInvalidArgument);  // index 1 is not node 2
  setup.set_threshold(2);  // not more than half of 4
  EXPECT_EQ(start(setup), absl::StatusCode::kInvalidArgument);
  setup.set_threshold(5);  // more than n
  EXPECT_EQ(start(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.set_my_index(1);
  setup.mutable_participants(1)->set_index(1);  // duplicate index
  EXPECT_EQ(start(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.set_my_index(1);
  setup.mutable_params()->set_max_nodes(3);  // 4 participants
  EXPECT_EQ(start(setup), absl::StatusCode::kInvalidArgument);
  setup.mutable_params()->set_max_nodes(64);
  setup.mutable_params()->set_bits(30);  // 30 + 6 > 32
  EXPECT_EQ(start(setup), absl::StatusCode::kInvalidArgument);
  setup = base;
  setup.set_my_index(9);
  EXPECT_EQ(start(setup), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tverr::secagg_testing
