#include "coordinator/aggregation/aggregator.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator {

absl::Status Aggregator::AddUpdate(const std::string& node, double weight,
                                   const tensor::TensorList& delta) {
  // Open first, so "no round" and "duplicate node" win over content errors.
  // If a check below fails, the sink is destroyed (aborted) before anything
  // was folded, so the round stays clean.
  ASSIGN_OR_RETURN(std::unique_ptr<UpdateSink> sink, BeginUpdate(node, weight));
  RETURN_IF_ERROR(tensor::ValidateTensorList(delta));
  RETURN_IF_ERROR(tensor::SameLayout(tensor::LayoutOf(delta), layout()));
  for (const tensor::NamedTensor& t : delta) {
    for (size_t i = 0; i < t.values.size(); ++i) {
      if (!std::isfinite(t.values[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor ", t.name, " element ", i, " is not finite"));
      }
    }
  }
  for (size_t t = 0; t < delta.size(); ++t) {
    if (delta[t].values.empty()) continue;
    RETURN_IF_ERROR(sink->Add(t, 0, delta[t].values.data(), delta[t].values.size()));
  }
  return sink->Commit();
}

}  // namespace tverr::coordinator
