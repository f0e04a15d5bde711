#include "coordinator/aggregation/robust_aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>

#include "common/status/status_macros.h"
#include "coordinator/aggregation/update_round.h"

namespace tverr::coordinator {
namespace internal {

// A robust round: every update's values, buffered.
class RobustRound final : public UpdateRound {
 public:
  using Buffer = std::vector<std::vector<float>>;  // per tensor

  explicit RobustRound(tensor::TensorList global) : UpdateRound(std::move(global)) {}

  const std::vector<Buffer>& committed() const { return committed_; }

 protected:
  void OnStart(UpdateId id) override { open_[id].resize(element_counts().size()); }

  void Fold(UpdateId id, double, size_t tensor_index, uint64_t element_offset, const float* values,
            size_t count) override {
    std::vector<float>& buffer = open_[id][tensor_index];
    // Allocated when the tensor's first values arrive.
    if (buffer.empty()) buffer.resize(element_counts()[tensor_index]);
    std::memcpy(buffer.data() + element_offset, values, count * sizeof(float));
  }

  void OnCommit(UpdateId id) override {
    auto it = open_.find(id);
    committed_.push_back(std::move(it->second));
    open_.erase(it);
  }

  void OnAbort(UpdateId id, const std::string&, bool) override { open_.erase(id); }

 private:
  std::map<UpdateId, Buffer> open_;
  std::vector<Buffer> committed_;
};

}  // namespace internal

namespace {

double Median(std::vector<float>& col) {
  const size_t n = col.size();
  const size_t mid = n / 2;
  std::nth_element(col.begin(), col.begin() + mid, col.end());
  const double upper = col[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(col.begin(), col.begin() + mid);
  return (lower + upper) / 2;
}

double TrimmedMean(std::vector<float>& col, size_t trim) {
  std::sort(col.begin(), col.end());
  double sum = 0;
  for (size_t i = trim; i < col.size() - trim; ++i) sum += col[i];
  return sum / static_cast<double>(col.size() - 2 * trim);
}

}  // namespace

RobustAggregator::RobustAggregator(Rule rule, double trim_fraction, double learning_rate)
    : rule_(rule),
      trim_fraction_(trim_fraction),
      optimizer_(ServerOptimizerParams{ServerStepRule::kPlain, learning_rate}, nullptr) {}

RobustAggregator::~RobustAggregator() = default;

absl::Status RobustAggregator::Begin(const tensor::TensorList& global) {
  RETURN_IF_ERROR(internal::UpdateRound::CheckGlobal(global));
  round_.reset();
  round_ = std::make_shared<internal::RobustRound>(global);
  layout_ = round_->layout();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UpdateSink>> RobustAggregator::BeginUpdate(const std::string& node,
                                                                          double weight) {
  if (round_ == nullptr) return absl::FailedPreconditionError("no aggregation round in progress");
  return round_->StartUpdate(node, weight);
}

std::vector<std::string> RobustAggregator::committed_nodes() const {
  return round_ == nullptr ? std::vector<std::string>() : round_->committed_nodes();
}

absl::StatusOr<tensor::TensorList> RobustAggregator::Finish() {
  if (round_ == nullptr) return absl::FailedPreconditionError("no aggregation round in progress");
  RETURN_IF_ERROR(round_->CheckReadyToFinish());
  const std::vector<internal::RobustRound::Buffer>& updates = round_->committed();
  const size_t n = updates.size();
  // floor(trim_fraction × n), tolerant of products like 0.29 × 100 =
  // 28.999999999999996. Always < n / 2 since trim_fraction < 0.5.
  const size_t trim = static_cast<size_t>(std::floor(trim_fraction_ * n + 1e-9));
  std::vector<std::vector<double>> delta(round_->element_counts().size());
  std::vector<float> col(n);
  for (size_t t = 0; t < delta.size(); ++t) {
    delta[t].resize(round_->element_counts()[t]);
    for (size_t i = 0; i < delta[t].size(); ++i) {
      for (size_t u = 0; u < n; ++u) col[u] = updates[u][t][i];
      delta[t][i] = rule_ == Rule::kMedian ? Median(col) : TrimmedMean(col, trim);
    }
  }
  RETURN_IF_ERROR(optimizer_.Apply(delta, /*divisor=*/1.0, &round_->global()));
  tensor::TensorList result = std::move(round_->global());
  round_.reset();
  return result;
}

}  // namespace tverr::coordinator
