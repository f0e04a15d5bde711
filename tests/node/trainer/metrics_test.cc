#include "node/trainer/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace tverr::node {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;

TEST(ClassificationMetrics, ThreeClassConfusionSensitivityAndSpecificity) {
  ClassificationMetrics m(3);
  // (label, predicted): class 0 twice right once as 1; class 1 right once;
  // class 2 once predicted as 0.
  const int pairs[][2] = {{0, 0}, {0, 0}, {0, 1}, {1, 1}, {2, 0}};
  for (const auto& p : pairs) ASSERT_TRUE(m.Add(p[0], p[1], /*loss=*/1.0).ok());
  EvalResult r = m.Result();
  EXPECT_EQ(r.samples, 5);
  EXPECT_THAT(r.confusion,
              ElementsAre(ElementsAre(2, 1, 0), ElementsAre(0, 1, 0), ElementsAre(1, 0, 0)));
  EXPECT_DOUBLE_EQ(r.accuracy, 3.0 / 5);
  EXPECT_DOUBLE_EQ(r.loss, 1.0);
  // Class 0: TP 2, FN 1, FP 1, TN 1. Class 1: TP 1, FN 0, FP 1, TN 3.
  // Class 2: TP 0, FN 1, FP 0, TN 4.
  EXPECT_THAT(r.sensitivity, ElementsAre(DoubleEq(2.0 / 3), DoubleEq(1.0), DoubleEq(0.0)));
  EXPECT_THAT(r.specificity, ElementsAre(DoubleEq(0.5), DoubleEq(0.75), DoubleEq(1.0)));
  EXPECT_FALSE(r.roc_auc.has_value());
}

TEST(ClassificationMetrics, UndefinedRatiosAreNaN) {
  ClassificationMetrics m(2);
  ASSERT_TRUE(m.Add(0, 0, 0.5, 0.1).ok());
  ASSERT_TRUE(m.Add(0, 1, 0.5, 0.9).ok());
  EvalResult r = m.Result();
  EXPECT_TRUE(std::isnan(r.sensitivity[1]));  // no positives
  EXPECT_TRUE(std::isnan(r.specificity[0]));  // everything is class 0
  EXPECT_FALSE(r.roc_auc.has_value());        // one class only
}

TEST(ClassificationMetrics, RejectsLabelsOutsideTheClasses) {
  ClassificationMetrics m(2);
  EXPECT_EQ(m.Add(2, 0, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.Add(0, -1, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.Result().samples, 0);
}

TEST(RocAuc, Table) {
  struct Case {
    std::vector<std::pair<double, bool>> scores;
    std::optional<double> auc;
  };
  const Case cases[] = {
      {{{0.1, false}, {0.2, false}, {0.8, true}, {0.9, true}}, 1.0},
      {{{0.9, false}, {0.8, false}, {0.2, true}, {0.1, true}}, 0.0},
      {{{0.5, false}, {0.5, true}, {0.5, false}, {0.5, true}}, 0.5},
      // One tie between a positive and a negative counts 1/2: (1 + 1 + 0.5 + 1) / 4.
      {{{0.1, false}, {0.4, false}, {0.4, true}, {0.7, true}}, 3.5 / 4},
      {{{0.1, true}, {0.2, true}}, std::nullopt},
      {{}, std::nullopt},
      {{{NAN, true}, {0.2, false}}, std::nullopt},
  };
  for (const Case& c : cases) {
    std::optional<double> auc = RocAuc(c.scores);
    ASSERT_EQ(auc.has_value(), c.auc.has_value());
    if (auc) {
      EXPECT_DOUBLE_EQ(*auc, *c.auc);
    }
  }
}

}  // namespace
}  // namespace tverr::node
