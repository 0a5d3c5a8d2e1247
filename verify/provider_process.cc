#include "verify/provider_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace understudy {
namespace {

// The provider's process group, for the signal handler: a verifier stopped by SIGINT or SIGTERM
// (Ctrl-C, a CI timeout) takes its provider with it.
std::atomic<pid_t> provider_group{0};

void StopProviderAndExit(int signal) {
  pid_t group = provider_group.load();
  if (group > 0) kill(-group, SIGTERM);
  _exit(128 + signal);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProviderProcess>> ProviderProcess::Start(
    const std::string& command, std::chrono::milliseconds timeout) {
  int fds[2];
  // Close-on-exec: the setup hook and other children must not hold the provider's output open.
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // should the verifier die without a word
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    dup2(fds[1], STDOUT_FILENO);  // the duplicate is not close-on-exec
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  provider_group.store(pid);
  struct sigaction stop = {};
  stop.sa_handler = StopProviderAndExit;
  sigaction(SIGINT, &stop, nullptr);
  sigaction(SIGTERM, &stop, nullptr);
  close(fds[1]);
  auto process = std::unique_ptr<ProviderProcess>(new ProviderProcess());
  process->pid_ = pid;
  process->stdout_fd_ = fds[0];

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string pending;
  while (process->address_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "--start: no \"listening on HOST:PORT\" line from the provider within ", timeout.count(),
          " ms (--start-timeout)"));
    }
    char buffer[4096];
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) {
      return absl::UnavailableError("--start: the provider exited before it was listening");
    }
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t eol; (eol = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      absl::string_view rest = line;
      if (process->address_.empty() && absl::ConsumePrefix(&rest, "listening on ")) {
        process->address_ = std::string(absl::StripAsciiWhitespace(rest));
      } else {
        std::cerr << line << "\n";
      }
    }
  }
  std::cerr << pending;
  // Keep draining the provider's output so it never blocks on a full pipe; once stopping, a
  // quiet pipe ends it (a process that escaped the group may hold the pipe open forever).
  process->forwarder_ = std::thread([fd = fds[0], stopping = &process->stopping_] {
    char buffer[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      int ready = poll(&p, 1, 100);
      if (ready == 0) {
        if (stopping->load()) return;
        continue;
      }
      ssize_t n = ready > 0 ? read(fd, buffer, sizeof buffer) : -1;
      if (n <= 0) return;
      std::cerr.write(buffer, n);
    }
  });
  return process;
}

int ProviderProcess::Stop() {
  if (pid_ > 0) {
    kill(-pid_, SIGTERM);
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 10) {
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || done < 0) break;
      if (waited_ms == 5000) kill(-pid_, SIGKILL);
      usleep(10 * 1000);
    }
    kill(-pid_, SIGKILL);  // whatever of the group outlived its leader
    provider_group.store(0);
    exit_status_ = status;
    pid_ = -1;
  }
  stopping_.store(true);
  if (forwarder_.joinable()) forwarder_.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  return exit_status_;
}

ProviderProcess::~ProviderProcess() { Stop(); }

}  // namespace understudy

