// Starting and stopping real program processes in integration tests.
// stdout and stderr go to a log file the test can read.
#ifndef TVERR_TESTS_SUPPORT_SUBPROCESS_H_
#define TVERR_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace tverr::testing {

class Subprocess {
 public:
  // Starts argv[0] (a path) with `argv`, output appended to `log_path`.
  Subprocess(std::vector<std::string> argv, std::string log_path);
  ~Subprocess();  // SIGKILLs the process if it still runs.

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `signal` and waits up to `timeout` for exit; returns the exit
  // status as from waitpid, or -1 on timeout (the process is then killed).
  int Stop(int signal, absl::Duration timeout = absl::Seconds(10));
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string log_path_;
};

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

// Runs a program to completion; returns its exit code and fills `output`
// with stdout+stderr.
int RunProgram(const std::vector<std::string>& argv, std::string* output);

}  // namespace tverr::testing

#endif  // TVERR_TESTS_SUPPORT_SUBPROCESS_H_
