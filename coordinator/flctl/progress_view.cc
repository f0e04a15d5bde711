#include "coordinator/flctl/progress_view.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tverr::flctl {
namespace {

constexpr int kBarWidth = 24;

std::string ShortName(const std::string& site) {
  const size_t slash = site.rfind('/');
  return slash == std::string::npos ? site : site.substr(slash + 1);
}

std::string Megabytes(uint64_t bytes) {
  return absl::StrFormat("%.1f", static_cast<double>(bytes) / 1e6);
}

// The fraction of the node's work for the round and a detail text.
std::pair<double, std::string> NodeFraction(const v1::NodeProgress& n) {
  const std::string& state = n.state();
  if (state == "dropped") return {0, n.reason()};
  if (state == "submitted" || state == "evaluated") return {1, ""};
  if (state == "evaluating" && n.eval_total() > 0) {
    return {static_cast<double>(n.eval_done()) / static_cast<double>(n.eval_total()),
            absl::StrCat(n.eval_done(), "/", n.eval_total(), " examples")};
  }
  if (state == "uploading" && n.upload_total() > 0) {
    return {static_cast<double>(n.upload_done()) / static_cast<double>(n.upload_total()),
            absl::StrCat(Megabytes(n.upload_done()), "/", Megabytes(n.upload_total()), " MB")};
  }
  if (state == "training" && n.train_total() > 0) {
    return {static_cast<double>(n.train_done()) / static_cast<double>(n.train_total()),
            absl::StrCat(n.train_done(), "/", n.train_total(), " steps")};
  }
  return {0, ""};
}

}  // namespace

std::string Bar(double fraction, int width) {
  if (!(fraction >= 0)) fraction = 0;  // NaN too
  fraction = std::min(fraction, 1.0);
  const int filled = static_cast<int>(fraction * width + 0.5);
  return absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '-'), "]");
}

std::vector<std::string> RenderRoundProgress(const v1::RunStatus& status, absl::Time now) {
  std::vector<std::string> lines;
  if (!status.has_current()) return lines;
  const v1::RoundProgress& round = status.current();
  int in = 0, expected = 0;
  size_t name_width = 4;
  for (const v1::NodeProgress& n : round.nodes()) {
    name_width = std::max(name_width, ShortName(n.site()).size());
    if (n.state() == "dropped") continue;
    ++expected;
    if (n.state() == "submitted" || n.state() == "evaluating" || n.state() == "evaluated") ++in;
  }
  std::string deadline;
  if (round.deadline_unix_millis() > 0) {
    const absl::Duration left =
        std::max(absl::ZeroDuration(), absl::FromUnixMillis(round.deadline_unix_millis()) - now);
    deadline = absl::StrCat(", deadline in ", absl::FormatDuration(absl::Trunc(left, absl::Seconds(1))));
  }
  lines.push_back(absl::StrFormat("round %d/%d  %-11s %s %d/%d updates%s", round.round(),
                                  status.total_rounds(), round.phase(),
                                  Bar(expected > 0 ? static_cast<double>(in) / expected : 0,
                                      kBarWidth),
                                  in, expected, deadline));
  for (const v1::NodeProgress& n : round.nodes()) {
    const auto [fraction, detail] = NodeFraction(n);
    lines.push_back(absl::StrFormat("  %-*s %-11s %s %3d%%  %s", static_cast<int>(name_width),
                                    ShortName(n.site()), n.state(), Bar(fraction, kBarWidth),
                                    static_cast<int>(fraction * 100 + 0.5), detail));
  }
  return lines;
}

std::vector<std::string> StateChanges(const v1::RunStatus& status,
                                      std::map<std::string, std::string>* seen) {
  std::vector<std::string> lines;
  if (!status.has_current()) return lines;
  for (const v1::NodeProgress& n : status.current().nodes()) {
    const std::string key = absl::StrCat(status.current().round(), ":", n.state());
    std::string& last = (*seen)[n.site()];
    if (last == key) continue;
    last = key;
    lines.push_back(absl::StrCat("round ", status.current().round(), ": ", ShortName(n.site()),
                                 " ", n.state(), n.reason().empty() ? "" : ": ", n.reason()));
  }
  return lines;
}

}  // namespace tverr::flctl
