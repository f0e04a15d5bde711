#include "coordinator/aggregation/aggregator_factory.h"

#include <cmath>
#include <optional>
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

// Unspecified means FEDAVG, as in WithDefaults (coordinator/runs).
Spec::Strategy StrategyOf(const Spec& spec) {
  return spec.strategy() == Spec::STRATEGY_UNSPECIFIED ? Spec::FEDAVG : spec.strategy();
}

// The numeric server parameters, checked (the rule is left kPlain). The
// adaptive rules default to η = 0.01, the others to 1 (as WithDefaults).
absl::StatusOr<ServerOptimizerParams> ServerParams(const Spec& spec) {
  const double inf = HUGE_VAL;
  const Spec::Strategy s = StrategyOf(spec);
  const bool adaptive = s == Spec::FEDADAM || s == Spec::FEDYOGI || s == Spec::FEDADAGRAD;
  ServerOptimizerParams p;
  ASSIGN_OR_RETURN(p.learning_rate, Param("server_learning_rate", spec.server_learning_rate(),
                                          adaptive ? 0.01 : 1.0, 0, /*low_open=*/true, inf));
  ASSIGN_OR_RETURN(p.beta1,
                   Param("server_momentum", spec.server_momentum(), 0.9, 0, /*low_open=*/false, 1));
  ASSIGN_OR_RETURN(p.beta2,
                   Param("server_beta2", spec.server_beta2(), 0.99, 0, /*low_open=*/false, 1));
  ASSIGN_OR_RETURN(p.tau, Param("server_tau", spec.server_tau(), 1e-3, 0, /*low_open=*/true, inf));
  return p;
}

// The server step of a mean strategy; nullopt for the robust rules (and
// unknown values).
std::optional<ServerStepRule> MeanRule(Spec::Strategy s) {
  switch (s) {
    case Spec::FEDAVG:
      return ServerStepRule::kPlain;
    case Spec::FEDAVGM:
      return ServerStepRule::kMomentum;
    case Spec::FEDADAGRAD:
      return ServerStepRule::kAdagrad;
    case Spec::FEDADAM:
      return ServerStepRule::kAdam;
    case Spec::FEDYOGI:
      return ServerStepRule::kYogi;
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::StatusOr<ServerOptimizerParams> ServerOptimizerParamsFor(
    const v1::AggregationSpec& spec) {
  const Spec::Strategy s = StrategyOf(spec);
  const std::optional<ServerStepRule> rule = MeanRule(s);
  if (!rule) {
    return absl::InvalidArgumentError(absl::StrCat(
        "aggregation.strategy ", Spec::Strategy_IsValid(s) ? Spec::Strategy_Name(s) : "?",
        " does not work on the sum of the updates"));
  }
  ASSIGN_OR_RETURN(ServerOptimizerParams p, ServerParams(spec));
  p.rule = *rule;
  return p;
}

absl::StatusOr<std::unique_ptr<Aggregator>> MakeAggregator(const v1::AggregationSpec& spec,
                                                           ServerOptimizerState* state) {
  const Spec::Strategy s = StrategyOf(spec);
  if (!Spec::Strategy_IsValid(s)) {
    return absl::InvalidArgumentError(
        absl::StrCat("aggregation.strategy ", static_cast<int>(s), " is unknown"));
  }
  const std::string name = Spec::Strategy_Name(s);
  ASSIGN_OR_RETURN(ServerOptimizerParams p, ServerParams(spec));
  ASSIGN_OR_RETURN(double trim,
                   Param("trim_fraction", spec.trim_fraction(), 0, 0, /*low_open=*/false, 0.5));
  if (const std::optional<ServerStepRule> rule = MeanRule(s)) {
    p.rule = *rule;
    if (*rule == ServerStepRule::kPlain) {
      return std::unique_ptr<Aggregator>(new MeanAggregator(p, nullptr));
    }
    if (state == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("strategy ", name, " needs a server optimizer state"));
    }
    return std::unique_ptr<Aggregator>(new MeanAggregator(p, state));
  }
  switch (s) {
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
