#include "node/trainer/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace tverr::node {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Ratio(int64_t num, int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : kNaN;
}

}  // namespace

ClassificationMetrics::ClassificationMetrics(int64_t classes)
    : classes_(std::max<int64_t>(classes, 2)),
      confusion_(classes_, std::vector<int64_t>(classes_, 0)) {}

absl::Status ClassificationMetrics::Add(int64_t label, int64_t predicted, double loss,
                                        double positive_score) {
  if (label < 0 || label >= classes_ || predicted < 0 || predicted >= classes_) {
    return absl::InvalidArgumentError(absl::StrCat("label ", label, " or prediction ", predicted,
                                                   " outside the ", classes_, " classes"));
  }
  ++confusion_[label][predicted];
  ++samples_;
  loss_sum_ += loss;
  if (classes_ == 2) scores_.emplace_back(positive_score, label == 1);
  return absl::OkStatus();
}

EvalResult ClassificationMetrics::Result() const {
  EvalResult r;
  r.samples = samples_;
  r.confusion = confusion_;
  r.loss = samples_ > 0 ? loss_sum_ / static_cast<double>(samples_) : kNaN;
  int64_t correct = 0;
  for (int64_t c = 0; c < classes_; ++c) correct += confusion_[c][c];
  r.accuracy = Ratio(correct, samples_);
  for (int64_t c = 0; c < classes_; ++c) {
    int64_t tp = confusion_[c][c], fn = 0, fp = 0;
    for (int64_t o = 0; o < classes_; ++o) {
      if (o == c) continue;
      fn += confusion_[c][o];
      fp += confusion_[o][c];
    }
    const int64_t tn = samples_ - tp - fn - fp;
    r.sensitivity.push_back(Ratio(tp, tp + fn));
    r.specificity.push_back(Ratio(tn, tn + fp));
  }
  if (classes_ == 2) r.roc_auc = RocAuc(scores_);
  return r;
}

std::optional<double> RocAuc(std::vector<std::pair<double, bool>> scores) {
  // A NaN score (diverged model) has no rank.
  for (const auto& s : scores) {
    if (std::isnan(s.first)) return std::nullopt;
  }
  std::sort(scores.begin(), scores.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (size_t i = 0; i < scores.size();) {
    size_t j = i;
    while (j < scores.size() && scores[j].first == scores[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (scores[k].second) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    }
    i = j;
  }
  const int64_t negatives = static_cast<int64_t>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return std::nullopt;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

}  // namespace tverr::node
