#include "coordinator/round/round_summary.h"

#include "absl/strings/str_cat.h"

namespace tverr::coordinator {

v1::RoundSummary ToRoundSummary(const RoundRecord& r) {
  v1::RoundSummary s;
  s.set_round(r.round);
  for (const std::string& c : r.contributors) s.add_contributors(c);
  for (const auto& [node, reason] : r.dropped) s.add_dropped(absl::StrCat(node, ": ", reason));
  s.set_samples(r.samples);
  s.set_mean_train_loss(r.mean_train_loss);
  s.set_global_sha256(r.global_sha256);
  s.set_evaluated(r.evaluated);
  s.set_pooled_accuracy(r.pooled_accuracy);
  s.set_evaluation_samples(r.evaluation_samples);
  s.set_duration_seconds(r.duration_seconds);
  s.set_max_train_seconds(r.max_train_seconds);
  s.set_secure_session_id(r.secure_session);
  for (const auto& [node, e] : r.evaluations) {  // std::map: sorted by identity
    v1::SiteMetrics* m = s.add_sites();
    m->set_site(node);
    m->set_samples(e.samples());
    m->set_loss(e.loss());
    m->set_accuracy(e.accuracy());
    *m->mutable_sensitivity() = e.sensitivity();
    *m->mutable_specificity() = e.specificity();
    m->set_has_roc_auc(e.has_roc_auc());
    m->set_roc_auc(e.roc_auc());
  }
  return s;
}

RoundRecord FromRoundSummary(const std::string& run_id, const v1::RoundSummary& s) {
  RoundRecord r;
  r.round = s.round();
  r.contributors.assign(s.contributors().begin(), s.contributors().end());
  for (const std::string& d : s.dropped()) {
    const size_t at = d.find(": ");
    if (at == std::string::npos) {
      r.dropped[d] = "";
    } else {
      r.dropped[d.substr(0, at)] = d.substr(at + 2);
    }
  }
  r.samples = s.samples();
  r.mean_train_loss = s.mean_train_loss();
  r.global_sha256 = s.global_sha256();
  r.evaluated = s.evaluated();
  r.pooled_accuracy = s.pooled_accuracy();
  r.evaluation_samples = s.evaluation_samples();
  r.duration_seconds = s.duration_seconds();
  r.max_train_seconds = s.max_train_seconds();
  r.secure_session = s.secure_session_id();
  for (const v1::SiteMetrics& m : s.sites()) {
    v1::EvaluationReport& e = r.evaluations[m.site()];
    e.set_run_id(run_id);
    e.set_round(s.round());
    e.set_samples(m.samples());
    e.set_loss(m.loss());
    e.set_accuracy(m.accuracy());
    *e.mutable_sensitivity() = m.sensitivity();
    *e.mutable_specificity() = m.specificity();
    e.set_has_roc_auc(m.has_roc_auc());
    e.set_roc_auc(m.roc_auc());
  }
  return r;
}

}  // namespace tverr::coordinator
