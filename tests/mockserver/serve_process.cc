#include "tests/mockserver/serve_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/generic/generic_stub.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace understudy {
namespace testing {

std::string SourceDir() { return UNDERSTUDY_SOURCE_DIR; }
std::string UnderstudyBinary() { return UNDERSTUDY_BINARY; }

namespace {

absl::Status ErrnoError(const std::string& what, int error) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args, const std::string& cwd) {
  // O_CLOEXEC: children spawned concurrently by other threads must not inherit our pipe ends,
  // or end of file would never come.
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int error = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return ErrnoError("pipe2", error);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);

  // The server blocks SIGTERM/SIGINT itself; start it with the default mask and dispositions
  // whatever this (multi-threaded) test process has.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  pid_t pid = -1;
  int error = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (error != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return ErrnoError(absl::StrCat("posix_spawn ", binary), error);
  }

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->out_fd_ = out_pipe[0];
  child->err_fd_ = err_pipe[0];
  child->reader_ = std::thread(&ChildProcess::Collect, child.get());
  return child;
}

ChildProcess::~ChildProcess() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!reaped_) kill(pid_, SIGKILL);
  }
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::Collect() {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int open = 2;
  char buffer[4096];
  while (open > 0) {
    int ready = poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || fds[k].revents == 0) continue;
      ssize_t n = read(fds[k].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fds[k].fd);
        fds[k].fd = -1;
        --open;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      (k == 0 ? out_ : err_).append(buffer, static_cast<size_t>(n));
      changed_.notify_all();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    changed_.notify_all();
  }
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid_, &status, 0);
  } while (got < 0 && errno == EINTR);
  std::lock_guard<std::mutex> lock(mu_);
  if (got == pid_) {
    exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                 : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                       : -1;
  }
  reaped_ = true;
  changed_.notify_all();
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(const std::string& prefix,
                                                      std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  size_t searched = 0;  // lines before this offset have been looked at
  for (;;) {
    for (;;) {
      size_t end = out_.find('\n', searched);
      if (end == std::string::npos) break;
      std::string line = out_.substr(searched, end - searched);
      searched = end + 1;
      if (line.compare(0, prefix.size(), prefix) == 0) return line;
    }
    if (closed_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the child closed its stdout before printing \"", prefix, "\""));
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line \"", prefix, "...\" within ", timeout.count(), " ms"));
    }
  }
}

int ChildProcess::WaitForExit(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (changed_.wait_for(lock, timeout, [this] { return reaped_; })) return exit_code_;
  kill(pid_, SIGKILL);
  changed_.wait(lock, [this] { return reaped_; });
  return -1;
}

void ChildProcess::Signal(int signal) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!reaped_) kill(pid_, signal);
}

std::string ChildProcess::out() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

std::string ChildProcess::err() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

RunResult RunUnderstudy(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  RunResult result;
  auto child = ChildProcess::Spawn(UnderstudyBinary(), args, SourceDir());
  if (!child.ok()) {
    result.err = std::string(child.status().message());
    return result;
  }
  result.exit_code = (*child)->WaitForExit(timeout);
  result.out = (*child)->out();
  result.err = (*child)->err();
  return result;
}

absl::StatusOr<std::unique_ptr<ServeProcess>> ServeProcess::Start(
    const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  // SPEC.md's order: `serve [schema flags] [--listen ADDR] PATH...`.
  std::vector<std::string> argv = {"serve", "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = ChildProcess::Spawn(UnderstudyBinary(), argv, SourceDir());
  if (!child.ok()) return child.status();

  std::unique_ptr<ServeProcess> serve(new ServeProcess());
  serve->child_ = std::move(*child);
  constexpr char kReady[] = "listening on ";
  auto line = serve->child_->WaitForLine(kReady, timeout);
  if (!line.ok()) {
    int code = serve->child_->WaitForExit(std::chrono::seconds(5));
    return absl::UnavailableError(absl::StrCat("understudy ", absl::StrJoin(argv, " "), ": ",
                                               line.status().message(), "; exit code ", code,
                                               "; stderr:\n", serve->child_->err()));
  }
  serve->address_ = line->substr(sizeof(kReady) - 1);
  return serve;
}

int ServeProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  child_->Signal(signal);
  return child_->WaitForExit(timeout);
}

void SharedServe::Start(const std::vector<std::string>& args) {
  auto serve = ServeProcess::Start(args);
  if (serve.ok()) {
    serve_ = std::move(*serve);
  } else {
    error_ = serve.status().ToString();
  }
}

void SharedServe::Stop() {
  if (serve_ != nullptr) EXPECT_EQ(serve_->Stop(), 0) << serve_->err();
  serve_.reset();
  error_ = "stopped";
}

::testing::AssertionResult SharedServe::Ready() const {
  if (serve_ != nullptr) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "understudy serve is not running: " << error_;
}

grpc::Status GenericUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                              grpc::ClientContext* context, const std::string& method,
                              const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context, method, grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (status.ok() && response != nullptr) {
    std::vector<grpc::Slice> slices;
    if (out.Dump(&slices).ok()) {
      response->clear();
      for (const auto& s : slices) {
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  return status;
}

}  // namespace testing
}  // namespace understudy
