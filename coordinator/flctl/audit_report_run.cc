// One run's section of the audit report: who did what to the run, its
// strategy and privacy settings, the rounds, and the evaluation metrics.
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/flctl/audit_chart.h"
#include "coordinator/flctl/audit_report_parts.h"

namespace tverr::flctl::report {
namespace {

std::string Nodes(const std::vector<std::string>& nodes) {
  if (nodes.empty()) return Missing();
  std::vector<std::string> parts;
  for (const std::string& n : nodes) parts.push_back(Identity(n));
  return absl::StrCat("<span class=\"count\">", nodes.size(), ":</span> ",
                      absl::StrJoin(parts, ", "));
}

std::string Text(const std::string& text) { return text.empty() ? Missing() : HtmlEscape(text); }

std::optional<bool> Truthy(const std::optional<std::string>& value) {
  if (!value.has_value()) return std::nullopt;
  const std::string v = absl::AsciiStrToLower(*value);
  if (v == "true" || v == "1" || v == "on" || v == "yes" || v == "enabled") return true;
  if (v == "false" || v == "0" || v == "off" || v == "no" || v == "disabled") return false;
  return std::nullopt;
}

std::string Lifecycle(const AuditRunView& run) {
  if (run.lifecycle.empty()) {
    return "<p class=\"muted\">No run events (created, started, ...) in this log.</p>\n";
  }
  std::string html =
      "<table class=\"lifecycle\">\n<thead><tr><th>When (UTC)</th><th>Event</th><th>Who</th>"
      "<th>Outcome</th><th>Reason</th><th>Record</th></tr></thead>\n<tbody>\n";
  for (const AuditRunEvent& e : run.lifecycle) {
    // "continued" says more than "Run started"; "started" says nothing more.
    const bool says_more =
        !e.action.empty() &&
        !absl::EndsWith(v1::AuditEvent_Name(e.event), "_" + absl::AsciiStrToUpper(e.action));
    absl::StrAppend(
        &html, "<tr class=\"lifecycle-row\"><td>", Time(e.time), "</td><td>", Event(e.event),
        says_more ? " <span class=\"muted\">(" + HtmlEscape(e.action) + ")</span>" : "",
        "</td><td>", Identity(e.actor), "</td><td>", Outcome(e.outcome), "</td><td>",
        Text(e.reason), "</td><td>#", e.sequence, "</td></tr>\n");
  }
  return html + "</tbody></table>\n";
}

// The settings an auditor looks for first, then every recorded parameter.
std::string Parameters(const AuditRunView& run) {
  const auto& p = run.parameters;
  std::string html = "<dl class=\"facts key-facts\">\n";
  auto fact = [&html](const std::string& name, const std::string& value_html) {
    absl::StrAppend(&html, "<dt>", HtmlEscape(name), "</dt><dd>", value_html, "</dd>\n");
  };
  auto optional_fact = [&](const std::string& name, const std::vector<std::string>& keys) {
    if (auto v = FindAuditParameter(p, keys)) fact(name, HtmlEscape(*v));
  };
  fact("Strategy", Text(FindAuditParameter(p, {"strategy"}).value_or("")));
  optional_fact("Server optimizer", {"server_optimizer"});
  optional_fact("Server learning rate", {"server_learning_rate"});
  optional_fact("FedProx \xCE\xBC", {"fedprox_mu"});
  optional_fact("Rounds planned", {"rounds"});
  optional_fact("Minimum nodes", {"min_nodes"});
  optional_fact("Nodes per round", {"nodes_per_round"});

  std::optional<bool> secure =
      Truthy(FindAuditParameter(p, {"secure_aggregation", "secure.enabled", "secagg.enabled"}));
  bool sessions = false;
  for (const AuditRoundView& r : run.rounds) sessions = sessions || !r.secure_session.empty();
  std::string secure_html;
  if (secure.has_value()) {
    secure_html = *secure ? "<span class=\"tag ok\">on</span>" : "<span class=\"tag\">off</span>";
    if (!*secure && sessions) {
      absl::StrAppend(&secure_html,
                      " <span class=\"bad\">but secure sessions are recorded for rounds</span>");
    }
  } else if (sessions) {
    secure_html =
        "<span class=\"tag ok\">on</span> <span class=\"muted\">(secure sessions "
        "recorded; the setting itself is not)</span>";
  } else {
    secure_html = "<span class=\"muted\">not recorded</span>";
  }
  fact("Secure aggregation", secure_html);
  optional_fact("Secure threshold (fraction of nodes)", {"threshold_fraction"});
  optional_fact("Secure threshold (nodes)", {"threshold"});
  optional_fact("Clip (L2 norm)", {"clip", "clip_norm"});
  optional_fact("Quantisation bits", {"bits"});
  optional_fact("Max nodes per session", {"max_nodes"});
  optional_fact("DP noise multiplier", {"noise_multiplier"});
  optional_fact("DP target epsilon", {"epsilon", "target_epsilon"});
  optional_fact("DP delta", {"delta"});
  html += "</dl>\n";

  if (p.empty()) {
    return html + "<p class=\"muted\">No parameters were recorded for this run.</p>\n";
  }
  html += "<details class=\"all-parameters\" open><summary>All recorded parameters (" +
          absl::StrCat(p.size()) +
          ")</summary>\n<table class=\"parameters\">\n<thead><tr><th>Parameter</th><th>Value</th>"
          "</tr></thead>\n<tbody>\n";
  for (const auto& [key, value] : p) {
    absl::StrAppend(&html, "<tr><td><code>", HtmlEscape(key), "</code></td><td>", HtmlEscape(value),
                    "</td></tr>\n");
  }
  return html + "</tbody></table></details>\n";
}

std::string NodeDecisions(const AuditRunView& run) {
  if (run.node_decisions.empty()) return "";
  std::string html =
      "<h3>Hospitals' decisions</h3>\n<table class=\"decisions\">\n<thead><tr><th>When (UTC)"
      "</th><th>Hospital node</th><th>Decision</th><th>Reason</th></tr></thead>\n<tbody>\n";
  for (const AuditRunEvent& e : run.node_decisions) {
    absl::StrAppend(&html, "<tr class=\"decision-row\"><td>", Time(e.time), "</td><td>",
                    Identity(e.actor), "</td><td>", Event(e.event), "</td><td>", Text(e.reason),
                    "</td></tr>\n");
  }
  return html + "</tbody></table>\n";
}

std::string Reasons(const std::vector<AuditNodeReason>& list, const char* css_class,
                    const char* what) {
  std::string html;
  for (const AuditNodeReason& d : list) {
    absl::StrAppend(&html, "<div class=\"", css_class, "\">", Identity(d.node),
                    " <span class=\"muted\">", what, "</span>",
                    d.reason.empty() ? "" : ": " + HtmlEscape(d.reason), "</div>");
  }
  return html;
}

std::string Rounds(const AuditRunView& run, const std::string& anchor) {
  if (run.rounds.empty()) {
    return "<p class=\"muted\">No rounds were recorded for this run.</p>\n";
  }
  std::string html =
      absl::StrCat("<table class=\"rounds\" id=\"rounds-", anchor,
                   "\">\n<thead><tr><th>Round</th><th>Opened (UTC)</th><th>Participants</th>"
                   "<th>Contributors</th><th>Dropouts and rejections</th><th>Samples</th>"
                   "<th>Global model before \xE2\x86\x92 after</th><th>Secure session</th>"
                   "<th>Committed (UTC)</th><th>Signed tree head</th></tr></thead>\n<tbody>\n");
  for (const AuditRoundView& r : run.rounds) {
    std::string problems = Reasons(r.dropouts, "dropout", "dropped") +
                           Reasons(r.rejected, "rejected", "update rejected");
    std::string models =
        absl::StrCat(Hash(r.global_before), " \xE2\x86\x92 ", Hash(r.global_after));
    if (!r.follows_previous) {
      absl::StrAppend(&models, "<div class=\"bad\">does not start from ",
                      r.previous_round == 0 ? std::string("the run's initial model")
                                            : absl::StrCat("round ", r.previous_round, "'s model"),
                      "</div>");
    }
    std::string committed;
    if (!r.committed_time.empty()) {
      committed = Time(r.committed_time);
    } else if (!r.failed_time.empty()) {
      committed =
          absl::StrCat("<span class=\"bad\">failed</span> ", Time(r.failed_time),
                       r.failure_reason.empty()
                           ? ""
                           : "<div class=\"bad\">" + HtmlEscape(r.failure_reason) + "</div>");
    } else {
      committed = "<span class=\"muted\">not committed</span>";
    }
    std::string head = Missing();
    if (r.tree_head.has_value()) {
      head =
          absl::StrCat("size ", r.tree_head->tree_size(), "<br>", Hash(r.tree_head->root_sha256()));
    }
    std::string row_class = "round-row";
    if (!r.follows_previous) row_class += " chain-break";
    if (r.committed_time.empty()) row_class += " uncommitted";
    absl::StrAppend(&html, "<tr class=\"", row_class, "\" data-round=\"", r.round, "\"><td>",
                    r.round, "</td><td>", Time(r.opened_time), "</td><td>", Nodes(r.participants),
                    "</td><td>", Nodes(r.contributors), "</td><td>",
                    problems.empty() ? "<span class=\"muted\">none</span>" : problems, "</td><td>",
                    r.samples > 0 ? Count(r.samples) : Missing(), "</td><td>", models, "</td><td>",
                    Hash(r.secure_session),
                    r.secure_threshold.empty() ? ""
                                               : "<div class=\"muted\">threshold " +
                                                     HtmlEscape(r.secure_threshold) + "</div>",
                    "</td><td>", committed, "</td><td>", head, "</td></tr>\n");
  }
  return html + "</tbody></table>\n";
}

std::string Metrics(const AuditRunView& run, const std::string& anchor) {
  bool any = false;
  bool computed = false;
  for (const AuditRoundView& r : run.rounds) {
    any = any || r.pooled_accuracy.has_value() || !r.sites.empty();
    computed = computed || r.pooled_accuracy_computed;
  }
  if (!any) return "<p class=\"muted\">No evaluation metrics were recorded for this run.</p>\n";

  ChartSeries pooled{"Pooled accuracy", "", {}};
  std::vector<ChartSeries> sites;
  for (const std::string& site : run.sites) sites.push_back({site, ShortIdentity(site), {}});
  for (const AuditRoundView& r : run.rounds) {
    const double x = static_cast<double>(r.round);
    if (r.pooled_accuracy.has_value()) pooled.points.emplace_back(x, *r.pooled_accuracy);
    for (size_t i = 0; i < run.sites.size(); ++i) {
      auto it = r.sites.find(run.sites[i]);
      if (it != r.sites.end()) sites[i].points.emplace_back(x, it->second.accuracy);
    }
  }
  LineChartOptions pooled_options;
  pooled_options.id = "accuracy-chart-" + anchor;
  pooled_options.css_class = "accuracy-chart";
  pooled_options.title = "Pooled validation accuracy per round";
  pooled_options.x_label = "Round";
  pooled_options.y_label = "Accuracy";
  LineChartOptions site_options = pooled_options;
  site_options.id = "site-chart-" + anchor;
  site_options.css_class = "site-chart";
  site_options.title = "Validation accuracy per site";
  site_options.legend = true;

  std::string html = absl::StrCat(
      "<div class=\"charts\">\n<figure>", RenderLineChartSvg({pooled}, pooled_options),
      "<figcaption>Accuracy of the global model on all sites' validation data together",
      computed ? " (rounds marked * in the table: computed here from the sites' results, "
                 "weighted by samples)"
               : "",
      ".</figcaption></figure>\n<figure>", RenderLineChartSvg(sites, site_options),
      "<figcaption>Accuracy of the global model on each site's own validation data: a site "
      "well below the others may be poorly served by the model.</figcaption></figure>\n"
      "</div>\n");

  absl::StrAppend(&html, "<table class=\"site-metrics\" id=\"site-metrics-", anchor,
                  "\">\n<thead><tr><th>Round</th><th>Pooled</th>");
  for (const std::string& site : run.sites) {
    absl::StrAppend(&html, "<th>", Identity(site), "</th>");
  }
  html += "</tr></thead>\n<tbody>\n";
  for (const AuditRoundView& r : run.rounds) {
    if (!r.pooled_accuracy.has_value() && r.sites.empty()) continue;
    absl::StrAppend(&html, "<tr class=\"metrics-row\"><td>", r.round, "</td><td>",
                    r.pooled_accuracy.has_value()
                        ? Percent(*r.pooled_accuracy) + (r.pooled_accuracy_computed ? " *" : "")
                        : Missing(),
                    "</td>");
    for (const std::string& site : run.sites) {
      auto it = r.sites.find(site);
      if (it == r.sites.end()) {
        absl::StrAppend(&html, "<td>", Missing(), "</td>");
        continue;
      }
      absl::StrAppend(&html, "<td title=\"loss ", absl::StrFormat("%.4f", it->second.loss), "\">",
                      Percent(it->second.accuracy),
                      " <span class=\"muted\">(n=", Count(it->second.samples), ")</span></td>");
    }
    html += "</tr>\n";
  }
  return html + "</tbody></table>\n";
}

// PRIVACY_PARAMETERS recorded per round (e.g. the privacy loss so far).
std::string RoundPrivacy(const AuditRunView& run) {
  std::set<std::string> keys;
  for (const AuditRoundView& r : run.rounds) {
    for (const auto& [key, value] : r.privacy) keys.insert(key);
  }
  if (keys.empty()) return "";
  std::string html =
      "<h3>Privacy per round</h3>\n<table class=\"round-privacy\">\n<thead><tr>"
      "<th>Round</th>";
  for (const std::string& key : keys)
    absl::StrAppend(&html, "<th><code>", HtmlEscape(key), "</code></th>");
  html += "</tr></thead>\n<tbody>\n";
  for (const AuditRoundView& r : run.rounds) {
    if (r.privacy.empty()) continue;
    absl::StrAppend(&html, "<tr><td>", r.round, "</td>");
    for (const std::string& key : keys) {
      auto it = r.privacy.find(key);
      absl::StrAppend(&html, "<td>", it == r.privacy.end() ? Missing() : HtmlEscape(it->second),
                      "</td>");
    }
    html += "</tr>\n";
  }
  return html + "</tbody></table>\n";
}

}  // namespace

std::string RenderRunSection(const AuditRunView& run) {
  const std::string anchor = RunAnchor(run.run_id);
  const std::string state = RunState(run);
  const std::string name = FindAuditParameter(run.parameters, {"name", "run_name"}).value_or("");
  size_t committed = 0;
  for (const AuditRoundView& r : run.rounds) committed += r.committed_time.empty() ? 0 : 1;

  std::string html = absl::StrCat(
      "<section class=\"run\" id=\"run-", anchor, "\">\n<h2>Run ",
      HtmlEscape(run.run_id.substr(0, 16)), name.empty() ? "" : " \xE2\x80\x94 " + HtmlEscape(name),
      " <span class=\"tag state-", state, "\">", state, "</span></h2>\n",
      "<dl class=\"facts\">\n<dt>Run id (spec hash)</dt><dd><code class=\"full-hash\">",
      HtmlEscape(run.run_id), "</code></dd>\n<dt>Model artifact</dt><dd>",
      run.artifact.empty() ? Missing()
                           : "<code class=\"full-hash\">" + HtmlEscape(run.artifact) + "</code>",
      "</dd>\n<dt>Initial model</dt><dd>",
      run.initial_model.empty()
          ? Missing()
          : "<code class=\"full-hash\">" + HtmlEscape(run.initial_model) + "</code>",
      "</dd>\n<dt>Rounds</dt><dd>", committed, " committed of ", run.rounds.size(),
      " recorded</dd>\n<dt>Sites with metrics</dt><dd>", run.sites.size(), "</dd>\n</dl>\n");
  absl::StrAppend(&html, "<h3>Who did what</h3>\n", Lifecycle(run));
  absl::StrAppend(&html, "<h3>Strategy and privacy</h3>\n", Parameters(run));
  absl::StrAppend(&html, NodeDecisions(run));
  absl::StrAppend(&html, "<h3>Rounds</h3>\n", Rounds(run, anchor));
  absl::StrAppend(&html, RoundPrivacy(run));
  absl::StrAppend(&html, "<h3>Evaluation metrics</h3>\n", Metrics(run, anchor));
  return html + "</section>\n";
}

}  // namespace tverr::flctl::report
