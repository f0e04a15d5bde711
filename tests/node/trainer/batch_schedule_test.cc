#include "node/trainer/batch_schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace tverr::node {
namespace {

std::vector<std::vector<size_t>> All(BatchSchedule schedule) {
  std::vector<std::vector<size_t>> out;
  while (auto batch = schedule.Next()) out.push_back(*batch);
  return out;
}

std::vector<size_t> Indices(size_t n, size_t offset = 100) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), offset);
  return v;
}

TEST(BatchSchedule, EpochsArePermutationsCutIntoBatches) {
  BatchSchedule schedule(Indices(10), /*batch_size=*/4, /*epochs=*/3, /*steps=*/0, /*seed=*/1);
  EXPECT_EQ(schedule.TotalSteps(), 9);
  const auto batches = All(schedule);
  ASSERT_EQ(batches.size(), 9u);
  for (int epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(batches[epoch * 3].size(), 4u);
    EXPECT_EQ(batches[epoch * 3 + 1].size(), 4u);
    EXPECT_EQ(batches[epoch * 3 + 2].size(), 2u);
    std::vector<size_t> seen;
    for (int b = 0; b < 3; ++b) {
      seen.insert(seen.end(), batches[epoch * 3 + b].begin(), batches[epoch * 3 + b].end());
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, Indices(10));
  }
  // Each pass is reshuffled.
  EXPECT_NE(batches[0], batches[3]);
}

TEST(BatchSchedule, StepsContinueIntoNewPasses) {
  const auto batches = All(BatchSchedule(Indices(5), 2, /*epochs=*/0, /*steps=*/7, 3));
  ASSERT_EQ(batches.size(), 7u);
  EXPECT_EQ(batches[2].size(), 1u);  // end of the first pass
  EXPECT_EQ(batches[3].size(), 2u);
}

TEST(BatchSchedule, TheSeedDecidesTheOrder) {
  const auto a = All(BatchSchedule(Indices(50), 50, 1, 0, 7));
  const auto b = All(BatchSchedule(Indices(50), 50, 1, 0, 7));
  const auto c = All(BatchSchedule(Indices(50), 50, 1, 0, 8));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a[0], Indices(50));
}

TEST(BatchSchedule, NoIndicesNoBatches) {
  BatchSchedule schedule({}, 4, 2, 0, 1);
  EXPECT_EQ(schedule.TotalSteps(), 0);
  EXPECT_FALSE(schedule.Next().has_value());
}

}  // namespace
}  // namespace tverr::node
