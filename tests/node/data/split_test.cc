#include "node/data/split.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"

namespace tverr::node {
namespace {

v1::SplitFractions Fractions(double train, double validation, double test) {
  v1::SplitFractions f;
  f.set_train(train);
  f.set_validation(validation);
  f.set_test(test);
  return f;
}

TEST(AssignSplit, IsDeterministicAndFollowsTheFractions) {
  const v1::SplitFractions f = Fractions(0.7, 0.2, 0.1);
  std::map<Split, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::string patient = absl::StrCat("patient-", i);
    Split s = AssignSplit(patient, "run-1", f);
    EXPECT_EQ(s, AssignSplit(patient, "run-1", f));
    ++counts[s];
  }
  EXPECT_NEAR(counts[Split::kTrain] / double(n), 0.7, 0.015);
  EXPECT_NEAR(counts[Split::kValidation] / double(n), 0.2, 0.015);
  EXPECT_NEAR(counts[Split::kTest] / double(n), 0.1, 0.015);
}

TEST(AssignSplit, SaltChangesTheAssignment) {
  const v1::SplitFractions f = Fractions(0.5, 0.5, 0);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string patient = absl::StrCat("p", i);
    differ += AssignSplit(patient, "salt-a", f) != AssignSplit(patient, "salt-b", f);
  }
  EXPECT_GT(differ, 400);
  EXPECT_LT(differ, 600);
}

TEST(AssignSplit, EmptySplitsGetNobody) {
  for (int i = 0; i < 2000; ++i) {
    std::string patient = absl::StrCat("p", i);
    EXPECT_EQ(AssignSplit(patient, "s", Fractions(1, 0, 0)), Split::kTrain);
    EXPECT_NE(AssignSplit(patient, "s", Fractions(0.3, 0.7, 0)), Split::kTest);
  }
}

TEST(ValidateSplitFractions, RefusesBadFractions) {
  EXPECT_TRUE(ValidateSplitFractions(Fractions(0.8, 0.1, 0.1)).ok());
  EXPECT_FALSE(ValidateSplitFractions(Fractions(0.8, 0.1, 0.2)).ok());
  EXPECT_FALSE(ValidateSplitFractions(Fractions(1.2, -0.2, 0)).ok());
  EXPECT_FALSE(ValidateSplitFractions(Fractions(0, 0, 0)).ok());
}

}  // namespace
}  // namespace tverr::node
