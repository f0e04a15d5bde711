#include "tests/secagg/manual_round.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tverr::secagg_testing {
namespace {

bool Wanted(const std::set<uint32_t>& nodes, uint32_t index) {
  return nodes.empty() || nodes.count(index) > 0;
}

}  // namespace

ManualRound::ManualRound(const Consortium& consortium, const RoundSpec& spec)
    : consortium_(consortium), spec_(spec) {
  setup_ = MakeSetup(consortium, spec);
  global_digest_ = crypto::Sha256(absl::StrCat("global ", spec.seed));
  auto server = coordinator::SecAggServer::Create(spec.run_id, spec.round, global_digest_, setup_,
                                                  spec.elements);
  EXPECT_TRUE(server.ok()) << server.status();
  if (server.ok()) server_ = std::move(*server);
  for (uint32_t index = 1; index <= spec.n; ++index) {
    v1::SecAggRoundSetup mine = setup_;
    mine.set_my_index(index);
    auto client = node::SecAggClient::Start(
        consortium.ClientOptions(static_cast<int>(index - 1), spec.min_peers), spec.run_id,
        spec.round, global_digest_, mine);
    EXPECT_TRUE(client.ok()) << client.status();
    if (client.ok()) clients_.emplace(index, std::move(*client));
    deltas_.emplace(index, MakeDelta(spec.elements, spec.seed * 1000 + index));
    samples_.emplace(index, 10 * index);
  }
}

const std::string& ManualRound::uri(uint32_t index) const {
  return consortium_.node(static_cast<int>(index - 1)).uri;
}

uint32_t ManualRound::index_of(const std::string& node) const {
  for (uint32_t i = 1; i <= spec_.n; ++i) {
    if (uri(i) == node) return i;
  }
  ADD_FAILURE() << "unknown node " << node;
  return 0;
}

v1::SecAggKeysTask ManualRound::Advertise(const std::set<uint32_t>& nodes) {
  for (auto& [index, client] : clients_) {
    if (!Wanted(nodes, index)) continue;
    auto request = client->Advertise();
    EXPECT_TRUE(request.ok()) << request.status();
    if (!request.ok()) continue;
    advertised_[index] = *request;
    absl::Status s = server_->Advertised(uri(index), *request);
    EXPECT_TRUE(s.ok()) << s;
  }
  auto keys = server_->CloseAdvertise();
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *keys : v1::SecAggKeysTask();
}

std::map<uint32_t, v1::SecAggSharesTask> ManualRound::ShareKeys(const v1::SecAggKeysTask& keys,
                                                                const std::set<uint32_t>& nodes) {
  for (const v1::AdvertisedKeys& k : keys.keys()) {
    if (!Wanted(nodes, k.index())) continue;
    auto request = clients_.at(k.index())->OnKeys(keys);
    EXPECT_TRUE(request.ok()) << request.status();
    if (!request.ok()) continue;
    absl::Status s = server_->SharesReceived(uri(k.index()), *request);
    EXPECT_TRUE(s.ok()) << s;
  }
  std::map<uint32_t, v1::SecAggSharesTask> out;
  auto tasks = server_->CloseSharing();
  EXPECT_TRUE(tasks.ok()) << tasks.status();
  if (!tasks.ok()) return out;
  for (auto& [node, task] : *tasks) out.emplace(index_of(node), task);
  return out;
}

absl::Status ManualRound::Upload(uint32_t index, const std::string& masked) {
  auto input = server_->BeginInput(uri(index));
  if (!input.ok()) return input.status();
  if (absl::Status s = (*input)->Add(masked); !s.ok()) return s;
  return (*input)->Commit();
}

std::map<uint32_t, v1::SecAggUnmaskTask> ManualRound::MaskedInputs(
    const std::map<uint32_t, v1::SecAggSharesTask>& shares, const std::set<uint32_t>& nodes) {
  for (const auto& [index, task] : shares) {
    if (!Wanted(nodes, index)) continue;
    node::SecAggClient& c = *clients_.at(index);
    absl::Status s = c.OnShares(task);
    EXPECT_TRUE(s.ok()) << s;
    auto masked = c.MaskedInput(deltas_.at(index), samples_.at(index));
    EXPECT_TRUE(masked.ok()) << masked.status();
    if (!masked.ok()) continue;
    s = Upload(index, *masked);
    EXPECT_TRUE(s.ok()) << s;
  }
  std::map<uint32_t, v1::SecAggUnmaskTask> out;
  auto tasks = server_->CloseInput();
  EXPECT_TRUE(tasks.ok()) << tasks.status();
  if (!tasks.ok()) return out;
  for (auto& [node, task] : *tasks) out.emplace(index_of(node), task);
  return out;
}

std::map<uint32_t, v1::SecAggUnmaskRequest> ManualRound::Unmask(
    const std::map<uint32_t, v1::SecAggUnmaskTask>& tasks, const std::set<uint32_t>& nodes) {
  std::map<uint32_t, v1::SecAggUnmaskRequest> out;
  for (const auto& [index, task] : tasks) {
    if (!Wanted(nodes, index)) continue;
    auto request = clients_.at(index)->OnUnmask(task);
    EXPECT_TRUE(request.ok()) << request.status();
    if (request.ok()) out.emplace(index, *request);
  }
  return out;
}

}  // namespace tverr::secagg_testing
