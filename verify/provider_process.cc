#include "verify/provider_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace understudy {

absl::StatusOr<std::unique_ptr<ProviderProcess>> ProviderProcess::Start(
    const std::string& command, std::chrono::milliseconds timeout) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
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
          " ms"));
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
  // Keep draining the provider's output so it never blocks on a full pipe.
  process->forwarder_ = std::thread([fd = fds[0]] {
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) {
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
    exit_status_ = status;
    pid_ = -1;
  }
  if (forwarder_.joinable()) forwarder_.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  return exit_status_;
}

ProviderProcess::~ProviderProcess() { Stop(); }

}  // namespace understudy

