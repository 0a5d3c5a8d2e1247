#include "verify/verifier.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace understudy {

absl::StatusOr<std::unique_ptr<Verifier>> Verifier::Create(std::shared_ptr<const Schema> schema,
                                                           const std::vector<std::string>& paths,
                                                           VerifyOptions options) {
  auto set = InteractionSet::Load(schema, paths);
  if (!set.ok()) return set.status();
  auto verifier = std::unique_ptr<Verifier>(new Verifier());
  verifier->set_ = *set;
  verifier->options_ = std::move(options);
  Diagnostics problems;
  std::vector<std::unique_ptr<VerifyCase>> ordered;
  for (const auto& interaction : (*set)->interactions()) {
    auto c = VerifyCase::Plan(*interaction, *schema, verifier->options_.headers, &problems);
    if (c != nullptr) ordered.push_back(std::move(c));
  }
  if (!problems.empty()) return problems.ToStatus();
  auto independent = [](const std::unique_ptr<VerifyCase>& c) {
    return c->interaction().given.empty() && c->interaction().scenario.empty();
  };
  for (auto& c : ordered) {
    if (independent(c)) verifier->cases_.push_back(std::move(c));
  }
  verifier->independent_ = verifier->cases_.size();
  for (auto& c : ordered) {
    if (c != nullptr) verifier->cases_.push_back(std::move(c));
  }
  return verifier;
}

std::string Verifier::Setup(const Interaction& interaction, bool* timed_out) const {
  *timed_out = false;
  if (options_.setup_command.empty()) return "";
  nlohmann::json input = {{"interaction", interaction.name},
                          {"file", interaction.file},
                          {"method", MethodName(interaction.method)},
                          {"states", interaction.given}};
  std::string text = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "the setup hook could not start (pipe)";
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return "the setup hook could not start (fork)";
  }
  if (pid == 0) {
    // Its own process group, so that a timeout ends whatever the hook started too. Its standard
    // output goes to stderr: stdout carries the PASS/FAIL lines.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    dup2(fds[0], STDIN_FILENO);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    execl("/bin/sh", "sh", "-c", options_.setup_command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  close(fds[0]);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + options_.setup_timeout;
  size_t written = 0;
  int input_fd = fds[1];
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) {
      if (input_fd >= 0) close(input_fd);
      return "the setup hook could not run";
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      if (input_fd >= 0) close(input_fd);
      *timed_out = true;
      return absl::StrCat("the setup hook did not finish within ", options_.setup_timeout.count(),
                          " ms (--setup-timeout); it was killed");
    }
    // Feed the input as the hook reads it (a hook that never reads must not block us); between
    // feeds, wait a little for the hook to end.
    pollfd p{input_fd, POLLOUT, 0};
    if (input_fd >= 0 && poll(&p, 1, 10) > 0) {
      ssize_t n = write(input_fd, text.data() + written, text.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = text.size();  // it closed stdin
      if (written == text.size()) {
        close(input_fd);
        input_fd = -1;
      }
    } else if (input_fd < 0) {
      poll(nullptr, 0, 10);
    }
  }
  if (input_fd >= 0) close(input_fd);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status)) return absl::StrCat("the setup hook exited with ", WEXITSTATUS(status));
  return "the setup hook was killed by a signal";
}

CaseResult Verifier::RunOne(const VerifyCase& c, grpc::GenericStub* stub) const {
  CaseResult result;
  result.interaction = &c.interaction();
  auto start = std::chrono::steady_clock::now();
  std::string setup_error;
  bool timed_out = false;
  if (!c.interaction().given.empty()) setup_error = Setup(c.interaction(), &timed_out);
  if (timed_out) result.cannot_run = absl::StrCat("--setup: ", setup_error);
  if (!setup_error.empty()) {
    result.differences.push_back({"/given", absl::StrCat(setup_error, " for the states ",
                                                         nlohmann::json(c.interaction().given).dump())});
  } else {
    result.differences = c.Run(stub, options_.timeout);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<CaseResult> Verifier::Run(const std::shared_ptr<grpc::Channel>& channel,
                                      const std::function<void(const CaseResult&)>& on_result) const {
  grpc::GenericStub stub(channel);
  std::vector<CaseResult> results(cases_.size());
  std::vector<bool> done(cases_.size(), false);
  std::mutex mu;
  size_t reported = 0;
  auto finish = [&](size_t i, CaseResult result) {
    std::lock_guard<std::mutex> lock(mu);
    results[i] = std::move(result);
    done[i] = true;
    while (reported < done.size() && done[reported]) on_result(results[reported++]);
  };
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < independent_;) finish(i, RunOne(*cases_[i], &stub));
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::max(1, options_.jobs); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (size_t i = independent_; i < cases_.size(); ++i) {
    CaseResult result = RunOne(*cases_[i], &stub);
    const bool stop = !result.cannot_run.empty();
    finish(i, std::move(result));
    if (stop) {
      results.resize(i + 1);
      break;
    }
  }
  return results;
}

}  // namespace understudy
