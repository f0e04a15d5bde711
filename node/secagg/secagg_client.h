// A node's side of one secure-aggregation round (Bonawitz et al. 2017):
// advertise two signed X25519 public keys; verify every peer's keys against
// the consortium CA and send each peer Shamir shares of the mask key and
// of the self-mask seed, encrypted to it; keep the shares peers sent; mask
// the quantised update (self mask + pairwise masks with every node that
// shared); reveal shares for the unmasking. With SecAggRoundSetup.neighbours
// (SecAgg+, Bell et al. 2020) all of this is restricted to the node's
// neighbours in the graph of common/secagg/neighbour_graph.h, with the
// neighbourhood's threshold, and the safety rules below count and compare
// within the neighbourhood (the survivors still at least max(K, t) in all).
//
// Safety rules (node policy), each refused with FAILED_PRECONDITION and a
// reason, never silently:
//  - no masked input when fewer than max(K, t) nodes shared keys (K:
//    Options::min_peers, default 3);
//  - no unmask answer when the survivors are fewer than max(K, t), when
//    survivors and dropped are not exactly the nodes that shared with this
//    node, when this node is not among the survivors, or when an earlier
//    answer of this round named a different split (a node never reveals
//    both the self-mask share and the mask-key share of one peer);
//  - a peer's keys whose signature does not verify against the CA, whose
//    certificate names another node, or this node's own keys changed: the
//    whole keys message is refused (the coordinator may be substituting).
// Thread-safe (one mutex): phase messages arrive on the task stream while
// the worker thread trains and masks.
#ifndef TVERR_NODE_SECAGG_SECAGG_CLIENT_H_
#define TVERR_NODE_SECAGG_SECAGG_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/sha256.h"
#include "common/tensor/named_tensors.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::node {

class SecAggClient {
 public:
  struct Options {
    // This node's identity (fl://...) and certificate and key (PEM).
    std::string node;
    std::string certificate_pem;
    std::string private_key_pem;
    // The consortium CA (PEM) and current CRLs, to verify peers.
    std::string ca_pem;
    std::vector<std::string> crl_pems;
    // K: fewest nodes this hospital accepts in a sum.
    uint32_t min_peers = 3;
  };

  // A round of `run_id` on the global model with `global_digest`.
  // INVALID_ARGUMENT when the setup is inconsistent (own index missing or
  // not this node, duplicate indices, threshold not more than half of the
  // participants, bad params).
  static absl::StatusOr<std::unique_ptr<SecAggClient>> Start(
      Options options, const std::string& run_id, uint64_t round,
      const crypto::Sha256Digest& global_digest, const v1::SecAggRoundSetup& setup);
  ~SecAggClient();

  // Phase 1: fresh key pairs, signed.
  absl::StatusOr<v1::SecAggAdvertiseRequest> Advertise();
  // Phase 2: checks every advertised key set and answers with the shares
  // for each other node.
  absl::StatusOr<v1::SecAggShareKeysRequest> OnKeys(const v1::SecAggKeysTask& task);
  // Keeps the shares addressed to this node (decrypted and checked).
  absl::Status OnShares(const v1::SecAggSharesTask& task);
  // Phase 3: true once OnShares succeeded.
  bool ready_to_mask() const;
  // The masked input for `delta` (the model's layout, flattened in order)
  // weighted by `samples`, as little-endian uint32 words (the upload).
  absl::StatusOr<std::string> MaskedInput(const tensor::TensorList& delta, uint64_t samples);
  // Phase 4.
  absl::StatusOr<v1::SecAggUnmaskRequest> OnUnmask(const v1::SecAggUnmaskTask& task);

  // Valid after OnKeys succeeded.
  crypto::Sha256Digest session_id() const;

 private:
  struct State;
  explicit SecAggClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tverr::node

#endif  // TVERR_NODE_SECAGG_SECAGG_CLIENT_H_
