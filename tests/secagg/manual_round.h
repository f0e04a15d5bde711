// A secure round driven step by step by a test, which can stop between
// phases, tamper with tasks and call clients or server directly. Every
// step expects success (gtest failures otherwise) unless it returns a
// status.
#ifndef TVERR_TESTS_SECAGG_MANUAL_ROUND_H_
#define TVERR_TESTS_SECAGG_MANUAL_ROUND_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/secagg/secagg_server.h"
#include "node/secagg/secagg_client.h"
#include "tests/secagg/secagg_round.h"

namespace tverr::secagg_testing {

class ManualRound {
 public:
  // Nodes 1..spec.n of `consortium`; spec.drops is ignored (the test decides
  // who takes part in each step).
  ManualRound(const Consortium& consortium, const RoundSpec& spec);

  const RoundSpec& spec() const { return spec_; }
  const v1::SecAggRoundSetup& setup() const { return setup_; }
  const crypto::Sha256Digest& global_digest() const { return global_digest_; }
  node::SecAggClient& client(uint32_t index) { return *clients_.at(index); }
  coordinator::SecAggServer& server() { return *server_; }
  const std::string& uri(uint32_t index) const;
  uint32_t index_of(const std::string& uri) const;
  const tensor::TensorList& delta(uint32_t index) const { return deltas_.at(index); }
  uint64_t samples(uint32_t index) const { return samples_.at(index); }

  // Every node (or `nodes`) advertises; the server closes the phase.
  v1::SecAggKeysTask Advertise(const std::set<uint32_t>& nodes = {});
  const v1::SecAggAdvertiseRequest& advertised(uint32_t index) const {
    return advertised_.at(index);
  }
  // `nodes` (default: all in the task) answer the keys task; the server
  // closes the phase. Shares tasks by recipient index.
  std::map<uint32_t, v1::SecAggSharesTask> ShareKeys(const v1::SecAggKeysTask& keys,
                                                     const std::set<uint32_t>& nodes = {});
  // `nodes` (default: all with a task) take their shares, mask and upload;
  // the server closes the phase. Unmask tasks by index.
  std::map<uint32_t, v1::SecAggUnmaskTask> MaskedInputs(
      const std::map<uint32_t, v1::SecAggSharesTask>& shares, const std::set<uint32_t>& nodes = {});
  // `nodes` (default: all with a task) answer; returns the answers.
  std::map<uint32_t, v1::SecAggUnmaskRequest> Unmask(
      const std::map<uint32_t, v1::SecAggUnmaskTask>& tasks, const std::set<uint32_t>& nodes = {});

  // Uploads a whole masked input.
  absl::Status Upload(uint32_t index, const std::string& masked);

 private:
  const Consortium& consortium_;
  RoundSpec spec_;
  v1::SecAggRoundSetup setup_;
  crypto::Sha256Digest global_digest_{};
  std::unique_ptr<coordinator::SecAggServer> server_;
  std::map<uint32_t, std::unique_ptr<node::SecAggClient>> clients_;
  std::map<uint32_t, tensor::TensorList> deltas_;
  std::map<uint32_t, uint64_t> samples_;
  std::map<uint32_t, v1::SecAggAdvertiseRequest> advertised_;
};

}  // namespace tverr::secagg_testing

#endif  // TVERR_TESTS_SECAGG_MANUAL_ROUND_H_
