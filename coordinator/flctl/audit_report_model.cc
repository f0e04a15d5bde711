#include "coordinator/flctl/audit_report_model.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace tverr::flctl {
namespace {

bool IsRunLifecycle(v1::AuditEvent e) {
  return e == v1::RUN_CREATED || e == v1::RUN_STARTED || e == v1::RUN_PAUSED ||
         e == v1::RUN_ABORTED || e == v1::RUN_COMPLETED || e == v1::RUN_FAILED;
}

// Events that describe one round of a run.
bool IsRoundEvent(v1::AuditEvent e) {
  return e == v1::ROUND_OPENED || e == v1::UPDATE_ACCEPTED || e == v1::UPDATE_REJECTED ||
         e == v1::NODE_DROPPED || e == v1::SECURE_SESSION || e == v1::AGGREGATE_COMMITTED ||
         e == v1::ROUND_FAILED || e == v1::EVALUATION_REPORTED;
}

bool IsSecurityEvent(const v1::AuditRecord& r) {
  switch (r.event()) {
    case v1::AUTHENTICATION_FAILED:
    case v1::AUTHORIZATION_FAILED:
    case v1::JOB_REFUSED:
    case v1::UPDATE_REJECTED:
      return true;
    default:
      return r.outcome() == v1::REFUSED;
  }
}

bool IsAdministration(v1::AuditEvent e) {
  return e == v1::COORDINATOR_STARTED || e == v1::CONFIGURATION_CHANGED || e == v1::NODE_JOINED ||
         e == v1::NODE_LEFT;
}

void AddUnique(std::vector<std::string>* list, const std::string& value) {
  if (value.empty()) return;
  if (std::find(list->begin(), list->end(), value) == list->end()) list->push_back(value);
}

void SetIfEmpty(std::string* field, const std::string& value) {
  if (field->empty()) *field = value;
}

AuditRunEvent RunEventOf(const v1::AuditRecord& r) {
  AuditRunEvent e;
  e.event = r.event();
  e.outcome = r.outcome();
  e.sequence = r.sequence();
  e.actor = r.actor().identity();
  e.time = r.time();
  e.reason = r.reason();
  auto action = r.parameters().find("action");
  if (action != r.parameters().end()) e.action = action->second;
  return e;
}

// Nodes a record is about: its `nodes`, or its actor when it names none.
std::vector<std::string> NodesOf(const v1::AuditRecord& r) {
  std::vector<std::string> nodes(r.nodes().begin(), r.nodes().end());
  if (nodes.empty() && !r.actor().identity().empty()) nodes.push_back(r.actor().identity());
  return nodes;
}

void CollectConsortium(const std::string& identity, std::set<std::string>* consortia) {
  constexpr absl::string_view kScheme = "fl://";
  if (!absl::StartsWith(identity, kScheme)) return;
  absl::string_view rest = absl::string_view(identity).substr(kScheme.size());
  std::string name(rest.substr(0, rest.find('/')));
  if (!name.empty()) consortia->insert(name);
}

class ViewBuilder {
 public:
  void Add(const v1::AuditRecord& r) {
    CollectConsortium(r.actor().identity(), &consortia_);
    for (const std::string& n : r.nodes()) CollectConsortium(n, &consortia_);
    if (IsSecurityEvent(r)) view_.security_events.push_back(r);
    if (IsAdministration(r.event())) view_.administration.push_back(r);
    if (r.run_id().empty()) return;
    AuditRunView& run = Run(r.run_id());
    SetIfEmpty(&run.artifact, r.hashes().artifact());
    const v1::AuditEvent e = r.event();
    if (IsRunLifecycle(e)) {
      run.lifecycle.push_back(RunEventOf(r));
      if (e == v1::RUN_CREATED) {
        Merge(r.parameters(), &run.parameters);
        SetIfEmpty(&run.initial_model, r.hashes().global_after());
      }
    } else if (e == v1::JOB_APPROVED || e == v1::JOB_REFUSED) {
      run.node_decisions.push_back(RunEventOf(r));
    } else if (e == v1::PRIVACY_PARAMETERS) {
      if (r.round() == 0) {
        Merge(r.parameters(), &run.parameters);
      } else {
        Merge(r.parameters(), &Round(r.run_id(), r.round()).privacy);
      }
    }
    if (IsRoundEvent(e)) AddRoundEvent(r, &Round(r.run_id(), r.round()));
  }

  AuditLogView Finish(const std::vector<v1::AuditTreeHead>& tree_heads) {
    view_.consortia.assign(consortia_.begin(), consortia_.end());
    for (size_t i = 0; i < order_.size(); ++i) {
      AuditRunView run = std::move(runs_[order_[i]]);
      for (auto& [number, round] : rounds_[order_[i]]) {
        FinishRound(order_[i], &round);
        run.rounds.push_back(std::move(round));
      }
      std::set<std::string> sites;
      for (const AuditRoundView& round : run.rounds) {
        for (const auto& [site, result] : round.sites) sites.insert(site);
      }
      run.sites.assign(sites.begin(), sites.end());
      for (const v1::AuditTreeHead& head : tree_heads) {
        if (head.run_id() != run.run_id) continue;
        for (AuditRoundView& round : run.rounds) {
          if (round.round == head.round()) round.tree_head = head;  // the last one wins
        }
      }
      CheckModelChain(&run);
      view_.runs.push_back(std::move(run));
    }
    return std::move(view_);
  }

  AuditLogView& view() { return view_; }

 private:
  static void Merge(const google::protobuf::Map<std::string, std::string>& from,
                    std::map<std::string, std::string>* to) {
    for (const auto& [key, value] : from) (*to)[key] = value;
  }

  AuditRunView& Run(const std::string& run_id) {
    auto [it, inserted] = runs_.try_emplace(run_id);
    if (inserted) {
      it->second.run_id = run_id;
      order_.push_back(run_id);
    }
    return it->second;
  }

  AuditRoundView& Round(const std::string& run_id, uint64_t number) {
    auto [it, inserted] = rounds_[run_id].try_emplace(number);
    if (inserted) it->second.round = number;
    return it->second;
  }

  void AddRoundEvent(const v1::AuditRecord& r, AuditRoundView* round) {
    SetIfEmpty(&round->secure_session, r.hashes().secure_session());
    auto threshold = r.parameters().find("secure.threshold");
    if (threshold != r.parameters().end()) round->secure_threshold = threshold->second;
    switch (r.event()) {
      case v1::ROUND_OPENED:
        round->opened_time = r.time();
        for (const std::string& n : r.nodes()) AddUnique(&round->participants, n);
        SetIfEmpty(&round->global_before, r.hashes().global_before());
        break;
      case v1::UPDATE_ACCEPTED:
        AddUnique(&round->accepted, r.actor().identity());
        break;
      case v1::SECURE_SESSION:
        session_nodes_[{r.run_id(), r.round()}].assign(r.nodes().begin(), r.nodes().end());
        if (round->samples == 0) round->samples = r.samples();
        break;
      case v1::UPDATE_REJECTED:
        round->rejected.push_back({r.actor().identity(), r.reason(), r.time()});
        break;
      case v1::NODE_DROPPED:
        for (const std::string& n : NodesOf(r))
          round->dropouts.push_back({n, r.reason(), r.time()});
        break;
      case v1::AGGREGATE_COMMITTED:
        round->committed_time = r.time();
        round->global_after = r.hashes().global_after();
        SetIfEmpty(&round->global_before, r.hashes().global_before());
        if (r.samples() > 0) round->samples = r.samples();
        committed_nodes_[{r.run_id(), r.round()}].assign(r.nodes().begin(), r.nodes().end());
        break;
      case v1::ROUND_FAILED:
        round->failed_time = r.time();
        round->failure_reason = r.reason();
        break;
      default:
        break;
    }
    for (const v1::AuditSiteMetrics& m : r.metrics()) {
      const std::string site = m.site().empty() ? r.actor().identity() : m.site();
      round->sites[site] = {m.samples(), m.accuracy(), m.loss()};
    }
    auto pooled = r.parameters().find("pooled_accuracy");
    double value = 0;
    if (pooled != r.parameters().end() && absl::SimpleAtod(pooled->second, &value)) {
      round->pooled_accuracy = value;
    }
  }

  void FinishRound(const std::string& run_id, AuditRoundView* round) {
    const std::pair<std::string, uint64_t> key{run_id, round->round};
    auto committed = committed_nodes_.find(key);
    auto session = session_nodes_.find(key);
    if (committed != committed_nodes_.end() && !committed->second.empty()) {
      round->contributors = committed->second;
    } else if (session != session_nodes_.end() && !session->second.empty()) {
      round->contributors = session->second;
    } else {
      round->contributors = round->accepted;
    }
    if (!round->pooled_accuracy.has_value() && !round->sites.empty()) {
      double weighted = 0;
      double total = 0;
      for (const auto& [site, result] : round->sites) {
        weighted += result.accuracy * static_cast<double>(result.samples);
        total += static_cast<double>(result.samples);
      }
      if (total > 0) {
        round->pooled_accuracy = weighted / total;
        round->pooled_accuracy_computed = true;
      }
    }
  }

  static void CheckModelChain(AuditRunView* run) {
    std::string expected = run->initial_model;  // empty: not known
    uint64_t expected_from = 0;
    for (AuditRoundView& round : run->rounds) {
      if (!expected.empty() && !round.global_before.empty() && round.global_before != expected) {
        round.follows_previous = false;
        round.previous_round = expected_from;
      }
      if (!round.global_after.empty()) {
        expected = round.global_after;
        expected_from = round.round;
      }
    }
  }

  AuditLogView view_;
  std::set<std::string> consortia_;
  std::vector<std::string> order_;
  std::map<std::string, AuditRunView> runs_;
  std::map<std::string, std::map<uint64_t, AuditRoundView>> rounds_;
  // The nodes a commit and a secure session name, by (run, round).
  std::map<std::pair<std::string, uint64_t>, std::vector<std::string>> committed_nodes_;
  std::map<std::pair<std::string, uint64_t>, std::vector<std::string>> session_nodes_;
};

}  // namespace

AuditLogView BuildAuditLogView(const std::vector<v1::AuditRecord>& records,
                               const std::vector<v1::AuditTreeHead>& tree_heads) {
  ViewBuilder builder;
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::AuditRecord& r = records[i];
    if (r.sequence() != i && builder.view().misplaced_sequences.size() < 5) {
      builder.view().misplaced_sequences.push_back(r.sequence());
    }
    builder.Add(r);
  }
  builder.view().record_count = records.size();
  if (!records.empty()) {
    builder.view().first_time = records.front().time();
    builder.view().last_time = records.back().time();
  }
  return builder.Finish(tree_heads);
}

std::optional<std::string> FindAuditParameter(const std::map<std::string, std::string>& params,
                                              const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    auto exact = params.find(name);
    if (exact != params.end()) return exact->second;
    for (const auto& [key, value] : params) {
      if (absl::EndsWith(key, "." + name)) return value;
    }
  }
  return std::nullopt;
}

}  // namespace tverr::flctl
