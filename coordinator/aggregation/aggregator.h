// Aggregator: combines one round's weight updates into the next global model.
//
// A round is Begin(global) → any number of updates → Finish(). An update is
// the delta a node trained (its weights minus the global weights it
// received), with a weight (the node's number of training examples). Updates
// arrive as byte streams, so an update is fed piece by piece through an
// UpdateSink (BeginUpdate → Add… → Commit or Abort), in the order
// StreamingTensorDecoder produces values; several updates may be open at
// once and their pieces may interleave. AddUpdate() is the same for an
// update already in memory; streaming_update.h glues a TVTS byte stream to a
// sink.
//
// What a sink does with the values depends on the rule:
//  - The FedAvg family (FEDAVG and the server optimizers) folds each piece
//    straight into a running sum, so memory stays O(model) however many
//    nodes report. A folded piece cannot be taken out again (its values are
//    gone, and floating-point subtraction would not restore the sum
//    exactly), so aborting an update after part of it was folded makes the
//    round *need a rebuild*: Finish() returns ABORTED until the caller calls
//    Begin() again and re-adds the committed updates (committed_nodes(), from
//    its stored uploads). Values are checked (order, range, finiteness)
//    before they are folded, so the common rejections — wrong layout, a
//    non-finite value in the first piece, a duplicate node — never dirty the
//    sum, and nothing further is folded once a rebuild is needed.
//  - Robust rules (coordinate median, trimmed mean) must see every update
//    at once: they buffer each update (O(nodes × model)) and aborting just
//    drops the buffer.
//
// Thread-safety: not thread-safe. An aggregator and its sinks belong to one
// owner (the round manager, under its lock). A sink may outlive its round or
// its aggregator: once the round has ended (Finish succeeded, or Begin
// started another round) or the aggregator is gone, every call on it fails
// with FAILED_PRECONDITION and Abort() does nothing.
#ifndef TVERR_COORDINATOR_AGGREGATION_AGGREGATOR_H_
#define TVERR_COORDINATOR_AGGREGATION_AGGREGATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tensor/named_tensors.h"
#include "common/tensor/tensor_codec.h"

namespace tverr::coordinator {

// Receives one node's update for the round it was started in.
class UpdateSink {
 public:
  // Aborts the update unless it was committed or aborted before.
  virtual ~UpdateSink() = default;

  // Takes values [element_offset, element_offset + count) of tensor
  // `tensor_index` (index into Aggregator::layout()). Calls must cover the
  // update in stream order: each starts where the previous one ended, and
  // moves to the next tensor once one is complete (tensors without elements
  // are skipped) — exactly the calls StreamingTensorDecoder makes.
  // OK: the values were folded (or buffered). INVALID_ARGUMENT: out of order,
  // out of range, or a non-finite value (naming tensor and element) — none of
  // this call's values were folded. FAILED_PRECONDITION: the update is no
  // longer open, or the round has ended. Any error aborts the update.
  virtual absl::Status Add(size_t tensor_index, uint64_t element_offset, const float* values,
                           size_t count) = 0;

  // Makes the update count for the round. OK: committed. FAILED_PRECONDITION:
  // values are missing (names the first missing tensor), the update is no
  // longer open, or the round has ended. An error aborts the update.
  virtual absl::Status Commit() = 0;

  // Withdraws the update (see the header comment for what happens to values
  // already folded); the node may then start a new update in this round.
  // Does nothing if the update is no longer open.
  virtual void Abort() = 0;
};

class Aggregator {
 public:
  virtual ~Aggregator() = default;

  // Starts a round on `global` (copied; the new model is computed from the
  // copy). Ends the previous round, if any: its sinks become inert and its
  // updates are forgotten. INVALID_ARGUMENT: `global` has no tensors, breaks
  // the TVTS limits, or holds a non-finite value. FAILED_PRECONDITION: the
  // server optimizer state does not match `global`'s layout. On error the
  // current round, if any, goes on unchanged.
  virtual absl::Status Begin(const tensor::TensorList& global) = 0;

  // The round's model layout (every update must have it); empty before the
  // first Begin.
  virtual const tensor::TensorLayout& layout() const = 0;

  // Opens `node`'s update. `weight` is its number of training examples (the
  // robust rules ignore it: one node, one vote). INVALID_ARGUMENT: empty
  // node, or weight not finite, <= 0 or > 2^53. ALREADY_EXISTS: the node has
  // an open or committed update in this round. FAILED_PRECONDITION: no round
  // in progress.
  virtual absl::StatusOr<std::unique_ptr<UpdateSink>> BeginUpdate(const std::string& node,
                                                                  double weight) = 0;

  // True if the round must be rebuilt before Finish() can succeed (see the
  // header comment). Always false for the robust rules.
  virtual bool needs_rebuild() const = 0;

  // Nodes whose updates were committed in this round, in commit order;
  // empty when no round is in progress. A rebuild reads it before Begin().
  virtual std::vector<std::string> committed_nodes() const = 0;

  // Ends the round and returns the new global model (layout of the round's
  // global). On success the server optimizer state (if any) has been
  // advanced by one step and the round is over; on error nothing changed and
  // the round is still in progress. FAILED_PRECONDITION: no round in
  // progress, no update committed, or updates still open (abort or commit
  // them first). ABORTED: needs_rebuild(). OUT_OF_RANGE: a value of the new
  // model or state would not be finite (float overflow).
  virtual absl::StatusOr<tensor::TensorList> Finish() = 0;

  // Adds a whole update held in memory: checks its layout, sizes and values
  // first, then feeds it through a sink and commits. A rejected update never
  // makes the round need a rebuild. Errors: those of BeginUpdate, and
  // INVALID_ARGUMENT for a different layout (SameLayout's message) or a
  // non-finite value.
  absl::Status AddUpdate(const std::string& node, double weight, const tensor::TensorList& delta);
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_AGGREGATION_AGGREGATOR_H_
