#include "coordinator/round/round_summary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tverr::coordinator {
namespace {

RoundRecord Record() {
  RoundRecord r;
  r.round = 4;
  r.contributors = {"fl://c/node/a", "fl://c/node/b"};
  r.dropped = {{"fl://c/node/c", "missed the deadline: 60 s"}, {"fl://c/node/d", ""}};
  r.samples = 1234;
  r.mean_train_loss = 0.42;
  r.global_sha256 = "ab12";
  r.evaluated = true;
  r.pooled_accuracy = 0.8;
  r.evaluation_samples = 100;
  r.duration_seconds = 7.5;
  r.max_train_seconds = 6.25;
  r.secure_session = "cafe";
  for (const char* site : {"fl://c/node/b", "fl://c/node/a"}) {
    v1::EvaluationReport& e = r.evaluations[site];
    e.set_run_id("run-1");
    e.set_round(4);
    e.set_samples(50);
    e.set_loss(0.3);
    e.set_accuracy(0.8);
    e.add_sensitivity(0.9);
    e.add_sensitivity(std::numeric_limits<double>::quiet_NaN());
    e.add_specificity(0.7);
    e.set_has_roc_auc(true);
    e.set_roc_auc(0.88);
  }
  return r;
}

TEST(RoundSummary, CarriesEveryFieldSitesSorted) {
  const v1::RoundSummary s = ToRoundSummary(Record());
  EXPECT_EQ(s.round(), 4u);
  ASSERT_EQ(s.dropped_size(), 2);
  EXPECT_EQ(s.dropped(0), "fl://c/node/c: missed the deadline: 60 s");
  EXPECT_EQ(s.dropped(1), "fl://c/node/d: ");
  EXPECT_DOUBLE_EQ(s.duration_seconds(), 7.5);
  EXPECT_DOUBLE_EQ(s.max_train_seconds(), 6.25);
  EXPECT_EQ(s.secure_session_id(), "cafe");
  ASSERT_EQ(s.sites_size(), 2);
  EXPECT_EQ(s.sites(0).site(), "fl://c/node/a");
  EXPECT_EQ(s.sites(1).site(), "fl://c/node/b");
  EXPECT_TRUE(std::isnan(s.sites(0).sensitivity(1)));
  EXPECT_DOUBLE_EQ(s.sites(0).roc_auc(), 0.88);
}

TEST(RoundSummary, RoundTripsThroughTheSummary) {
  const RoundRecord original = Record();
  // As the run store keeps it: serialized and parsed back.
  v1::RoundSummary stored;
  ASSERT_TRUE(stored.ParseFromString(ToRoundSummary(original).SerializeAsString()));
  const RoundRecord back = FromRoundSummary("run-1", stored);
  EXPECT_EQ(back.round, original.round);
  EXPECT_EQ(back.contributors, original.contributors);
  EXPECT_EQ(back.dropped, original.dropped);
  EXPECT_EQ(back.samples, original.samples);
  EXPECT_EQ(back.mean_train_loss, original.mean_train_loss);
  EXPECT_EQ(back.global_sha256, original.global_sha256);
  EXPECT_EQ(back.evaluated, original.evaluated);
  EXPECT_EQ(back.pooled_accuracy, original.pooled_accuracy);
  EXPECT_EQ(back.evaluation_samples, original.evaluation_samples);
  EXPECT_EQ(back.duration_seconds, original.duration_seconds);
  EXPECT_EQ(back.max_train_seconds, original.max_train_seconds);
  EXPECT_EQ(back.secure_session, original.secure_session);
  ASSERT_EQ(back.evaluations.size(), 2u);
  for (const auto& [site, e] : original.evaluations) {
    SCOPED_TRACE(site);
    const v1::EvaluationReport& b = back.evaluations.at(site);
    EXPECT_EQ(b.run_id(), "run-1");
    EXPECT_EQ(b.round(), 4u);
    EXPECT_EQ(b.samples(), e.samples());
    EXPECT_EQ(b.accuracy(), e.accuracy());
    EXPECT_EQ(b.loss(), e.loss());
    ASSERT_EQ(b.sensitivity_size(), 2);
    EXPECT_EQ(b.sensitivity(0), 0.9);
    EXPECT_TRUE(std::isnan(b.sensitivity(1)));
    EXPECT_EQ(b.specificity(0), 0.7);
    EXPECT_TRUE(b.has_roc_auc());
    EXPECT_EQ(b.roc_auc(), 0.88);
  }
}

TEST(RoundSummary, DroppedEntryWithoutReasonKeepsTheText) {
  v1::RoundSummary s;
  s.add_dropped("fl://c/node/x");
  EXPECT_EQ(FromRoundSummary("r", s).dropped.at("fl://c/node/x"), "");
}

}  // namespace
}  // namespace tverr::coordinator
