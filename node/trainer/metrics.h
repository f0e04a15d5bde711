// Classification metrics from per-example labels, predictions and scores:
// confusion matrix, accuracy, one-vs-rest sensitivity and specificity, and
// ROC AUC for binary tasks. LibTorch-free so that it is tested on its own.
//
// Thread-safety: none; one owner.
#ifndef TVERR_NODE_TRAINER_METRICS_H_
#define TVERR_NODE_TRAINER_METRICS_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "node/trainer/trainer.h"

namespace tverr::node {

class ClassificationMetrics {
 public:
  // `classes` >= 2.
  explicit ClassificationMetrics(int64_t classes);

  // One example: true `label` and `predicted` label in [0, classes) (else
  // INVALID_ARGUMENT, nothing recorded), its loss, and, for binary tasks,
  // the score of the positive class (label 1); the score is ignored when
  // classes != 2.
  absl::Status Add(int64_t label, int64_t predicted, double loss, double positive_score = 0);

  // The metrics of everything added so far (see EvalResult).
  EvalResult Result() const;

 private:
  int64_t classes_;
  int64_t samples_ = 0;
  double loss_sum_ = 0;
  std::vector<std::vector<int64_t>> confusion_;
  std::vector<std::pair<double, bool>> scores_;  // (score, is positive), binary only
};

// Area under the ROC curve of `scores` (score, is positive) by the
// Mann-Whitney statistic, ties counted 1/2. Unset when either class is
// missing or a score is NaN.
std::optional<double> RocAuc(std::vector<std::pair<double, bool>> scores);

}  // namespace tverr::node

#endif  // TVERR_NODE_TRAINER_METRICS_H_
