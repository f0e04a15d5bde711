// What a loaded dataset looks like in numbers: a fingerprint and counts per
// label, split, subgroup and load problem. The full summary stays on the
// node; Releasable() is the form that may leave it (small counts
// suppressed). Pure functions; thread-safe.
#ifndef TVERR_NODE_DATA_DATASET_SUMMARY_H_
#define TVERR_NODE_DATA_DATASET_SUMMARY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "node/data/example.h"
#include "tverr/v1/data.pb.h"

namespace tverr::node {

// Counts below this (and above 0) are suppressed in anything that may
// leave the node.
inline constexpr int64_t kMinReleasableCount = 5;

struct DatasetSummary {
  std::string fingerprint;
  std::string pipeline_fingerprint;
  int64_t examples = 0;
  // group ("label", "split", "sex", ...) -> value -> count.
  std::map<std::string, std::map<std::string, int64_t>> counts;
};

// One usable example as the summary needs it.
struct SummaryItem {
  std::string sop_instance_uid;
  int64_t label = -1;
  Split split = Split::kTrain;
  Subgroups subgroups;
};

// Builds the summary. `labels` names label indices; `problems` are counts
// per load problem (may be empty).
DatasetSummary Summarize(const std::vector<SummaryItem>& items,
                         const std::vector<std::string>& labels,
                         const std::string& pipeline_fingerprint,
                         const std::map<std::string, int64_t>& problems);

// The summary with every count in 1..kMinReleasableCount-1 suppressed, and
// where that hides a single cell of a group, the group's smallest other
// cell too (so no hidden count follows from the total by subtraction).
v1::DatasetSummary Releasable(const DatasetSummary& summary);

}  // namespace tverr::node

#endif  // TVERR_NODE_DATA_DATASET_SUMMARY_H_
