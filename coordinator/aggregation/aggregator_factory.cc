#include "coordinator/aggregation/aggregator_factory.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "coordinator/aggregation/mean_aggregator.h"
#include "coordinator/aggregation/robust_aggregator.h"

namespace tverr::coordinator {
namespace {

using Spec = v1::AggregationSpec;

// One parameter: unset (0) gives `default_value`; otherwise it must be
// finite and lie in [low, high) (or (low, high) if `low_open`). Parameters a
// strategy does not use are checked all the same (as ValidateRunSpec does):
// run specs carry every default (WithDefaults), whatever the strategy.
absl::StatusOr<double> Param(const char* name, double value, double default_value, double low,
                             bool low_open, double high) {
  if (value == 0) return default_value;
  const bool above_low = low_open ? value > low : value >= low;
  if (!std::isfinite(value) || !above_low || !(value < high)) {
    return absl::InvalidArgumentError(
        absl::StrCat("aggregation.", name, " = ", value, " is out of range ", low_open ? "(" : "[",
                     low, ", ", std::isinf(high) ? std::string("inf") : absl::StrCat(high), ")"));
  }
  return value;
}

}  // namespace

absl::StatusOr<ServerOptimizerParams> ServerOptimizerParamsFor(
    const v1::AggregationSpec& spec) {
  const Spec::Strategy s =
      spec.strategy() == Spec::STRATEGY_UNSPECIFIED ? Spec::FEDAVG : spec.strategy();
  ServerOptimizerParams p;
  switch (s) {
    case Spec::FEDAVG:
      p.rule = ServerStepRule::kPlain;
      break;
    case Spec::FEDAVGM:
      p.rule = ServerStepRule::kMomentum;
      break;
    case Spec::FEDADAGRAD:
      p.rule = ServerStepRule::kAdagrad;
      break;
    case Spec::FEDADAM:
      p.rule = ServerStepRule::kAdam;
      break;
    case Spec::FEDYOGI:
      p.rule = ServerStepRule::kYogi;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "aggregation.strategy ", Spec::Strategy_IsValid(s) ? Spec::Strategy_Name(s) : "?",
          " does not work on the sum of the updates"));
  }
  const double inf = HUGE_VAL;
  ASSIGN_OR_RETURN(p.learning_rate, Param("server_learning_rate", spec.server_learning_rate(), 1.0,
                                          0, /*low_open=*/true, inf));
  ASSIGN_OR_RETURN(p.beta1,
                   Param("server_momentum", spec.server_momentum(), 0.9, 0, /*low_open=*/false, 1));
  ASSIGN_OR_RETURN(p.beta2,
                   Param("server_beta2", spec.server_beta2(), 0.99, 0, /*low_open=*/false, 1));
  ASSIGN_OR_RETURN(p.tau, Param("server_tau", spec.server_tau(), 1e-3, 0, /*low_open=*/true, inf));
  return p;
}

absl::StatusOr<std::unique_ptr<Aggregator>> MakeAggregator(const v1::AggregationSpec& spec,
                                                           ServerOptimizerState* state) {
  // Unspecified means FEDAVG, as in WithDefaults (coordinator/runs).
  const Spec::Strategy s =
      spec.strategy() == Spec::STRATEGY_UNSPECIFIED ? Spec::FEDAVG : spec.strategy();
  if (!Spec::Strategy_IsValid(s)) {
    return absl::InvalidArgumentError(
        absl::StrCat("aggregation.strategy ", static_cast<int>(s), " is unknown"));
  }
  const std::string name = Spec::Strategy_Name(s);
  const bool optimizer =
      s == Spec::FEDAVGM || s == Spec::FEDADAGRAD || s == Spec::FEDADAM || s == Spec::FEDYOGI;
  const double inf = HUGE_VAL;

  ServerOptimizerParams p;
  ASSIGN_OR_RETURN(p.learning_rate, Param("server_learning_rate", spec.server_learning_rate(), 1.0,
                                          0, /*low_open=*/true, inf));
  ASSIGN_OR_RETURN(p.beta1,
                   Param("server_momentum", spec.server_momentum(), 0.9, 0, /*low_open=*/false, 1));
  ASSIGN_OR_RETURN(p.beta2,
                   Param("server_beta2", spec.server_beta2(), 0.99, 0, /*low_open=*/false, 1));
  ASSIGN_OR_RETURN(p.tau, Param("server_tau", spec.server_tau(), 1e-3, 0, /*low_open=*/true, inf));
  ASSIGN_OR_RETURN(double trim,
                   Param("trim_fraction", spec.trim_fraction(), 0, 0, /*low_open=*/false, 0.5));

  if (optimizer && state == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("strategy ", name, " needs a server optimizer state"));
  }
  switch (s) {
    case Spec::FEDAVG:
      p.rule = ServerStepRule::kPlain;
      return std::unique_ptr<Aggregator>(new MeanAggregator(p, nullptr));
    case Spec::FEDAVGM:
      p.rule = ServerStepRule::kMomentum;
      return std::unique_ptr<Aggregator>(new MeanAggregator(p, state));
    case Spec::FEDADAGRAD:
      p.rule = ServerStepRule::kAdagrad;
      return std::unique_ptr<Aggregator>(new MeanAggregator(p, state));
    case Spec::FEDADAM:
      p.rule = ServerStepRule::kAdam;
      return std::unique_ptr<Aggregator>(new MeanAggregator(p, state));
    case Spec::FEDYOGI:
      p.rule = ServerStepRule::kYogi;
      return std::unique_ptr<Aggregator>(new MeanAggregator(p, state));
    case Spec::COORDINATE_MEDIAN:
      return std::unique_ptr<Aggregator>(
          new RobustAggregator(RobustAggregator::Rule::kMedian, 0, p.learning_rate));
    case Spec::TRIMMED_MEAN:
      return std::unique_ptr<Aggregator>(
          new RobustAggregator(RobustAggregator::Rule::kTrimmedMean, trim, p.learning_rate));
    default:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("aggregation.strategy ", name, " is unknown"));
}

}  // namespace tverr::coordinator
