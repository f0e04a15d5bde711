#include "coordinator/aggregation/streaming_update.h"

#include <utility>

#include "common/status/status_macros.h"

namespace tverr::coordinator {

absl::StatusOr<std::unique_ptr<StreamingUpdate>> StreamingUpdate::Start(Aggregator& aggregator,
                                                                        const std::string& node,
                                                                        double weight) {
  ASSIGN_OR_RETURN(std::unique_ptr<UpdateSink> sink, aggregator.BeginUpdate(node, weight));
  return std::unique_ptr<StreamingUpdate>(
      new StreamingUpdate(std::move(sink), aggregator.layout()));
}

StreamingUpdate::StreamingUpdate(std::unique_ptr<UpdateSink> sink, tensor::TensorLayout layout)
    : sink_(std::move(sink)),
      decoder_(
          std::move(layout),
          [this](size_t tensor_index, uint64_t element_offset, const float* values, size_t count) {
            return sink_->Add(tensor_index, element_offset, values, count);
          },
          tensor::StreamingTensorDecoder::Options{/*require_finite=*/false}) {}

StreamingUpdate::~StreamingUpdate() { Abort(); }

absl::Status StreamingUpdate::Fail(absl::Status status) {
  error_ = status;
  sink_->Abort();
  return status;
}

absl::Status StreamingUpdate::Add(absl::string_view piece) {
  if (!error_.ok()) return error_;
  if (absl::Status s = decoder_.Add(piece); !s.ok()) return Fail(s);
  return absl::OkStatus();
}

absl::Status StreamingUpdate::Commit() {
  if (!error_.ok()) return error_;
  if (absl::Status s = decoder_.Finish(); !s.ok()) return Fail(s);
  if (absl::Status s = sink_->Commit(); !s.ok()) return Fail(s);
  error_ = absl::FailedPreconditionError("the update was already committed");
  return absl::OkStatus();
}

void StreamingUpdate::Abort() { sink_->Abort(); }

}  // namespace tverr::coordinator
