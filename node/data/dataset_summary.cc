#include "node/data/dataset_summary.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/crypto/sha256.h"

namespace tverr::node {
namespace {

v1::GroupCount Count(const std::string& group, const std::string& value, int64_t n) {
  v1::GroupCount c;
  c.set_group(group);
  c.set_value(value);
  if (n > 0 && n < kMinReleasableCount) {
    c.set_suppressed(true);
  } else {
    c.set_count(n);
  }
  return c;
}

}  // namespace

DatasetSummary Summarize(const std::vector<SummaryItem>& items,
                         const std::vector<std::string>& labels,
                         const std::string& pipeline_fingerprint,
                         const std::map<std::string, int64_t>& problems) {
  DatasetSummary s;
  s.pipeline_fingerprint = pipeline_fingerprint;
  s.examples = static_cast<int64_t>(items.size());
  std::vector<std::tuple<std::string, int64_t, int>> keyed;
  keyed.reserve(items.size());
  for (const SummaryItem& item : items) {
    keyed.emplace_back(item.sop_instance_uid, item.label, static_cast<int>(item.split));
    const std::string label = item.label >= 0 && item.label < static_cast<int64_t>(labels.size())
                                  ? labels[item.label]
                                  : absl::StrCat("#", item.label);
    ++s.counts["label"][label];
    ++s.counts["split"][SplitName(item.split)];
    ++s.counts["sex"][item.subgroups.sex];
    ++s.counts["age_band"][item.subgroups.age_band];
    ++s.counts["manufacturer"][item.subgroups.manufacturer];
    ++s.counts["model"][item.subgroups.model];
  }
  for (const auto& [problem, n] : problems) {
    if (n > 0) s.counts["problem"][problem] = n;
  }
  std::sort(keyed.begin(), keyed.end());
  crypto::Sha256Hasher h;
  h.Update(absl::StrCat("tverr-dataset v1\n", pipeline_fingerprint, "\n"));
  for (const auto& [uid, label, split] : keyed) {
    h.Update(absl::StrCat(uid, " ", label, " ", split, "\n"));
  }
  s.fingerprint = crypto::ToHex(h.Finish());
  return s;
}

v1::DatasetSummary Releasable(const DatasetSummary& summary) {
  v1::DatasetSummary out;
  out.set_fingerprint(summary.fingerprint);
  out.set_pipeline_fingerprint(summary.pipeline_fingerprint);
  *out.mutable_examples() = Count("examples", "all", summary.examples);
  for (const auto& [group, values] : summary.counts) {
    std::vector<v1::GroupCount> cells;
    int suppressed = 0;
    for (const auto& [value, n] : values) {
      cells.push_back(Count(group, value, n));
      suppressed += cells.back().suppressed();
    }
    // Complementary suppression: the cells of a group add up to the
    // published total, so a single hidden cell could be recovered by
    // subtraction. Hide the smallest other cell too.
    if (suppressed == 1 && cells.size() > 1) {
      v1::GroupCount* smallest = nullptr;
      for (v1::GroupCount& c : cells) {
        if (!c.suppressed() && c.count() > 0 && (!smallest || c.count() < smallest->count())) {
          smallest = &c;
        }
      }
      if (smallest != nullptr) {
        smallest->set_count(0);
        smallest->set_suppressed(true);
      }
    }
    for (v1::GroupCount& c : cells) *out.add_counts() = std::move(c);
  }
  return out;
}

}  // namespace tverr::node
