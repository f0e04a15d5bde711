#include "node/secagg/secagg_client.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/key_signature.h"
#include "common/crypto/mask_prg.h"
#include "common/crypto/secure_memory.h"
#include "common/crypto/shamir.h"
#include "common/crypto/x25519.h"
#include "common/secagg/neighbour_graph.h"
#include "common/secagg/protocol.h"
#include "common/secagg/quantizer.h"
#include "common/secagg/wire.h"
#include "common/status/status_macros.h"
#include "node/secagg/masking.h"

namespace tverr::node {
namespace {

using secagg::wire::SharePlaintext;

enum class Phase {
  kStarted,     // Advertise() not called yet
  kAdvertised,  // keys sent, waiting for the keys task
  kShared,      // shares sent, waiting for the shares task
  kReady,       // shares kept: may mask
  kMasking,     // MaskedInput() running
  kMasked,      // masked input produced: may answer the unmask task
};

// What this node holds about a node of U1 (itself included).
struct Peer {
  std::string node;
  crypto::X25519PublicKey cipher_key;
  // The seed of the pairwise mask with this peer (unset for this node).
  crypto::MaskSeed pairwise_seed;
  // Its shares addressed to this node (x = my index), once OnShares kept
  // them; for this node, its own.
  std::optional<crypto::ShamirShare> mask_key_share;
  std::optional<crypto::ShamirShare> self_mask_seed_share;
};

std::string Join(const std::vector<uint32_t>& v) { return absl::StrJoin(v, ","); }

}  // namespace

struct SecAggClient::State {
  Options options;
  std::string run_id;
  uint64_t round = 0;
  crypto::Sha256Digest global_digest{};
  uint32_t my_index = 0;
  uint32_t threshold = 0;
  v1::SecureAggregationParams params;
  std::map<uint32_t, std::string> participants;  // U0: index -> node
  // The neighbour graph (SecAgg+); with `sparse` false every node is a
  // neighbour. Shares go to, and pairwise masks are with, neighbours only.
  std::optional<secagg::NeighbourGraph> graph;
  bool sparse = false;
  uint32_t local_threshold = 0;  // Shamir threshold over the neighbourhood

  mutable absl::Mutex mu;
  Phase phase ABSL_GUARDED_BY(mu) = Phase::kStarted;
  // Phase 1: this round's secrets and what was sent.
  std::optional<crypto::X25519KeyPair> cipher_keys ABSL_GUARDED_BY(mu);
  std::optional<crypto::X25519KeyPair> mask_keys ABSL_GUARDED_BY(mu);
  crypto::MaskSeed self_mask_seed ABSL_GUARDED_BY(mu);
  v1::SecAggAdvertiseRequest advertised ABSL_GUARDED_BY(mu);
  // Phase 2: U1 (by index), the session, the answer (kept for a resend).
  std::map<uint32_t, Peer> peers ABSL_GUARDED_BY(mu);
  crypto::Sha256Digest session_id ABSL_GUARDED_BY(mu){};
  std::string keys_task ABSL_GUARDED_BY(mu);
  v1::SecAggShareKeysRequest share_keys ABSL_GUARDED_BY(mu);
  // Phase 3: U2 (the nodes whose shares this node holds, and itself).
  std::set<uint32_t> shared ABSL_GUARDED_BY(mu);
  std::string shares_task ABSL_GUARDED_BY(mu);
  // Phase 4: the split this node answered, and its answer.
  std::optional<std::pair<std::set<uint32_t>, std::set<uint32_t>>> answered ABSL_GUARDED_BY(mu);
  v1::SecAggUnmaskRequest unmask ABSL_GUARDED_BY(mu);

  uint32_t MinInSum() const { return std::max(options.min_peers, threshold); }
  // Fewest nodes of this node's neighbourhood (itself included) it needs
  // in U1, U2 and among the survivors: MinInSum() for the full graph.
  uint32_t LocalMin() const {
    return sparse ? std::max(options.min_peers, local_threshold) : MinInSum();
  }
  // Whether this node shares and masks with `index` (itself included).
  bool Linked(uint32_t index) const {
    return !sparse || index == my_index || graph->AreNeighbours(my_index, index);
  }

  std::string NodeOf(uint32_t index) const {
    auto it = participants.find(index);
    return it == participants.end() ? absl::StrCat("index ", index) : it->second;
  }

  absl::Status CheckRound(const std::string& task_run_id, uint64_t task_round,
                          absl::string_view what) const {
    if (task_run_id != run_id || task_round != round) {
      return absl::FailedPreconditionError(absl::StrCat(what, " is for run ", task_run_id,
                                                        " round ", task_round, ", not this round"));
    }
    return absl::OkStatus();
  }

  // One advertised key set: participant, signature, certificate identity.
  absl::Status CheckKeys(const v1::AdvertisedKeys& keys) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    auto it = participants.find(keys.index());
    if (it == participants.end() || it->second != keys.node()) {
      return absl::FailedPreconditionError(absl::StrCat("keys of ", keys.node(), " (index ",
                                                        keys.index(),
                                                        ") are not of a participant of this round"));
    }
    if (keys.index() == my_index) {
      const v1::AdvertisedKeys& mine = advertised.keys();
      if (keys.node() != mine.node() || keys.cipher_public_key() != mine.cipher_public_key() ||
          keys.mask_public_key() != mine.mask_public_key() ||
          keys.signature() != mine.signature() ||
          keys.certificate_pem() != mine.certificate_pem()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "keys of ", keys.node(), " (this node) differ from the keys it advertised"));
      }
      return absl::OkStatus();
    }
    if (keys.cipher_public_key().size() != crypto::kX25519KeySize ||
        keys.mask_public_key().size() != crypto::kX25519KeySize) {
      return absl::PermissionDeniedError(
          absl::StrCat("keys of ", keys.node(), " refused: a public key is not 32 bytes"));
    }
    crypto::SignatureTrust trust;
    trust.ca_pem = options.ca_pem;
    trust.crl_pems = options.crl_pems;
    absl::StatusOr<pki::Identity> signer = crypto::VerifySignature(
        keys.certificate_pem(), secagg::kAdvertiseContext,
        secagg::AdvertiseMessage(run_id, round, keys), keys.signature(), trust);
    if (!signer.ok()) {
      return absl::PermissionDeniedError(
          absl::StrCat("keys of ", keys.node(), " refused: ", signer.status().message()));
    }
    if (signer->Uri() != keys.node()) {
      return absl::PermissionDeniedError(absl::StrCat("keys of ", keys.node(),
                                                      " refused: signed with the certificate of ",
                                                      signer->Uri()));
    }
    return absl::OkStatus();
  }
};

SecAggClient::SecAggClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
SecAggClient::~SecAggClient() = default;

absl::StatusOr<std::unique_ptr<SecAggClient>> SecAggClient::Start(
    Options options, const std::string& run_id, uint64_t round,
    const crypto::Sha256Digest& global_digest, const v1::SecAggRoundSetup& setup) {
  if (options.node.empty() || options.certificate_pem.empty() ||
      options.private_key_pem.empty() || options.ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "secure aggregation: the node's identity, certificate, key and CA are required");
  }
  RETURN_IF_ERROR(secagg::CheckParams(setup.params()));
  auto state = std::make_unique<State>();
  for (const v1::SecAggParticipant& p : setup.participants()) {
    if (p.index() == 0 || p.node().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("secure aggregation setup: participant \"", p.node(), "\" with index ",
                       p.index(), " (indices start at 1, names are required)"));
    }
    if (!state->participants.emplace(p.index(), p.node()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("secure aggregation setup: index ", p.index(), " appears twice"));
    }
  }
  std::set<std::string> names;
  for (const auto& [index, node] : state->participants) {
    if (!names.insert(node).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("secure aggregation setup: ", node, " appears twice"));
    }
  }
  const uint32_t n = static_cast<uint32_t>(state->participants.size());
  auto me = state->participants.find(setup.my_index());
  if (me == state->participants.end() || me->second != options.node) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation setup: index ", setup.my_index(), " is not ",
                     options.node, " among the participants"));
  }
  if (uint64_t{setup.threshold()} * 2 <= n || setup.threshold() > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation setup: threshold ", setup.threshold(),
                     " must be more than half of the ", n, " participants and at most ", n));
  }
  if (n > setup.params().max_nodes()) {
    return absl::InvalidArgumentError(absl::StrCat("secure aggregation setup: ", n,
                                                   " participants exceed max_nodes ",
                                                   setup.params().max_nodes()));
  }
  state->options = std::move(options);
  state->run_id = run_id;
  state->round = round;
  state->global_digest = global_digest;
  state->my_index = setup.my_index();
  state->threshold = setup.threshold();
  state->params = setup.params();
  if (setup.neighbours() != 0) {
    std::vector<uint32_t> indices;
    for (const auto& [index, node] : state->participants) indices.push_back(index);
    absl::StatusOr<secagg::NeighbourGraph> graph = secagg::NeighbourGraph::Build(
        std::move(indices), setup.neighbours(), secagg::GraphSeed(run_id, round));
    if (!graph.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("secure aggregation setup: ", graph.status().message()));
    }
    state->sparse = !graph->full();
    state->local_threshold = secagg::NeighbourThreshold(setup.neighbours(), setup.threshold(), n);
    state->graph = std::move(*graph);
  }
  return std::unique_ptr<SecAggClient>(new SecAggClient(std::move(state)));
}

absl::StatusOr<v1::SecAggAdvertiseRequest> SecAggClient::Advertise() {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  // A resend (the first answer was lost) gets the same keys: fresh ones
  // would not match what peers may already have.
  if (s.phase != Phase::kStarted) return s.advertised;
  ASSIGN_OR_RETURN(crypto::X25519KeyPair cipher_keys, crypto::GenerateX25519KeyPair());
  ASSIGN_OR_RETURN(crypto::X25519KeyPair mask_keys, crypto::GenerateX25519KeyPair());
  ASSIGN_OR_RETURN(crypto::MaskSeed self_mask_seed, crypto::RandomMaskSeed());
  v1::SecAggAdvertiseRequest request;
  request.set_run_id(s.run_id);
  request.set_round(s.round);
  v1::AdvertisedKeys* keys = request.mutable_keys();
  keys->set_node(s.options.node);
  keys->set_index(s.my_index);
  keys->set_cipher_public_key(cipher_keys.public_key.ToBytes());
  keys->set_mask_public_key(mask_keys.public_key.ToBytes());
  keys->set_certificate_pem(s.options.certificate_pem);
  ASSIGN_OR_RETURN(std::string signature,
                   crypto::SignWithPrivateKeyPem(s.options.private_key_pem,
                                                 secagg::kAdvertiseContext,
                                                 secagg::AdvertiseMessage(s.run_id, s.round, *keys)));
  keys->set_signature(std::move(signature));
  s.cipher_keys = std::move(cipher_keys);
  s.mask_keys = std::move(mask_keys);
  s.self_mask_seed = self_mask_seed;
  s.advertised = request;
  s.phase = Phase::kAdvertised;
  return request;
}

absl::StatusOr<v1::SecAggShareKeysRequest> SecAggClient::OnKeys(const v1::SecAggKeysTask& task) {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckRound(task.run_id(), task.round(), "the keys task"));
  if (s.phase == Phase::kStarted) {
    return absl::FailedPreconditionError("keys task before this node advertised its keys");
  }
  if (s.phase != Phase::kAdvertised) {
    if (task.SerializeAsString() == s.keys_task) return s.share_keys;  // a resend
    return absl::FailedPreconditionError(
        "a second, different keys task in this round (the keys were already shared)");
  }
  // Structure first: at least max(K, t) nodes, in index order, this node
  // among them.
  const uint32_t needed = s.MinInSum();
  if (static_cast<uint32_t>(task.keys_size()) < needed) {
    return absl::FailedPreconditionError(
        absl::StrCat("only ", task.keys_size(), " nodes advertised keys; this node needs at least ",
                     needed, " (threshold ", s.threshold, ", min_peers ", s.options.min_peers, ")"));
  }
  bool has_me = false;
  for (int i = 0; i < task.keys_size(); ++i) {
    if (i > 0 && task.keys(i).index() <= task.keys(i - 1).index()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the keys task is not in strictly increasing index order (", task.keys(i - 1).index(),
          " then ", task.keys(i).index(), ")"));
    }
    has_me = has_me || task.keys(i).index() == s.my_index;
  }
  if (!has_me) {
    return absl::FailedPreconditionError("the keys task does not contain this node's keys");
  }
  // Every key set: signature against the CA, identity, own keys unchanged.
  for (const v1::AdvertisedKeys& keys : task.keys()) RETURN_IF_ERROR(s.CheckKeys(keys));

  std::vector<v1::AdvertisedKeys> entries(task.keys().begin(), task.keys().end());
  ASSIGN_OR_RETURN(crypto::Sha256Digest session_id,
                   secagg::SessionId(s.run_id, s.round, s.global_digest, entries));
  std::map<uint32_t, Peer> peers;
  std::vector<uint32_t> xs;
  for (const v1::AdvertisedKeys& keys : entries) {
    Peer peer;
    peer.node = keys.node();
    ASSIGN_OR_RETURN(peer.cipher_key,
                     crypto::X25519PublicKey::FromBytes(keys.cipher_public_key()));
    if (!s.Linked(keys.index())) continue;  // verified, but not a neighbour
    if (keys.index() != s.my_index) {
      ASSIGN_OR_RETURN(crypto::X25519PublicKey mask_key,
                       crypto::X25519PublicKey::FromBytes(keys.mask_public_key()));
      // Derived now, so that a peer's bad (low-order) key refuses the round
      // here rather than at masking time.
      absl::StatusOr<crypto::MaskSeed> seed =
          secagg::PairwiseMaskSeed(s.mask_keys->private_key, mask_key, session_id);
      if (!seed.ok()) {
        return absl::PermissionDeniedError(absl::StrCat("keys of ", keys.node(),
                                                        " refused: ", seed.status().message()));
      }
      peer.pairwise_seed = *seed;
    }
    peers.emplace(keys.index(), std::move(peer));
    xs.push_back(keys.index());
  }

  if (s.sparse && xs.size() < s.LocalMin()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only ", xs.size(), " nodes of this node's neighbourhood (itself included) advertised "
        "keys; it needs at least ", s.LocalMin(), " (neighbour threshold ", s.local_threshold,
        ", min_peers ", s.options.min_peers, ")"));
  }
  // Shares of s_sk and b, x = recipient index, threshold t (the
  // neighbourhood's threshold with the sparse graph), to each neighbour.
  const int t = static_cast<int>(s.sparse ? s.local_threshold : s.threshold);
  ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> mask_key_shares,
                   crypto::ShamirSplit(s.mask_keys->private_key.view(), t, xs));
  ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> seed_shares,
                   crypto::ShamirSplit(s.self_mask_seed.view(), t, xs));
  v1::SecAggShareKeysRequest request;
  request.set_run_id(s.run_id);
  request.set_round(s.round);
  for (size_t i = 0; i < xs.size(); ++i) {
    const uint32_t to = xs[i];
    Peer& peer = peers.at(to);
    if (to == s.my_index) {
      peer.mask_key_share = mask_key_shares[i];
      peer.self_mask_seed_share = seed_shares[i];
      continue;
    }
    SharePlaintext plaintext{s.my_index, to, mask_key_shares[i], seed_shares[i]};
    std::string bytes = secagg::wire::EncodeSharePlaintext(plaintext);
    absl::StatusOr<std::string> raw_key = secagg::ShareEncryptionKey(
        s.cipher_keys->private_key, peer.cipher_key, session_id, s.my_index, to);
    if (!raw_key.ok()) {
      crypto::SecureWipe(bytes.data(), bytes.size());
      return absl::PermissionDeniedError(
          absl::StrCat("keys of ", peer.node, " refused: ", raw_key.status().message()));
    }
    absl::StatusOr<crypto::AesGcmKey> key = crypto::AesGcmKey::FromBytes(*raw_key);
    crypto::SecureWipe(raw_key->data(), raw_key->size());
    // One key per (session, direction) seals one message: a zero nonce.
    absl::StatusOr<std::string> sealed =
        key.ok() ? crypto::AesGcmSeal(*key, crypto::AesGcmNonce{}, bytes,
                                      secagg::wire::ShareAad(session_id, s.my_index, to))
                 : absl::StatusOr<std::string>(key.status());
    crypto::SecureWipe(bytes.data(), bytes.size());
    if (!sealed.ok()) return sealed.status();
    v1::EncryptedShare* share = request.add_shares();
    share->set_from_index(s.my_index);
    share->set_to_index(to);
    share->set_ciphertext(std::move(*sealed));
  }
  s.peers = std::move(peers);
  s.session_id = session_id;
  s.keys_task = task.SerializeAsString();
  s.share_keys = request;
  s.phase = Phase::kShared;
  return request;
}

absl::Status SecAggClient::OnShares(const v1::SecAggSharesTask& task) {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckRound(task.run_id(), task.round(), "the shares task"));
  if (s.phase == Phase::kStarted || s.phase == Phase::kAdvertised) {
    return absl::FailedPreconditionError("shares task before this node shared its keys");
  }
  if (s.phase != Phase::kShared) {
    if (task.SerializeAsString() == s.shares_task) return absl::OkStatus();  // a resend
    return absl::FailedPreconditionError("a second, different shares task in this round");
  }
  // Decrypt and check all before keeping any.
  std::map<uint32_t, SharePlaintext> received;
  for (const v1::EncryptedShare& share : task.shares()) {
    const uint32_t from = share.from_index();
    auto peer = s.peers.find(from);
    if (share.to_index() != s.my_index || from == s.my_index || peer == s.peers.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the shares task holds a share from index ", from, " to index ",
                       share.to_index(), ", which is not from a peer of this round to this node"));
    }
    if (received.count(from)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the shares task holds two shares from ", peer->second.node));
    }
    if (!s.Linked(from)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the shares task holds a share from ", peer->second.node, ", not a neighbour"));
    }
    ASSIGN_OR_RETURN(std::string raw_key,
                     secagg::ShareEncryptionKey(s.cipher_keys->private_key,
                                                peer->second.cipher_key, s.session_id, from,
                                                s.my_index));
    absl::StatusOr<crypto::AesGcmKey> key = crypto::AesGcmKey::FromBytes(raw_key);
    crypto::SecureWipe(raw_key.data(), raw_key.size());
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> bytes =
        crypto::AesGcmOpen(*key, crypto::AesGcmNonce{}, share.ciphertext(),
                           secagg::wire::ShareAad(s.session_id, from, s.my_index));
    if (!bytes.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the share from ", peer->second.node, " does not decrypt: ", bytes.status().message()));
    }
    absl::StatusOr<SharePlaintext> plaintext = secagg::wire::DecodeSharePlaintext(*bytes);
    crypto::SecureWipe(bytes->data(), bytes->size());
    if (!plaintext.ok() || plaintext->from_index != from || plaintext->to_index != s.my_index ||
        plaintext->mask_key.x != s.my_index || plaintext->self_mask_seed.x != s.my_index) {
      return absl::PermissionDeniedError(
          absl::StrCat("the share from ", peer->second.node, " is malformed or misaddressed"));
    }
    received.emplace(from, std::move(*plaintext));
  }
  for (auto& [from, plaintext] : received) {
    Peer& peer = s.peers.at(from);
    peer.mask_key_share = plaintext.mask_key;
    peer.self_mask_seed_share = plaintext.self_mask_seed;
    s.shared.insert(from);
  }
  s.shared.insert(s.my_index);
  s.shares_task = task.SerializeAsString();
  s.phase = Phase::kReady;
  return absl::OkStatus();
}

bool SecAggClient::ready_to_mask() const {
  absl::MutexLock lock(&state_->mu);
  return state_->phase == Phase::kReady;
}

absl::StatusOr<std::string> SecAggClient::MaskedInput(const tensor::TensorList& delta,
                                                      uint64_t samples) {
  State& s = *state_;
  // The seeds are copied under the lock; the masking runs without it.
  std::vector<secagg_internal::MaskTerm> terms;
  crypto::MaskNonce nonce;
  {
    absl::MutexLock lock(&s.mu);
    if (s.phase == Phase::kMasking || s.phase == Phase::kMasked) {
      // Two inputs under the same masks would reveal their difference.
      return absl::FailedPreconditionError(
          "this round's masked input was already produced; a second one is refused");
    }
    if (s.phase != Phase::kReady) {
      return absl::FailedPreconditionError("not ready to mask: the shares task has not arrived");
    }
    if (s.shared.size() < s.LocalMin()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "only ", s.shared.size(), " nodes (this one included) shared keys",
          s.sparse ? " in this node's neighbourhood" : "", "; this node needs at least ",
          s.LocalMin(), " (threshold ", s.sparse ? s.local_threshold : s.threshold,
          ", min_peers ", s.options.min_peers, ")"));
    }
    if (samples == 0 || samples > secagg::MaxSamples(s.params)) {
      return absl::InvalidArgumentError(absl::StrCat("sample count ", samples,
                                                     " must be in 1..",
                                                     secagg::MaxSamples(s.params)));
    }
    // y = x + PRG(b) + sum over v of (+PRG(s_uv) if u < v, else -PRG(s_uv)).
    terms.push_back({s.self_mask_seed, /*add=*/true});
    for (uint32_t index : s.shared) {
      if (index == s.my_index) continue;
      terms.push_back({s.peers.at(index).pairwise_seed, /*add=*/s.my_index < index});
    }
    nonce = secagg::MaskNonceOf(s.session_id);
    s.phase = Phase::kMasking;
  }
  absl::StatusOr<std::string> masked = [&]() -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(crypto::MaskSeed random, crypto::RandomMaskSeed());
    uint64_t quantizer_seed;
    std::memcpy(&quantizer_seed, random.bytes.data(), sizeof(quantizer_seed));
    return secagg_internal::BuildMaskedInput(delta, samples, s.params, quantizer_seed, nonce,
                                             terms);
  }();
  absl::MutexLock lock(&s.mu);
  // On error nothing was released: the node may try again.
  s.phase = masked.ok() ? Phase::kMasked : Phase::kReady;
  return masked;
}

absl::StatusOr<v1::SecAggUnmaskRequest> SecAggClient::OnUnmask(const v1::SecAggUnmaskTask& task) {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckRound(task.run_id(), task.round(), "the unmask task"));
  if (s.phase != Phase::kMasked) {
    return absl::FailedPreconditionError(
        "unmask task before this node produced its masked input");
  }
  std::set<uint32_t> survivors(task.survivors().begin(), task.survivors().end());
  std::set<uint32_t> dropped(task.dropped().begin(), task.dropped().end());
  const std::vector<uint32_t> survivor_list(task.survivors().begin(), task.survivors().end());
  const std::vector<uint32_t> dropped_list(task.dropped().begin(), task.dropped().end());
  if (s.answered.has_value()) {
    if (s.answered->first == survivors && s.answered->second == dropped &&
        survivors.size() == survivor_list.size() && dropped.size() == dropped_list.size()) {
      return s.unmask;  // a resend of the same task
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "a second unmask task in this round names a different split (survivors ",
        Join(survivor_list), ", dropped ", Join(dropped_list),
        "); revealing for it could expose both shares of a node"));
  }
  if (survivors.size() != survivor_list.size() || dropped.size() != dropped_list.size()) {
    return absl::FailedPreconditionError("the unmask task names a node twice");
  }
  for (uint32_t index : dropped) {
    if (survivors.count(index)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the unmask task names ", s.NodeOf(index), " as survivor and as dropped"));
    }
  }
  // This node's view: the survivors and dropped of its neighbourhood (all
  // of them for the full graph).
  std::set<uint32_t> all;
  size_t local_survivors = 0;
  for (uint32_t index : survivors) {
    if (!s.Linked(index)) continue;
    all.insert(index);
    ++local_survivors;
  }
  for (uint32_t index : dropped) {
    if (s.Linked(index)) all.insert(index);
  }
  if (all != s.shared) {
    std::vector<uint32_t> shared(s.shared.begin(), s.shared.end());
    return absl::FailedPreconditionError(absl::StrCat(
        "the unmask task's survivors (", Join(survivor_list), ") and dropped (",
        Join(dropped_list), ") are not the nodes that shared keys with this node (",
        Join(shared), ")"));
  }
  if (!survivors.count(s.my_index)) {
    return absl::FailedPreconditionError("the unmask task does not name this node as a survivor");
  }
  if (survivors.size() < s.MinInSum()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only ", survivors.size(), " survivors; this node contributes only to a sum of at least ",
        s.MinInSum()));
  }
  if (local_survivors < s.LocalMin()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only ", local_survivors, " survivors in this node's neighbourhood; it needs at least ",
        s.LocalMin()));
  }
  v1::SecAggUnmaskRequest request;
  request.set_run_id(s.run_id);
  request.set_round(s.round);
  for (uint32_t index : all) {
    const Peer& peer = s.peers.at(index);
    v1::RevealedShare* share = request.add_shares();
    share->set_of_index(index);
    if (survivors.count(index)) {
      share->set_kind(v1::RevealedShare::SELF_MASK_SEED);
      share->set_share(peer.self_mask_seed_share->Serialize());
    } else {
      share->set_kind(v1::RevealedShare::MASK_KEY);
      share->set_share(peer.mask_key_share->Serialize());
    }
  }
  s.answered.emplace(std::move(survivors), std::move(dropped));
  s.unmask = request;
  return request;
}

crypto::Sha256Digest SecAggClient::session_id() const {
  absl::MutexLock lock(&state_->mu);
  return state_->session_id;
}

}  // namespace tverr::node
