#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/time/clock.h"

namespace tverr::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // Unblock signals a parent (e.g. a test harness) may have blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execv(args[0], args.data());
    std::perror("execv");
    _exit(127);
  }
  return pid;
}

}  // namespace

Subprocess::Subprocess(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
  int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) std::abort();
  pid_ = Spawn(argv, fd);
  close(fd);
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && running()) Stop(SIGKILL, absl::Seconds(5));
}

bool Subprocess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    pid_ = -pid_;  // remember it ended
    return false;
  }
  return r == 0;
}

int Subprocess::Stop(int signal, absl::Duration timeout) {
  if (!running()) return status_;
  kill(pid_, signal);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status_, 0);
  pid_ = -pid_;
  return -1;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int RunProgram(const std::vector<std::string>& argv, std::string* output) {
  char path[] = "/tmp/tverr-run-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) std::abort();
  pid_t pid = Spawn(argv, fd);
  int status = 0;
  waitpid(pid, &status, 0);
  lseek(fd, 0, SEEK_SET);
  output->clear();
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) output->append(buf, static_cast<size_t>(n));
  close(fd);
  unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace tverr::testing
