// What `flctl run watch` draws for the round in progress: a bar for the
// round (updates in, of the participants) and one per node (training steps,
// upload bytes, evaluation examples, as far as they are known), plus the
// state changes worth a log line when the output is not a terminal.
// Pure functions of the status, so they are tested without a coordinator.
#ifndef TVERR_COORDINATOR_FLCTL_PROGRESS_VIEW_H_
#define TVERR_COORDINATOR_FLCTL_PROGRESS_VIEW_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tverr/v1/researcher.pb.h"

namespace tverr::flctl {

// `[#####-----]` of `width` cells for `fraction` (clamped to 0..1).
std::string Bar(double fraction, int width);

// The lines of the progress block for `status.current()` at `now` (empty
// when no round is in progress). Node names are shortened to their last
// path segment.
std::vector<std::string> RenderRoundProgress(const v1::RunStatus& status, absl::Time now);

// For plain (non-terminal) output: one line per node whose state changed
// since `seen` (site -> "round:state"), which is updated.
std::vector<std::string> StateChanges(const v1::RunStatus& status,
                                      std::map<std::string, std::string>* seen);

}  // namespace tverr::flctl

#endif  // TVERR_COORDINATOR_FLCTL_PROGRESS_VIEW_H_
