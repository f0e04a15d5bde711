#include "coordinator/secagg/secagg_server.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/mask_prg.h"
#include "common/crypto/secure_memory.h"
#include "common/crypto/shamir.h"
#include "common/crypto/x25519.h"
#include "common/secagg/neighbour_graph.h"
#include "common/secagg/protocol.h"
#include "common/secagg/quantizer.h"
#include "common/secagg/wire.h"
#include "common/status/status_macros.h"
#include "coordinator/secagg/masked_sum.h"
#include "coordinator/secagg/unmask.h"

namespace tverr::coordinator {
namespace {

enum class Phase { kAdvertise, kSharing, kInput, kUnmask, kFinished, kAborted };

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kAdvertise:
      return "advertise";
    case Phase::kSharing:
      return "share keys";
    case Phase::kInput:
      return "masked input";
    case Phase::kUnmask:
      return "unmask";
    case Phase::kFinished:
      return "finished";
    case Phase::kAborted:
      return "aborted";
  }
  return "?";
}

}  // namespace

struct SecAggServer::State {
  std::string run_id;
  uint64_t round = 0;
  crypto::Sha256Digest global_digest{};
  uint32_t threshold = 0;
  v1::SecureAggregationParams params;
  uint64_t elements = 0;
  int finish_threads = 1;
  std::map<uint32_t, std::string> participants;  // U0: index -> node
  std::map<std::string, uint32_t> index_of;
  // The neighbour graph (SecAgg+); with `sparse` false every node is a
  // neighbour of every other and `share_threshold` is `threshold`.
  std::optional<secagg::NeighbourGraph> graph;
  bool sparse = false;
  uint32_t share_threshold = 0;

  Phase phase = Phase::kAdvertise;
  crypto::Sha256Digest session_id{};
  std::map<uint32_t, v1::AdvertisedKeys> advertised;              // U1 once closed
  std::map<uint32_t, std::vector<v1::EncryptedShare>> shares;     // by sender
  std::set<uint32_t> shared;                                      // U2
  secagg_internal::MaskedSum inputs;
  std::set<uint32_t> survivors;                                   // U3
  std::set<uint32_t> dropped;                                     // U2 \ U3
  // Unmask answers: who answered, and the shares by the node they are of.
  std::set<uint32_t> answered;
  std::map<uint32_t, std::vector<crypto::ShamirShare>> seed_shares;      // survivors' b
  std::map<uint32_t, std::vector<crypto::ShamirShare>> mask_key_shares;  // dropped s_sk

  absl::Status InPhase(Phase wanted, absl::string_view what) const {
    if (phase != wanted) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, ": the secure round is in phase \"", PhaseName(phase), "\", not \"",
          PhaseName(wanted), "\""));
    }
    return absl::OkStatus();
  }

  absl::Status CheckRound(const std::string& req_run_id, uint64_t req_round,
                          const std::string& node) const {
    if (req_run_id != run_id || req_round != round) {
      return absl::InvalidArgumentError(absl::StrCat(node, " answered for run ", req_run_id,
                                                     " round ", req_round, ", not this round"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> IndexOf(const std::string& node) const {
    auto it = index_of.find(node);
    if (it == index_of.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat(node, " is not a participant of this secure round"));
    }
    return it->second;
  }

  // Whether a and b share and mask with each other (a node with itself too).
  bool Linked(uint32_t a, uint32_t b) const {
    return !sparse || a == b || graph->AreNeighbours(a, b);
  }

  // Fails the phase when fewer than t nodes are left.
  absl::Status Enough(size_t left, absl::string_view what) {
    if (left < threshold) {
      phase = Phase::kAborted;
      inputs.Close();
      return absl::FailedPreconditionError(
          absl::StrCat("only ", left, " nodes ", what, "; the secure round needs ", threshold,
                       " (threshold): aborted, nothing can be reconstructed"));
    }
    return absl::OkStatus();
  }
};

SecAggServer::SecAggServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

SecAggServer::~SecAggServer() = default;  // Inputs still held by callers become inert.

absl::StatusOr<std::unique_ptr<SecAggServer>> SecAggServer::Create(
    const std::string& run_id, uint64_t round, const crypto::Sha256Digest& global_digest,
    const v1::SecAggRoundSetup& setup, uint64_t elements, const SecAggServerOptions& options) {
  RETURN_IF_ERROR(secagg::CheckParams(setup.params()));
  if (options.finish_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure aggregation: finish_threads must be 0 (all cores) or more, not ",
        options.finish_threads));
  }
  auto state = std::make_unique<State>();
  for (const v1::SecAggParticipant& p : setup.participants()) {
    if (p.index() == 0 || p.node().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("secure aggregation setup: participant \"", p.node(), "\" with index ",
                       p.index(), " (indices start at 1, names are required)"));
    }
    if (!state->participants.emplace(p.index(), p.node()).second ||
        !state->index_of.emplace(p.node(), p.index()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "secure aggregation setup: ", p.node(), " or index ", p.index(), " appears twice"));
    }
  }
  const uint32_t n = static_cast<uint32_t>(state->participants.size());
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
  if (elements == 0 || elements + 1 > crypto::MaskPrg::kMaxElements) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure aggregation: a model of ", elements, " elements cannot be masked"));
  }
  state->run_id = run_id;
  state->round = round;
  state->global_digest = global_digest;
  state->threshold = setup.threshold();
  state->params = setup.params();
  state->elements = elements;
  state->finish_threads = secagg_internal::UnmaskThreads(options.finish_threads);
  state->share_threshold = setup.threshold();
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
    state->share_threshold =
        secagg::NeighbourThreshold(setup.neighbours(), setup.threshold(), n);
    state->graph = std::move(*graph);
  }
  return std::unique_ptr<SecAggServer>(new SecAggServer(std::move(state)));
}

absl::Status SecAggServer::Advertised(const std::string& node,
                                      const v1::SecAggAdvertiseRequest& request) {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kAdvertise, "advertised keys"));
  ASSIGN_OR_RETURN(uint32_t index, s.IndexOf(node));
  if (s.advertised.count(index)) {
    return absl::FailedPreconditionError(absl::StrCat(node, " already advertised its keys"));
  }
  RETURN_IF_ERROR(s.CheckRound(request.run_id(), request.round(), node));
  const v1::AdvertisedKeys& keys = request.keys();
  if (keys.node() != node || keys.index() != index) {
    return absl::InvalidArgumentError(absl::StrCat(
        node, " advertised keys as ", keys.node(), " with index ", keys.index(),
        "; its index is ", index));
  }
  if (keys.cipher_public_key().size() != crypto::kX25519KeySize ||
      keys.mask_public_key().size() != crypto::kX25519KeySize || keys.signature().empty() ||
      keys.certificate_pem().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the keys of ", node, " are malformed (two 32-byte keys, a signature and a certificate)"));
  }
  s.advertised.emplace(index, keys);
  return absl::OkStatus();
}

absl::StatusOr<v1::SecAggKeysTask> SecAggServer::CloseAdvertise() {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kAdvertise, "closing the advertise phase"));
  RETURN_IF_ERROR(s.Enough(s.advertised.size(), "advertised keys"));
  v1::SecAggKeysTask task;
  task.set_run_id(s.run_id);
  task.set_round(s.round);
  std::vector<v1::AdvertisedKeys> entries;
  for (const auto& [index, keys] : s.advertised) {  // index order
    *task.add_keys() = keys;
    entries.push_back(keys);
  }
  ASSIGN_OR_RETURN(s.session_id, secagg::SessionId(s.run_id, s.round, s.global_digest, entries));
  s.phase = Phase::kSharing;
  return task;
}

absl::Status SecAggServer::SharesReceived(const std::string& node,
                                          const v1::SecAggShareKeysRequest& request) {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kSharing, "shares"));
  ASSIGN_OR_RETURN(uint32_t index, s.IndexOf(node));
  if (!s.advertised.count(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " sent shares but did not advertise keys in time"));
  }
  if (s.shares.count(index)) {
    return absl::FailedPreconditionError(absl::StrCat(node, " already sent its shares"));
  }
  RETURN_IF_ERROR(s.CheckRound(request.run_id(), request.round(), node));
  std::set<uint32_t> to;
  for (const v1::EncryptedShare& share : request.shares()) {
    if (share.from_index() != index || share.to_index() == index ||
        !s.advertised.count(share.to_index()) || !s.Linked(index, share.to_index()) ||
        !to.insert(share.to_index()).second ||
        share.ciphertext().size() != secagg::wire::kShareCiphertextSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the shares of ", node, " are malformed: a share from index ", share.from_index(),
          " to index ", share.to_index(), " of ", share.ciphertext().size(),
          " bytes (exactly one share of ", secagg::wire::kShareCiphertextSize,
          " bytes for every other node that advertised and is its neighbour)"));
    }
  }
  size_t expected = 0;
  for (const auto& [other, unused] : s.advertised) {
    if (other != index && s.Linked(index, other)) ++expected;
  }
  if (to.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("the shares of ", node, " cover ", to.size(),
                                                   " nodes, expected ", expected));
  }
  s.shares.emplace(index,
                   std::vector<v1::EncryptedShare>(request.shares().begin(),
                                                   request.shares().end()));
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, v1::SecAggSharesTask>> SecAggServer::CloseSharing() {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kSharing, "closing the share keys phase"));
  RETURN_IF_ERROR(s.Enough(s.shares.size(), "shared keys"));
  std::map<std::string, v1::SecAggSharesTask> tasks;
  for (const auto& [index, unused] : s.shares) {
    s.shared.insert(index);
    v1::SecAggSharesTask& task = tasks[s.participants.at(index)];
    task.set_run_id(s.run_id);
    task.set_round(s.round);
  }
  for (const auto& [from, shares] : s.shares) {
    for (const v1::EncryptedShare& share : shares) {
      if (!s.shared.count(share.to_index())) continue;  // the recipient dropped out
      *tasks[s.participants.at(share.to_index())].add_shares() = share;
    }
  }
  s.shares.clear();  // relayed; the coordinator cannot open them anyway
  s.inputs.Open(s.elements + 1);
  s.phase = Phase::kInput;
  return tasks;
}

absl::StatusOr<std::unique_ptr<SecAggServer::Input>> SecAggServer::BeginInput(
    const std::string& node) {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kInput, "masked input"));
  ASSIGN_OR_RETURN(uint32_t index, s.IndexOf(node));
  if (!s.shared.count(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " did not share keys in time: its masked input cannot be unmasked"));
  }
  if (s.inputs.HasInput(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " already has a masked input open or committed"));
  }
  return s.inputs.Begin(index, node);
}

bool SecAggServer::needs_rebuild() const { return state_->inputs.dirty(); }

void SecAggServer::ResetSum() {
  if (state_->phase == Phase::kInput) state_->inputs.Reset();
}

std::vector<std::string> SecAggServer::committed_inputs() const {
  std::vector<std::string> nodes;
  for (uint32_t index : state_->inputs.counted()) nodes.push_back(state_->participants.at(index));
  return nodes;
}

absl::StatusOr<std::map<std::string, v1::SecAggUnmaskTask>> SecAggServer::CloseInput() {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kInput, "closing the masked input phase"));
  if (s.inputs.dirty()) {
    return absl::FailedPreconditionError(
        "an abandoned masked input left words in the sum: rebuild it first (ResetSum, then the "
        "committed inputs again)");
  }
  if (s.inputs.missing_inputs() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        s.inputs.missing_inputs(),
        " masked input(s) committed before ResetSum() were not added again"));
  }
  if (s.inputs.open_inputs() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        s.inputs.open_inputs(), " masked input(s) still open: commit or abandon them first"));
  }
  const std::vector<uint32_t> committed = s.inputs.committed();
  RETURN_IF_ERROR(s.Enough(committed.size(), "sent their masked inputs"));
  std::set<uint32_t> survivors(committed.begin(), committed.end());
  if (s.sparse) {
    // Each node of U2 needs share_threshold surviving holders of its shares
    // (its surviving neighbours and itself) to be unmasked.
    for (uint32_t u : s.shared) {
      size_t holders = 0;
      for (uint32_t v : survivors) holders += s.Linked(u, v) ? 1 : 0;
      if (holders < s.share_threshold) {
        s.phase = Phase::kAborted;
        s.inputs.Close();
        return absl::FailedPreconditionError(absl::StrCat(
            "only ", holders, " nodes of the neighbourhood of ", s.participants.at(u),
            " sent their masked inputs; its shares need ", s.share_threshold,
            " (neighbour threshold): aborted"));
      }
    }
  }
  s.inputs.Close();
  s.survivors = std::move(survivors);
  for (uint32_t index : s.shared) {
    if (!s.survivors.count(index)) s.dropped.insert(index);
  }
  std::map<std::string, v1::SecAggUnmaskTask> tasks;
  for (uint32_t index : s.survivors) {
    v1::SecAggUnmaskTask& task = tasks[s.participants.at(index)];
    task.set_run_id(s.run_id);
    task.set_round(s.round);
    for (uint32_t v : s.survivors) task.add_survivors(v);
    for (uint32_t v : s.dropped) task.add_dropped(v);
  }
  s.phase = Phase::kUnmask;
  return tasks;
}

absl::Status SecAggServer::UnmaskReceived(const std::string& node,
                                          const v1::SecAggUnmaskRequest& request) {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kUnmask, "unmask answer"));
  ASSIGN_OR_RETURN(uint32_t index, s.IndexOf(node));
  if (!s.survivors.count(index)) {
    return absl::FailedPreconditionError(
        absl::StrCat(node, " is not among the survivors of this secure round"));
  }
  if (s.answered.count(index)) {
    return absl::FailedPreconditionError(absl::StrCat(node, " already answered the unmasking"));
  }
  RETURN_IF_ERROR(s.CheckRound(request.run_id(), request.round(), node));
  // Exactly one share per node of U2: the self-mask seed share of a
  // survivor, the mask key share of a dropped node; x = the sender's index.
  std::map<uint32_t, crypto::ShamirShare> seeds;
  std::map<uint32_t, crypto::ShamirShare> mask_keys;
  for (const v1::RevealedShare& revealed : request.shares()) {
    const uint32_t of = revealed.of_index();
    const bool survivor = s.survivors.count(of) > 0;
    const bool dropped = s.dropped.count(of) > 0;
    const auto want =
        survivor ? v1::RevealedShare::SELF_MASK_SEED : v1::RevealedShare::MASK_KEY;
    if ((!survivor && !dropped) || !s.Linked(index, of) || revealed.kind() != want ||
        seeds.count(of) ||
        mask_keys.count(of)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the unmask answer of ", node, " holds an unexpected or repeated share of index ", of));
    }
    absl::StatusOr<crypto::ShamirShare> share = crypto::ShamirShare::Parse(revealed.share());
    if (!share.ok() || share->x != index) {
      return absl::InvalidArgumentError(absl::StrCat("the unmask answer of ", node,
                                                     " holds a malformed share of index ", of));
    }
    (survivor ? seeds : mask_keys).emplace(of, std::move(*share));
  }
  size_t want_seeds = 0;
  size_t want_keys = 0;
  for (uint32_t v : s.survivors) want_seeds += s.Linked(index, v) ? 1 : 0;
  for (uint32_t v : s.dropped) want_keys += s.Linked(index, v) ? 1 : 0;
  if (seeds.size() != want_seeds || mask_keys.size() != want_keys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the unmask answer of ", node, " holds ", seeds.size(), " self-mask seed and ",
        mask_keys.size(), " mask key shares, expected ", want_seeds, " and ", want_keys));
  }
  for (auto& [of, share] : seeds) s.seed_shares[of].push_back(std::move(share));
  for (auto& [of, share] : mask_keys) s.mask_key_shares[of].push_back(std::move(share));
  s.answered.insert(index);
  return absl::OkStatus();
}

size_t SecAggServer::unmask_answers() const { return state_->answered.size(); }

absl::StatusOr<SecureSum> SecAggServer::Finish() {
  State& s = *state_;
  RETURN_IF_ERROR(s.InPhase(Phase::kUnmask, "finishing"));
  if (s.answered.size() < s.threshold) {
    return absl::FailedPreconditionError(
        absl::StrCat("only ", s.answered.size(), " unmask answers; ", s.threshold,
                     " (threshold) are needed to reconstruct"));
  }
  // Each secret needs t shares: the round threshold for the full graph, the
  // neighbourhood's for the sparse one (where the shares come only from the
  // node's neighbours).
  const int t = static_cast<int>(s.share_threshold);
  for (const auto* shares : {&s.seed_shares, &s.mask_key_shares}) {
    for (uint32_t v : shares == &s.seed_shares ? s.survivors : s.dropped) {
      auto it = shares->find(v);
      const size_t have = it == shares->end() ? 0 : it->second.size();
      if (have < s.share_threshold) {
        return absl::FailedPreconditionError(absl::StrCat(
            "only ", have, " shares of ", s.participants.at(v), " were revealed; ",
            s.share_threshold, " are needed to reconstruct"));
      }
    }
  }
  const crypto::MaskNonce nonce = secagg::MaskNonceOf(s.session_id);
  // Reconstruct everything, and derive each pairwise seed once, before
  // touching the sum: a bad share fails the round with the sum intact.
  std::vector<secagg_internal::MaskStream> streams;
  for (uint32_t u : s.survivors) {
    absl::StatusOr<std::string> secret = crypto::ShamirReconstruct(s.seed_shares[u], t);
    if (!secret.ok()) {
      return absl::DataLossError(absl::StrCat("cannot reconstruct the self-mask seed of ",
                                              s.participants.at(u), ": ",
                                              secret.status().message()));
    }
    absl::StatusOr<crypto::MaskSeed> seed = crypto::MaskSeed::FromBytes(*secret);
    crypto::SecureWipe(secret->data(), secret->size());
    if (!seed.ok()) {
      return absl::DataLossError(absl::StrCat("the self-mask seed of ", s.participants.at(u),
                                              " is malformed: ", seed.status().message()));
    }
    streams.push_back({*seed, /*add=*/false});
  }
  for (uint32_t v : s.dropped) {
    const std::string& node = s.participants.at(v);
    absl::StatusOr<std::string> secret = crypto::ShamirReconstruct(s.mask_key_shares[v], t);
    if (!secret.ok()) {
      return absl::DataLossError(absl::StrCat("cannot reconstruct the mask key of ", node, ": ",
                                              secret.status().message()));
    }
    absl::StatusOr<crypto::X25519PrivateKey> key = crypto::X25519PrivateKey::FromBytes(*secret);
    crypto::SecureWipe(secret->data(), secret->size());
    if (!key.ok()) {
      return absl::DataLossError(
          absl::StrCat("the mask key of ", node, " is malformed: ", key.status().message()));
    }
    ASSIGN_OR_RETURN(crypto::X25519PublicKey public_key, crypto::X25519PublicKeyOf(*key));
    if (public_key.ToBytes() != s.advertised.at(v).mask_public_key()) {
      return absl::DataLossError(absl::StrCat(
          "the reconstructed mask key of ", node, " does not match its advertised public key"));
    }
    for (uint32_t u : s.survivors) {
      if (!s.Linked(u, v)) continue;  // u never masked with v
      ASSIGN_OR_RETURN(crypto::X25519PublicKey survivor_key,
                       crypto::X25519PublicKey::FromBytes(s.advertised.at(u).mask_public_key()));
      absl::StatusOr<crypto::MaskSeed> seed = secagg::PairwiseMaskSeed(*key, survivor_key,
                                                                       s.session_id);
      if (!seed.ok()) {
        return absl::DataLossError(absl::StrCat("no pairwise mask between ", node, " and ",
                                                s.participants.at(u), ": ",
                                                seed.status().message()));
      }
      // u added +PRG when u < v and -PRG otherwise: undo that.
      streams.push_back({*seed, /*add=*/u > v});
    }
  }

  std::vector<uint32_t>& sum = s.inputs.words();
  ASSIGN_OR_RETURN(secagg_internal::Unmasker unmasker,
                   secagg_internal::Unmasker::Create(streams, nonce, sum.size(),
                                                     s.finish_threads));
  streams.clear();  // the seeds are wiped; the generators hold the keys
  const uint32_t contributors = static_cast<uint32_t>(s.survivors.size());
  SecureSum result;
  absl::Status unmasked =
      unmasker.Run(s.params, contributors, s.elements, sum, result.weighted_sum);
  if (!unmasked.ok()) {
    s.phase = Phase::kAborted;  // the sum is partly unmasked: unusable
    return unmasked;
  }
  result.samples = sum.back();
  for (uint32_t u : s.survivors) result.contributors.push_back(s.participants.at(u));
  result.error_bound = secagg::Quantizer(s.params, /*seed=*/0).ErrorBound(contributors);
  s.phase = Phase::kFinished;
  s.seed_shares.clear();
  s.mask_key_shares.clear();
  std::vector<uint32_t>().swap(sum);
  return result;
}

const crypto::Sha256Digest& SecAggServer::session_id() const { return state_->session_id; }

}  // namespace tverr::coordinator
