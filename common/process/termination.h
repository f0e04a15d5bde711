// Orderly shutdown on SIGINT/SIGTERM for daemons: the signals are blocked in
// every thread and received by one dedicated thread, which runs a callback
// (so the callback may take locks, unlike a signal handler).
#ifndef TVERR_COMMON_PROCESS_TERMINATION_H_
#define TVERR_COMMON_PROCESS_TERMINATION_H_

#include <functional>

namespace tverr::process {

// Call at the start of main(), before any thread is created. Runs
// `on_signal` (once) on a background thread when SIGINT or SIGTERM arrives.
void OnTerminationSignal(std::function<void(int signal)> on_signal);

}  // namespace tverr::process

#endif  // TVERR_COMMON_PROCESS_TERMINATION_H_
