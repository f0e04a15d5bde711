#include "coordinator/runs/run_spec.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cmath>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/runs/run_id.h"

namespace tverr::coordinator {
namespace {

double Or(double value, double fallback) { return value == 0 ? fallback : value; }

class Errors {
 public:
  void Add(absl::string_view field, absl::string_view problem) {
    errors_.push_back(absl::StrCat("field '", field, "': ", problem));
  }
  absl::Status ToStatus() const {
    if (errors_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
  }

 private:
  std::vector<std::string> errors_;
};

bool IsHex64(absl::string_view s) { return runs::IsHexDigest(s); }

class CollectErrors final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors.push_back(absl::StrCat("line ", line + 1, ":", column + 1, ": ", message));
  }
  std::vector<std::string> errors;
};

}  // namespace

v1::RunSpec WithDefaults(v1::RunSpec spec) {
  v1::OptimizerSpec* o = spec.mutable_optimizer();
  if (o->kind() == v1::OptimizerSpec::ADAM || o->kind() == v1::OptimizerSpec::ADAMW) {
    o->set_beta1(Or(o->beta1(), 0.9));
    o->set_beta2(Or(o->beta2(), 0.999));
    o->set_epsilon(Or(o->epsilon(), 1e-8));
  }
  v1::AggregationSpec* a = spec.mutable_aggregation();
  if (a->strategy() == v1::AggregationSpec::STRATEGY_UNSPECIFIED) {
    a->set_strategy(v1::AggregationSpec::FEDAVG);
  }
  if (spec.secure_aggregation()) {
    v1::SecureAggregationSpec* sa = spec.mutable_secure();
    sa->set_threshold_fraction(Or(sa->threshold_fraction(), 2.0 / 3.0));
    sa->set_clip(Or(sa->clip(), 1e4));
    if (sa->max_nodes() == 0) sa->set_max_nodes(64);
    if (sa->bits() == 0 && sa->max_nodes() >= 2) {
      sa->set_bits(32 - static_cast<uint32_t>(std::ceil(std::log2(sa->max_nodes()))));
    }
  }
  // η = 1 makes FEDAVG the plain weighted mean; the adaptive rules normalise
  // each coordinate's step to about η, so they want a much smaller one
  // (Reddi et al. 2021 tune η in [10^-2.5, 10^-0.5]; 0.01 trains the demo).
  const bool adaptive = a->strategy() == v1::AggregationSpec::FEDADAM ||
                        a->strategy() == v1::AggregationSpec::FEDYOGI ||
                        a->strategy() == v1::AggregationSpec::FEDADAGRAD;
  a->set_server_learning_rate(Or(a->server_learning_rate(), adaptive ? 0.01 : 1.0));
  a->set_server_momentum(Or(a->server_momentum(), 0.9));
  a->set_server_beta2(Or(a->server_beta2(), 0.99));
  a->set_server_tau(Or(a->server_tau(), 1e-3));
  v1::RoundSpec* r = spec.mutable_rounds();
  if (r->phase_deadline_seconds() == 0) r->set_phase_deadline_seconds(600);
  if (r->min_nodes() == 0) r->set_min_nodes(1);
  v1::SplitFractions* f = spec.mutable_splits();
  if (f->train() == 0 && f->validation() == 0 && f->test() == 0) {
    f->set_train(0.8);
    f->set_validation(0.1);
    f->set_test(0.1);
  }
  if (spec.loss() == v1::LOSS_KIND_UNSPECIFIED) spec.set_loss(v1::LOSS_KIND_CROSS_ENTROPY);
  return spec;
}

absl::Status ValidateRunSpec(const v1::RunSpec& spec) {
  Errors e;
  if (!IsHex64(spec.artifact_sha256())) {
    e.Add("artifact_sha256", "must be the 64 lower-case hex characters of the artifact's SHA-256");
  }
  const v1::InputSpec& in = spec.input();
  if (in.width() < 1 || in.width() > 4096) e.Add("input.width", "must be 1..4096");
  if (in.height() < 1 || in.height() > 4096) e.Add("input.height", "must be 1..4096");
  if (in.channels() != 1 && in.channels() != 3) e.Add("input.channels", "must be 1 or 3");
  if (in.has_window() && !(in.window().width() > 1)) e.Add("input.window.width", "must be > 1");
  if (spec.labels().empty()) e.Add("labels", "at least one label is required");
  std::set<std::string> labels(spec.labels().begin(), spec.labels().end());
  if (labels.size() != static_cast<size_t>(spec.labels_size())) e.Add("labels", "has duplicates");
  if (spec.loss() == v1::LOSS_KIND_CROSS_ENTROPY && spec.labels_size() < 2) {
    e.Add("loss", "cross-entropy needs at least two labels");
  }
  const v1::OptimizerSpec& o = spec.optimizer();
  if (o.kind() == v1::OptimizerSpec::KIND_UNSPECIFIED) {
    e.Add("optimizer.kind", "is required (SGD, ADAM or ADAMW)");
  }
  if (!(o.learning_rate() > 0) || !std::isfinite(o.learning_rate())) {
    e.Add("optimizer.learning_rate", "must be > 0");
  }
  if (o.weight_decay() < 0) e.Add("optimizer.weight_decay", "must be >= 0");
  if (o.momentum() < 0 || o.momentum() >= 1) e.Add("optimizer.momentum", "must be in [0, 1)");
  if (o.nesterov() && (o.kind() != v1::OptimizerSpec::SGD || o.momentum() <= 0)) {
    e.Add("optimizer.nesterov", "needs SGD with momentum > 0");
  }
  const v1::LocalTrainingSpec& l = spec.local();
  if (l.batch_size() < 1) e.Add("local.batch_size", "must be >= 1");
  if ((l.local_epochs() == 0) == (l.local_steps() == 0)) {
    e.Add("local", "set exactly one of local_epochs and local_steps");
  }
  if (l.fedprox_mu() < 0) e.Add("local.fedprox_mu", "must be >= 0");
  const v1::AggregationSpec& a = spec.aggregation();
  const bool robust = a.strategy() == v1::AggregationSpec::COORDINATE_MEDIAN ||
                      a.strategy() == v1::AggregationSpec::TRIMMED_MEAN;
  if (robust && spec.secure_aggregation()) {
    e.Add("aggregation.strategy",
          "coordinate median and trimmed mean need the individual updates, which secure "
          "aggregation hides; use FEDAVG or a server optimizer");
  }
  if (spec.secure_aggregation()) {
    const v1::SecureAggregationSpec& sa = spec.secure();
    if (!(sa.threshold_fraction() > 0 && sa.threshold_fraction() <= 1)) {
      e.Add("secure.threshold_fraction", "must be in (0, 1]");
    }
    if (!(sa.clip() > 0) || !std::isfinite(sa.clip())) e.Add("secure.clip", "must be finite and > 0");
    if (sa.max_nodes() < 3 || sa.max_nodes() > (1u << 16)) {
      e.Add("secure.max_nodes", "must be in 3 .. 65536");
    } else {
      const uint32_t headroom = static_cast<uint32_t>(std::ceil(std::log2(sa.max_nodes())));
      if (sa.bits() < 8 || sa.bits() + headroom > 32) {
        e.Add("secure.bits", absl::StrCat("must be in 8 .. ", 32 - headroom,
                                          " (32 bits minus the headroom for max_nodes ",
                                          sa.max_nodes(), ")"));
      }
      if (spec.rounds().nodes_per_round() > sa.max_nodes()) {
        e.Add("rounds.nodes_per_round", "must not exceed secure.max_nodes");
      }
    }
    if (sa.neighbours() != 0 && (sa.neighbours() < 4 || sa.neighbours() % 2 != 0)) {
      e.Add("secure.neighbours", "must be 0 (every node neighbours every other) or even and >= 4");
    }
    if (spec.rounds().min_nodes() < 3) {
      e.Add("rounds.min_nodes",
            "must be >= 3 with secure aggregation: in a sum of two updates each contributor "
            "learns the other's");
    }
  }
  if (a.trim_fraction() < 0 || a.trim_fraction() >= 0.5) {
    e.Add("aggregation.trim_fraction", "must be in [0, 0.5)");
  }
  if (!(a.server_learning_rate() > 0)) e.Add("aggregation.server_learning_rate", "must be > 0");
  if (a.server_momentum() < 0 || a.server_momentum() >= 1) {
    e.Add("aggregation.server_momentum", "must be in [0, 1)");
  }
  if (a.server_beta2() < 0 || a.server_beta2() >= 1) {
    e.Add("aggregation.server_beta2", "must be in [0, 1)");
  }
  if (!(a.server_tau() > 0)) e.Add("aggregation.server_tau", "must be > 0");
  const v1::RoundSpec& r = spec.rounds();
  if (r.rounds() < 1 || r.rounds() > 100000) e.Add("rounds.rounds", "must be 1..100000");
  if (r.min_nodes() < 1) e.Add("rounds.min_nodes", "must be >= 1");
  if (r.nodes_per_round() != 0 && r.nodes_per_round() < r.min_nodes()) {
    e.Add("rounds.nodes_per_round", "must be 0 (all) or >= min_nodes");
  }
  if (r.phase_deadline_seconds() < 1 || r.phase_deadline_seconds() > 7 * 24 * 3600) {
    e.Add("rounds.phase_deadline_seconds", "must be 1 s .. 7 days");
  }
  const v1::SplitFractions& f = spec.splits();
  if (f.train() < 0 || f.validation() < 0 || f.test() < 0 ||
      std::abs(f.train() + f.validation() + f.test() - 1) > 1e-6) {
    e.Add("splits", "fractions must be >= 0 and sum to 1");
  }
  if (f.train() == 0) e.Add("splits.train", "must be > 0");
  return e.ToStatus();
}

absl::StatusOr<std::string> RunId(const v1::RunSpec& spec) { return runs::RunId(spec); }

absl::StatusOr<v1::RunSpec> ParseRunSpec(const std::string& textproto) {
  v1::RunSpec spec;
  CollectErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(textproto, &spec) || !errors.errors.empty()) {
    return absl::InvalidArgumentError(
        errors.errors.empty() ? "cannot parse run spec" : absl::StrJoin(errors.errors, "\n"));
  }
  return spec;
}

}  // namespace tverr::coordinator
