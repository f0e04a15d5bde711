#include "node/data/dataset_summary.h"

#include <gtest/gtest.h>

#include <map>

namespace tverr::node {
namespace {

SummaryItem Item(const std::string& uid, int64_t label, Split split, const std::string& sex) {
  SummaryItem i;
  i.sop_instance_uid = uid;
  i.label = label;
  i.split = split;
  i.subgroups.sex = sex;
  return i;
}

TEST(Summarize, CountsAndFingerprint) {
  std::vector<SummaryItem> items;
  for (int i = 0; i < 12; ++i) {
    items.push_back(Item("1." + std::to_string(i), i < 9 ? 0 : 1, Split::kTrain, i < 3 ? "M" : "F"));
  }
  DatasetSummary s = Summarize(items, {"a", "b"}, "pipe", {{"not_dicom", 2}});
  EXPECT_EQ(s.examples, 12);
  EXPECT_EQ(s.counts["label"]["a"], 9);
  EXPECT_EQ(s.counts["label"]["b"], 3);
  EXPECT_EQ(s.counts["sex"]["M"], 3);
  EXPECT_EQ(s.counts["problem"]["not_dicom"], 2);

  // Order does not matter; labels, splits and the pipeline do.
  std::vector<SummaryItem> reversed(items.rbegin(), items.rend());
  EXPECT_EQ(Summarize(reversed, {"a", "b"}, "pipe", {}).fingerprint, s.fingerprint);
  EXPECT_NE(Summarize(items, {"a", "b"}, "other pipe", {}).fingerprint, s.fingerprint);
  items[0].label = 1;
  EXPECT_NE(Summarize(items, {"a", "b"}, "pipe", {}).fingerprint, s.fingerprint);
  items[0].label = 0;
  items[0].split = Split::kTest;
  EXPECT_NE(Summarize(items, {"a", "b"}, "pipe", {}).fingerprint, s.fingerprint);
}

TEST(Releasable, SuppressesCountsBelowFive) {
  std::vector<SummaryItem> items;
  for (int i = 0; i < 9; ++i) items.push_back(Item("1." + std::to_string(i), i < 5 ? 0 : 1, Split::kTrain, "F"));
  v1::DatasetSummary out = Releasable(Summarize(items, {"a", "b"}, "pipe", {{"truncated", 1}}));
  EXPECT_EQ(out.examples().count(), 9);
  int checked = 0;
  for (const v1::GroupCount& c : out.counts()) {
    if (c.group() == "label" && c.value() == "a") {
      // 5 is releasable, but with b (4) hidden and the total (9) public it
      // would give b away: complementary suppression hides it too.
      EXPECT_TRUE(c.suppressed());
      ++checked;
    }
    if ((c.group() == "label" && c.value() == "b") || c.group() == "problem") {
      EXPECT_EQ(c.count(), 0);
      EXPECT_TRUE(c.suppressed());
      ++checked;
    }
    EXPECT_TRUE(c.suppressed() || c.count() == 0 || c.count() >= kMinReleasableCount);
  }
  EXPECT_EQ(checked, 3);
}

TEST(Releasable, NoHiddenCountFollowsFromTheTotal) {
  std::vector<SummaryItem> items;
  // labels: a 10, b 7, c 2 -> c hidden, and b (smallest other) with it.
  for (int i = 0; i < 19; ++i) {
    items.push_back(Item("1." + std::to_string(i), i < 10 ? 0 : (i < 17 ? 1 : 2), Split::kTrain,
                         "F"));
  }
  v1::DatasetSummary out = Releasable(Summarize(items, {"a", "b", "c"}, "pipe", {}));
  std::map<std::string, const v1::GroupCount*> label;
  for (const v1::GroupCount& c : out.counts()) {
    if (c.group() == "label") label[c.value()] = &c;
  }
  EXPECT_EQ(label.at("a")->count(), 10);
  EXPECT_TRUE(label.at("b")->suppressed());
  EXPECT_TRUE(label.at("c")->suppressed());
}

}  // namespace
}  // namespace tverr::node
