#include "tests/coordinator/flctl/audit_test_log.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace tverr::flctl::testing {
namespace {

// 64 hex characters derived from `seed` (not a real hash; stable).
std::string FakeHash(const std::string& seed) {
  uint64_t x = 1469598103934665603ULL;
  for (char c : seed) x = (x ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    out += absl::StrFormat("%016x", x);
  }
  return out;
}

class Builder {
 public:
  v1::AuditRecord& Add(v1::AuditEvent event, const std::string& actor,
                       v1::AuditOutcome outcome = v1::SUCCESS) {
    v1::AuditRecord& r = log_.records.emplace_back();
    r.set_schema_version(1);
    r.set_sequence(log_.records.size() - 1);
    if (log_.records.size() > 1) {
      r.set_previous_leaf_sha256(FakeHash(absl::StrCat("leaf", r.sequence() - 1)));
    }
    r.set_time(TimeAt(static_cast<int>(r.sequence())));
    r.mutable_actor()->set_identity(actor);
    if (actor.rfind("fl://", 0) == 0) {
      r.mutable_actor()->set_certificate_sha256(FakeHash("cert" + actor));
    }
    r.set_event(event);
    r.set_outcome(outcome);
    return r;
  }

  v1::AuditRecord& AddRun(v1::AuditEvent event, const std::string& actor, uint64_t round,
                          v1::AuditOutcome outcome = v1::SUCCESS) {
    v1::AuditRecord& r = Add(event, actor, outcome);
    r.set_run_id(kTestRunId);
    r.set_round(round);
    return r;
  }

  void Head(uint64_t round) {
    v1::AuditTreeHead& h = log_.tree_heads.emplace_back();
    h.set_tree_size(log_.records.size());
    h.set_root_sha256(FakeHash(absl::StrCat("root", log_.records.size())));
    h.set_time(TimeAt(static_cast<int>(log_.records.size())));
    h.set_run_id(kTestRunId);
    h.set_round(round);
    h.set_signature(FakeHash(absl::StrCat("sig", round)) + FakeHash(absl::StrCat("sig2", round)));
    h.set_key_id(FakeHash("audit key"));
  }

  TestAuditLog Take() { return std::move(log_); }

 private:
  static std::string TimeAt(int step) {
    const absl::Time t =
        absl::FromCivil(absl::CivilSecond(2026, 11, 26, 9, 0, 0), absl::UTCTimeZone()) +
        absl::Seconds(37 * step) + absl::Milliseconds(125);
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
  }

  TestAuditLog log_;
};

}  // namespace

std::string TestModelHash(int round) { return FakeHash(absl::StrCat("model", round)); }
std::string TestSessionId(int round) { return FakeHash(absl::StrCat("session", round)); }

TestAuditLog MakeTestAuditLog() {
  const std::vector<std::string> sites = {kOslo, kBergen, kTromso};
  Builder b;
  (*b.Add(v1::COORDINATOR_STARTED, "coordinator").mutable_parameters())["version"] = "0.1.0";
  for (const std::string& site : sites) b.Add(v1::NODE_JOINED, site);

  v1::AuditRecord& created = b.AddRun(v1::RUN_CREATED, kAlice, 0);
  created.mutable_hashes()->set_run_spec(kTestRunId);
  created.mutable_hashes()->set_artifact(FakeHash("artifact"));
  created.mutable_hashes()->set_global_after(TestModelHash(0));
  (*created.mutable_parameters())["name"] = "chest-xray <pilot>";

  v1::AuditRecord& privacy = b.AddRun(v1::PRIVACY_PARAMETERS, "coordinator", 0);
  auto& p = *privacy.mutable_parameters();
  p["strategy"] = "FEDAVG";
  p["rounds"] = "3";
  p["min_nodes"] = "3";
  p["secure_aggregation"] = "true";
  p["secure.threshold_fraction"] = "0.66";
  p["secure.clip"] = "10";
  p["secure.bits"] = "20";

  v1::AuditRecord& refused =
      b.AddRun(v1::JOB_REFUSED, "fl://nordic/node/stavanger", 0, v1::REFUSED);
  refused.set_reason("run hash not in the node's approved list");
  (*b.AddRun(v1::RUN_STARTED, kAlice, 0).mutable_parameters())["action"] = "started";
  b.Add(v1::AUTHENTICATION_FAILED, "unauthenticated", v1::FAILURE)
      .set_reason("certificate revoked (serial 1f)");

  const double pooled[] = {0.61, 0.72, 0.79};
  for (int round = 1; round <= 3; ++round) {
    v1::AuditRecord& opened = b.AddRun(v1::ROUND_OPENED, "coordinator", round);
    for (const std::string& site : sites) opened.add_nodes(site);
    opened.mutable_hashes()->set_global_before(TestModelHash(round - 1));
    (*opened.mutable_parameters())["secure.threshold"] = "2";

    std::vector<std::string> contributors;
    for (const std::string& site : sites) {
      if (round == 2 && site == kBergen) {
        v1::AuditRecord& rejected = b.AddRun(v1::UPDATE_REJECTED, site, round, v1::REFUSED);
        rejected.add_nodes(site);
        rejected.set_reason(kRejectReason);
        continue;
      }
      if (round == 3 && site == kTromso) {
        v1::AuditRecord& dropped = b.AddRun(v1::NODE_DROPPED, "coordinator", round);
        dropped.add_nodes(site);
        dropped.set_reason("no masked input before the deadline");
        continue;
      }
      v1::AuditRecord& accepted = b.AddRun(v1::UPDATE_ACCEPTED, site, round);
      accepted.add_nodes(site);
      accepted.set_bytes(4000000);
      accepted.mutable_hashes()->set_update(FakeHash(absl::StrCat("update", round, site)));
      contributors.push_back(site);
    }
    v1::AuditRecord& session = b.AddRun(v1::SECURE_SESSION, "coordinator", round);
    session.mutable_hashes()->set_secure_session(TestSessionId(round));
    for (const std::string& c : contributors) session.add_nodes(c);
    session.set_samples(1000 * contributors.size());

    v1::AuditRecord& committed = b.AddRun(v1::AGGREGATE_COMMITTED, "coordinator", round);
    committed.mutable_hashes()->set_run_spec(kTestRunId);
    committed.mutable_hashes()->set_global_before(TestModelHash(round - 1));
    committed.mutable_hashes()->set_global_after(TestModelHash(round));
    for (const std::string& c : contributors) committed.add_nodes(c);
    committed.set_samples(1000 * contributors.size());
    (*committed.mutable_parameters())["strategy"] = "FEDAVG";
    (*committed.mutable_parameters())["pooled_accuracy"] = absl::StrCat(pooled[round - 1]);
    for (size_t i = 0; i < sites.size(); ++i) {
      v1::AuditSiteMetrics* m = committed.add_metrics();
      m->set_site(sites[i]);
      m->set_samples(200 + 100 * i);
      m->set_accuracy(pooled[round - 1] - 0.05 + 0.05 * static_cast<double>(i));
      m->set_loss(1.0 / round + 0.1 * static_cast<double>(i));
    }
    b.Head(round);
    if (round == 2) {
      (*b.AddRun(v1::RUN_PAUSED, kAlice, 0).mutable_parameters())["action"] = "paused";
      v1::AuditRecord& denied =
          b.Add(v1::AUTHORIZATION_FAILED, "fl://nordic/researcher/bob", v1::REFUSED);
      denied.set_reason("role not allowed");
      (*denied.mutable_parameters())["method"] = "/tverr.v1.OperatorService/ListNodes";
      (*b.AddRun(v1::RUN_STARTED, kAlice, 0).mutable_parameters())["action"] = "continued";
    }
  }
  b.AddRun(v1::RUN_COMPLETED, "coordinator", 0);
  return b.Take();
}

namespace {

template <typename Message>
std::string Lines(const std::vector<Message>& messages) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  for (const Message& m : messages) {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(m, &json, options);
    absl::StrAppend(&out, json, "\n");
  }
  return out;
}

void Write(const std::string& path, const std::string& contents) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << contents;
}

}  // namespace

std::string ToJsonLines(const std::vector<v1::AuditRecord>& records) { return Lines(records); }
std::string ToJsonLines(const std::vector<v1::AuditTreeHead>& heads) { return Lines(heads); }

void WriteTestAuditLog(const std::string& dir, const TestAuditLog& log) {
  std::filesystem::create_directories(dir);
  Write(dir + "/records.jsonl", ToJsonLines(log.records));
  Write(dir + "/tree-heads.jsonl", ToJsonLines(log.tree_heads));
}

}  // namespace tverr::flctl::testing
