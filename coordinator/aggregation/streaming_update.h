// Feeds one node's TVTS-encoded update into an Aggregator as its bytes
// arrive (e.g. from ChunkAssembler's data sink): a StreamingTensorDecoder
// checks the header against the round's layout and rejects non-finite
// values, and every decoded piece goes straight to the update's UpdateSink.
// Nothing beyond one partial float is buffered here.
//
// Errors abort the update (see aggregator.h for the rebuild this may cause)
// and are sticky. Not thread-safe; used under the same lock as the
// aggregator.
#ifndef TVERR_COORDINATOR_AGGREGATION_STREAMING_UPDATE_H_
#define TVERR_COORDINATOR_AGGREGATION_STREAMING_UPDATE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tensor/streaming_decoder.h"
#include "coordinator/aggregation/aggregator.h"

namespace tverr::coordinator {

class StreamingUpdate {
 public:
  // Opens `node`'s update in `aggregator`'s current round (the aggregator is
  // not referenced afterwards). Errors: those of Aggregator::BeginUpdate.
  static absl::StatusOr<std::unique_ptr<StreamingUpdate>> Start(Aggregator& aggregator,
                                                                const std::string& node,
                                                                double weight);

  // Aborts the update unless it was committed.
  ~StreamingUpdate();

  // The next piece of the encoded update, any size. OK: consistent so far and
  // folded. INVALID_ARGUMENT: malformed TVTS, another layout, trailing bytes,
  // a non-finite value; FAILED_PRECONDITION: the update or round has ended.
  absl::Status Add(absl::string_view piece);

  // At the end of the stream: OK if the update was complete and is now
  // committed. INVALID_ARGUMENT: the stream stopped early; other errors as
  // for UpdateSink::Commit.
  absl::Status Commit();

  // Withdraws the update (e.g. the transfer broke or its digest was wrong).
  void Abort();

 private:
  StreamingUpdate(std::unique_ptr<UpdateSink> sink, tensor::TensorLayout layout);
  absl::Status Fail(absl::Status status);

  std::unique_ptr<UpdateSink> sink_;
  tensor::StreamingTensorDecoder decoder_;
  absl::Status error_;
};

}  // namespace tverr::coordinator

#endif  // TVERR_COORDINATOR_AGGREGATION_STREAMING_UPDATE_H_
