// In-process secure-aggregation rounds for tests and the benchmark: n real
// node identities (certificates from a test CA), n SecAggClients and one
// SecAggServer driven phase by phase, with nodes dropping out at chosen
// points, and a record of everything the coordinator received.
#ifndef TVERR_TESTS_SECAGG_SECAGG_ROUND_H_
#define TVERR_TESTS_SECAGG_SECAGG_ROUND_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/crypto/sha256.h"
#include "common/tensor/named_tensors.h"
#include "coordinator/secagg/secagg_server.h"
#include "node/secagg/secagg_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::secagg_testing {

struct NodeIdentity {
  std::string uri;  // fl://<consortium>/node/<name>
  std::string certificate_pem;
  std::string private_key_pem;
};

// `n` node certificates under one test CA, in a scratch directory.
class Consortium {
 public:
  explicit Consortium(int n, const std::string& name = "nordic");

  int size() const { return static_cast<int>(nodes_.size()); }
  // 0-based; node i has index i + 1 in the rounds below.
  const NodeIdentity& node(int i) const { return nodes_.at(i); }
  const std::string& ca_pem() const { return ca_pem_; }
  testing::TestPki& pki() { return *pki_; }

  // Client options for node i (K = min_peers).
  node::SecAggClient::Options ClientOptions(int i, uint32_t min_peers) const;

 private:
  testing::TempDir tmp_;
  std::unique_ptr<testing::TestPki> pki_;
  std::vector<NodeIdentity> nodes_;
  std::string ca_pem_;
};

// Where a node stops taking part.
enum class Drop {
  kNone,
  kBeforeAdvertise,   // never advertises (not in U1)
  kAfterAdvertise,    // advertises, never shares (not in U2)
  kAfterShareKeys,    // shares, never sends a masked input (U2, not U3)
  kDuringInput,       // half its masked input streams in, then the upload breaks off
  kAfterMaskedInput,  // in U3, never answers the unmasking
};

// clip 10^4, 26 bits, at most 64 nodes (26 + 6 = 32).
v1::SecureAggregationParams DefaultParams();

struct RoundSpec {
  uint32_t n = 3;
  uint32_t threshold = 2;
  uint64_t elements = 10000;
  uint32_t min_peers = 3;
  // SecAggRoundSetup.neighbours: 0 for the full graph.
  uint32_t neighbours = 0;
  v1::SecureAggregationParams params = DefaultParams();
  std::map<uint32_t, Drop> drops;  // by index (1..n)
  uint64_t seed = 1;               // deltas, sample counts, upload piece sizes
  std::string run_id = "run-7f3a";
  uint64_t round = 3;
};

// What the coordinator received, as it received it.
struct Transcript {
  std::vector<v1::SecAggAdvertiseRequest> advertise;
  std::vector<v1::SecAggShareKeysRequest> share_keys;
  // Complete masked inputs by index (an input that broke off is in
  // partial_inputs).
  std::map<uint32_t, std::string> masked_inputs;
  std::map<uint32_t, std::string> partial_inputs;
  std::map<uint32_t, v1::SecAggUnmaskRequest> unmask;
  // Every message and input, serialised, in arrival order.
  std::vector<std::string> all_bytes;
};

struct RoundOutcome {
  // OK, or the first failure (a Close*, Finish, or an unexpected client or
  // server error) with the step in failed_step.
  absl::Status status;
  std::string failed_step;
  std::optional<coordinator::SecureSum> sum;
  Transcript transcript;
  v1::SecAggRoundSetup setup;
  std::optional<v1::SecAggKeysTask> keys_task;
  std::map<uint32_t, v1::SecAggSharesTask> shares_tasks;  // by recipient index
  std::optional<v1::SecAggUnmaskTask> unmask_task;
  crypto::Sha256Digest session_id{};
  // Every node's true update and sample count, by index.
  std::map<uint32_t, tensor::TensorList> deltas;
  std::map<uint32_t, uint64_t> samples;
  // The nodes whose inputs should be in the sum (U3), by index.
  std::set<uint32_t> expected_contributors;
  std::unique_ptr<coordinator::SecAggServer> server;
};

// A delta of `elements` values in [-1, 1] in three tensors (one empty, so
// that masking skips it) from `seed`.
tensor::TensorList MakeDelta(uint64_t elements, uint64_t seed);

// The participants 1..n (the consortium's first n nodes), threshold, params.
v1::SecAggRoundSetup MakeSetup(const Consortium& consortium, const RoundSpec& spec);

// Runs one round through every phase; stops at the first failure.
RoundOutcome RunRound(const Consortium& consortium, const RoundSpec& spec);

// Pearson correlation of two equally long series.
double Pearson(const std::vector<double>& a, const std::vector<double>& b);

// The whole little-endian uint32 words of (part of) a masked input; the
// last word of a complete input is the masked sample count.
std::vector<uint32_t> Words(const std::string& masked_input);

// A consortium of 10 nodes, made once per process.
const Consortium& TestConsortium();

}  // namespace tverr::secagg_testing

#endif  // TVERR_TESTS_SECAGG_SECAGG_ROUND_H_
