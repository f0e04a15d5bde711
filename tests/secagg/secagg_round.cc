#include "tests/secagg/secagg_round.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/secagg/wire.h"

namespace tverr::secagg_testing {

Consortium::Consortium(int n, const std::string& name) {
  pki_ = std::make_unique<testing::TestPki>(tmp_.Sub("pki"), name);
  for (int i = 0; i < n; ++i) {
    const std::string node_name = absl::StrCat("hospital-", i + 1);
    testing::TlsDir dir = pki_->Issue(v1::ROLE_NODE, node_name);
    NodeIdentity id;
    id.uri = absl::StrCat("fl://", name, "/node/", node_name);
    id.certificate_pem = testing::ReadFileOrEmpty(dir.cert());
    id.private_key_pem = testing::ReadFileOrEmpty(dir.key());
    if (ca_pem_.empty()) ca_pem_ = testing::ReadFileOrEmpty(dir.ca());
    nodes_.push_back(std::move(id));
  }
}

node::SecAggClient::Options Consortium::ClientOptions(int i, uint32_t min_peers) const {
  node::SecAggClient::Options options;
  options.node = nodes_.at(i).uri;
  options.certificate_pem = nodes_.at(i).certificate_pem;
  options.private_key_pem = nodes_.at(i).private_key_pem;
  options.ca_pem = ca_pem_;
  options.min_peers = min_peers;
  return options;
}

v1::SecureAggregationParams DefaultParams() {
  v1::SecureAggregationParams params;
  params.set_clip(1e4);
  params.set_bits(26);
  params.set_max_nodes(64);
  return params;
}

tensor::TensorList MakeDelta(uint64_t elements, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  const uint64_t first = elements / 3;
  tensor::TensorList delta(3);
  delta[0].name = "conv.weight";
  delta[0].shape = {static_cast<int64_t>(first)};
  delta[1].name = "conv.num_batches_tracked";  // no elements
  delta[1].shape = {0};
  delta[2].name = "fc.weight";
  delta[2].shape = {static_cast<int64_t>(elements - first)};
  delta[0].values.resize(first);
  delta[2].values.resize(elements - first);
  for (float& v : delta[0].values) v = value(rng);
  for (float& v : delta[2].values) v = value(rng);
  return delta;
}

v1::SecAggRoundSetup MakeSetup(const Consortium& consortium, const RoundSpec& spec) {
  v1::SecAggRoundSetup setup;
  for (uint32_t i = 0; i < spec.n; ++i) {
    v1::SecAggParticipant* p = setup.add_participants();
    p->set_node(consortium.node(static_cast<int>(i)).uri);
    p->set_index(i + 1);
  }
  setup.set_threshold(spec.threshold);
  setup.set_neighbours(spec.neighbours);
  *setup.mutable_params() = spec.params;
  return setup;
}

namespace {

Drop DropOf(const RoundSpec& spec, uint32_t index) {
  auto it = spec.drops.find(index);
  return it == spec.drops.end() ? Drop::kNone : it->second;
}

// Streams `bytes` into a server input in pieces of random sizes (some of
// them not a multiple of 4, so words split across pieces).
absl::Status Stream(coordinator::SecAggServer::Input& input, const std::string& bytes,
                    size_t limit, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> size(1, 20000);
  size_t at = 0;
  while (at < limit) {
    size_t n = std::min(limit - at, size(rng));
    if (absl::Status s = input.Add(absl::string_view(bytes).substr(at, n)); !s.ok()) return s;
    at += n;
  }
  return absl::OkStatus();
}

}  // namespace

RoundOutcome RunRound(const Consortium& consortium, const RoundSpec& spec) {
  RoundOutcome out;
  out.setup = MakeSetup(consortium, spec);
  const crypto::Sha256Digest global_digest = crypto::Sha256(absl::StrCat("global ", spec.seed));
  auto fail = [&](absl::Status status, std::string step) {
    out.status = std::move(status);
    out.failed_step = std::move(step);
    return std::move(out);
  };

  auto server = coordinator::SecAggServer::Create(spec.run_id, spec.round, global_digest,
                                                  out.setup, spec.elements);
  if (!server.ok()) return fail(server.status(), "server Create");
  out.server = std::move(*server);
  coordinator::SecAggServer& srv = *out.server;

  std::mt19937_64 rng(spec.seed * 7919 + 1);
  std::uniform_int_distribution<uint64_t> samples(1, 1000);
  std::map<uint32_t, std::unique_ptr<node::SecAggClient>> clients;
  for (uint32_t index = 1; index <= spec.n; ++index) {
    v1::SecAggRoundSetup mine = out.setup;
    mine.set_my_index(index);
    auto client = node::SecAggClient::Start(
        consortium.ClientOptions(static_cast<int>(index - 1), spec.min_peers), spec.run_id,
        spec.round, global_digest, mine);
    if (!client.ok()) return fail(client.status(), absl::StrCat("client ", index, " Start"));
    clients.emplace(index, std::move(*client));
    out.deltas.emplace(index, MakeDelta(spec.elements, spec.seed * 1000 + index));
    out.samples.emplace(index, samples(rng));
    const Drop drop = DropOf(spec, index);
    if (drop == Drop::kNone || drop == Drop::kAfterMaskedInput) {
      out.expected_contributors.insert(index);
    }
  }
  auto uri = [&](uint32_t index) -> const std::string& {
    return consortium.node(static_cast<int>(index - 1)).uri;
  };
  auto index_of = [&](const std::string& node) -> uint32_t {
    for (uint32_t i = 1; i <= spec.n; ++i) {
      if (uri(i) == node) return i;
    }
    return 0;
  };

  // Phase 1: advertise.
  for (auto& [index, client] : clients) {
    if (DropOf(spec, index) == Drop::kBeforeAdvertise) continue;
    auto request = client->Advertise();
    if (!request.ok()) return fail(request.status(), absl::StrCat("client ", index, " Advertise"));
    out.transcript.advertise.push_back(*request);
    out.transcript.all_bytes.push_back(request->SerializeAsString());
    if (absl::Status s = srv.Advertised(uri(index), *request); !s.ok()) {
      return fail(s, absl::StrCat("server Advertised ", index));
    }
  }
  auto keys = srv.CloseAdvertise();
  if (!keys.ok()) return fail(keys.status(), "CloseAdvertise");
  out.keys_task = *keys;
  out.session_id = srv.session_id();

  // Phase 2: share keys.
  for (const v1::AdvertisedKeys& k : keys->keys()) {
    const uint32_t index = k.index();
    if (DropOf(spec, index) == Drop::kAfterAdvertise) continue;
    auto request = clients.at(index)->OnKeys(*keys);
    if (!request.ok()) return fail(request.status(), absl::StrCat("client ", index, " OnKeys"));
    out.transcript.share_keys.push_back(*request);
    out.transcript.all_bytes.push_back(request->SerializeAsString());
    if (absl::Status s = srv.SharesReceived(uri(index), *request); !s.ok()) {
      return fail(s, absl::StrCat("server SharesReceived ", index));
    }
  }
  auto shares = srv.CloseSharing();
  if (!shares.ok()) return fail(shares.status(), "CloseSharing");

  // Phase 3: masked inputs.
  bool broke_off = false;
  for (uint32_t index = 1; index <= spec.n; ++index) {
    auto task = shares->find(uri(index));
    if (task == shares->end()) continue;
    out.shares_tasks.emplace(index, task->second);
    const Drop drop = DropOf(spec, index);
    if (drop == Drop::kAfterShareKeys) continue;
    node::SecAggClient& client = *clients.at(index);
    if (absl::Status s = client.OnShares(task->second); !s.ok()) {
      return fail(s, absl::StrCat("client ", index, " OnShares"));
    }
    auto masked = client.MaskedInput(out.deltas.at(index), out.samples.at(index));
    if (!masked.ok()) return fail(masked.status(), absl::StrCat("client ", index, " MaskedInput"));
    out.transcript.all_bytes.push_back(*masked);
    auto input = srv.BeginInput(uri(index));
    if (!input.ok()) return fail(input.status(), absl::StrCat("server BeginInput ", index));
    if (drop == Drop::kDuringInput) {
      if (absl::Status s = Stream(**input, *masked, masked->size() / 2 + 1, rng); !s.ok()) {
        return fail(s, absl::StrCat("server input ", index));
      }
      out.transcript.partial_inputs.emplace(index, masked->substr(0, masked->size() / 2 + 1));
      input->reset();  // the upload broke off
      broke_off = true;
      continue;
    }
    if (absl::Status s = Stream(**input, *masked, masked->size(), rng); !s.ok()) {
      return fail(s, absl::StrCat("server input ", index));
    }
    if (absl::Status s = (*input)->Commit(); !s.ok()) {
      return fail(s, absl::StrCat("server input Commit ", index));
    }
    out.transcript.masked_inputs.emplace(index, std::move(*masked));
  }
  if (broke_off != srv.needs_rebuild()) {
    return fail(absl::InternalError("needs_rebuild() does not match the broken uploads"),
                "needs_rebuild");
  }
  if (srv.needs_rebuild()) {
    // As the round manager does: the committed inputs again, from its spool.
    srv.ResetSum();
    for (const std::string& node : srv.committed_inputs()) {
      const uint32_t index = index_of(node);
      auto input = srv.BeginInput(node);
      if (!input.ok()) return fail(input.status(), "rebuild BeginInput");
      const std::string& bytes = out.transcript.masked_inputs.at(index);
      if (absl::Status s = Stream(**input, bytes, bytes.size(), rng); !s.ok()) {
        return fail(s, "rebuild input");
      }
      if (absl::Status s = (*input)->Commit(); !s.ok()) return fail(s, "rebuild Commit");
    }
  }
  auto unmask = srv.CloseInput();
  if (!unmask.ok()) return fail(unmask.status(), "CloseInput");

  // Phase 4: unmask.
  for (auto& [node, task] : *unmask) {
    out.unmask_task = task;
    const uint32_t index = index_of(node);
    if (DropOf(spec, index) == Drop::kAfterMaskedInput) continue;
    auto request = clients.at(index)->OnUnmask(task);
    if (!request.ok()) return fail(request.status(), absl::StrCat("client ", index, " OnUnmask"));
    out.transcript.unmask.emplace(index, *request);
    out.transcript.all_bytes.push_back(request->SerializeAsString());
    if (absl::Status s = srv.UnmaskReceived(node, *request); !s.ok()) {
      return fail(s, absl::StrCat("server UnmaskReceived ", index));
    }
  }
  auto sum = srv.Finish();
  if (!sum.ok()) return fail(sum.status(), "Finish");
  out.sum = std::move(*sum);
  out.status = absl::OkStatus();
  return out;
}

double Pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = std::min(a.size(), b.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

const Consortium& TestConsortium() {
  // Destroyed at exit, which removes its scratch directory.
  static const Consortium consortium(10);
  return consortium;
}

std::vector<uint32_t> Words(const std::string& masked_input) {
  std::vector<uint32_t> words(masked_input.size() / 4);
  for (size_t i = 0; i < words.size(); ++i) {
    words[i] = secagg::wire::LoadLe32(masked_input.data() + 4 * i);
  }
  return words;
}

}  // namespace tverr::secagg_testing
