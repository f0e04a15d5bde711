// The coordinator's side of one secure-aggregation round: collects and
// relays the nodes' phase messages, sums the masked inputs modulo 2^32 as
// their bytes arrive, and after the unmasking removes the masks and
// decodes the sum. It never sees an individual update: it holds only
// masked inputs, encrypted shares it cannot open, and at most one kind of
// share per node as revealed by honest nodes. With SecAggRoundSetup.neighbours
// (SecAgg+) shares and pairwise masks exist only between neighbours of the
// graph of common/secagg/neighbour_graph.h: each node's secrets are
// reconstructed from its neighbours' answers with the neighbourhood's
// threshold, and the round aborts when a neighbourhood keeps too few.
//
// Phases: advertise → share keys → masked input → unmask → Finish. Each
// Close* ends a phase (at the deadline or once everybody answered) and
// fails with FAILED_PRECONDITION when fewer than t nodes are left: the
// round then aborts and nothing can be reconstructed.
// Not thread-safe: the round manager calls it under its lock. Finish
// spreads its work over threads of its own and joins them before it
// returns (SecAggServerOptions).
#ifndef TVERR_COORDINATOR_SECAGG_SECAGG_SERVER_H_
#define TVERR_COORDINATOR_SECAGG_SECAGG_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/sha256.h"
#include "tverr/v1/secagg.pb.h"

namespace tverr::coordinator {

// The decoded result of a secure round.
struct SecureSum {
  // Sum over the contributors of their clipped, sample-weighted deltas,
  // element by element in layout order (quantisation error at most
  // error_bound per element).
  std::vector<double> weighted_sum;
  // Sum of their sample counts.
  uint64_t samples = 0;
  // The nodes in the sum (U3).
  std::vector<std::string> contributors;
  double error_bound = 0;
};

struct SecAggServerOptions {
  // Threads that remove the masks and decode the sum in Finish, the calling
  // thread included; 0: one per hardware thread, at most 16. Fewer for a
  // model of fewer 16K-element blocks. The result does not depend on it.
  // Default: 0.
  int finish_threads = 0;
};

class SecAggServer {
 public:
  // `setup`: the participants, threshold and params sent with the train
  // tasks (my_index unused); `elements`: the model's element count.
  // INVALID_ARGUMENT for an inconsistent setup or negative finish_threads.
  static absl::StatusOr<std::unique_ptr<SecAggServer>> Create(
      const std::string& run_id, uint64_t round, const crypto::Sha256Digest& global_digest,
      const v1::SecAggRoundSetup& setup, uint64_t elements,
      const SecAggServerOptions& options = {});
  ~SecAggServer();

  // Phase 1. INVALID_ARGUMENT: malformed keys or an index that is not the
  // node's; FAILED_PRECONDITION: not a participant, twice, or the phase is
  // over. (Signatures are verified by the peers, who trust only the CA.)
  absl::Status Advertised(const std::string& node, const v1::SecAggAdvertiseRequest& request);
  absl::StatusOr<v1::SecAggKeysTask> CloseAdvertise();

  // Phase 2: exactly one share for every other node that advertised.
  absl::Status SharesReceived(const std::string& node, const v1::SecAggShareKeysRequest& request);
  // The shares task for each node of U2.
  absl::StatusOr<std::map<std::string, v1::SecAggSharesTask>> CloseSharing();

  // Phase 3: a node of U2 streams its masked input; pieces of any size.
  class Input {
   public:
    virtual ~Input() = default;
    // INVALID_ARGUMENT when the input would be longer than expected.
    virtual absl::Status Add(absl::string_view piece) = 0;
    // INVALID_ARGUMENT when it is shorter. On OK the node is in U3.
    virtual absl::Status Commit() = 0;
  };
  // FAILED_PRECONDITION: not in U2, twice, or the phase is over.
  absl::StatusOr<std::unique_ptr<Input>> BeginInput(const std::string& node);
  // True when an input was abandoned after part of it was added: the sum
  // must be rebuilt (ResetSum, then the committed inputs again).
  bool needs_rebuild() const;
  void ResetSum();
  std::vector<std::string> committed_inputs() const;
  // The unmask task for each node of U3.
  absl::StatusOr<std::map<std::string, v1::SecAggUnmaskTask>> CloseInput();

  // Phase 4.
  absl::Status UnmaskReceived(const std::string& node, const v1::SecAggUnmaskRequest& request);
  // Number of unmask answers so far (Finish needs t).
  size_t unmask_answers() const;
  // Reconstructs the survivors' self-mask seeds and the dropped nodes' mask
  // keys from t or more answers, removes the masks and decodes (on
  // options.finish_threads threads).
  // FAILED_PRECONDITION with fewer than t answers; DATA_LOSS when shares
  // are inconsistent.
  absl::StatusOr<SecureSum> Finish();

  // For the audit log and tests.
  const crypto::Sha256Digest& session_id() const;

 private:
  struct State;
  explicit SecAggServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_SECAGG_SECAGG_SERVER_H_
