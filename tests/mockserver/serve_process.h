// Test helpers that run the `understudy` binary as a child process, and call a server with raw
// message bytes.
//
//   auto serve = understudy::testing::ServeProcess::Start(
//       {"--proto", "proto/user.proto", "contracts/user_service"});
//   ASSERT_TRUE(serve.ok()) << serve.status();
//   auto stub = user::UserService::NewStub(
//       grpc::CreateChannel((*serve)->address(), grpc::InsecureChannelCredentials()));
//   ...
//   EXPECT_EQ((*serve)->Stop(), 0);
//
// Every child runs in the repository root (UNDERSTUDY_SOURCE_DIR), so relative paths in the
// arguments and in the child's messages are the ones a user types. Nothing here sleeps: readiness
// is the `listening on HOST:PORT` line, termination is the end of the child's output followed by
// waitpid.
#ifndef UNDERSTUDY_TESTS_MOCKSERVER_SERVE_PROCESS_H_
#define UNDERSTUDY_TESTS_MOCKSERVER_SERVE_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/status/statusor.h"

namespace understudy {
namespace testing {

// The repository root and the binary under test, as the build defines them.
std::string SourceDir();
std::string UnderstudyBinary();

// A running child process whose stdout and stderr are collected by a background thread.
// Thread safety: all methods may be called from any thread.
class ChildProcess {
 public:
  // Starts `binary args...` in `cwd` with stdin from /dev/null.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::string& cwd);
  ~ChildProcess();  // kills the child (SIGKILL) if it still runs, and reaps it

  pid_t pid() const { return pid_; }

  // Waits until stdout holds a complete line starting with `prefix` and returns that line
  // (without the newline). Fails when the child closes its stdout first or `timeout` passes.
  absl::StatusOr<std::string> WaitForLine(const std::string& prefix,
                                          std::chrono::milliseconds timeout);
  // Waits until the child has closed its output and exited. Returns its exit code (128 + signal
  // when a signal ended it), or -1 when `timeout` passed, in which case the child is killed.
  int WaitForExit(std::chrono::milliseconds timeout);
  // Sends `signal` to the child (no-op once reaped).
  void Signal(int signal);

  std::string out() const;  // stdout collected so far
  std::string err() const;  // stderr collected so far

 private:
  ChildProcess() = default;
  void Collect();  // the reader thread

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::thread reader_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::string out_;      // guarded by mu_
  std::string err_;      // guarded by mu_
  bool closed_ = false;  // guarded by mu_: both pipes reached end of file
  bool reaped_ = false;  // guarded by mu_
  int exit_code_ = -1;   // guarded by mu_
};

// The result of a command run to completion.
struct RunResult {
  int exit_code = -1;  // -1: did not finish in time (and was killed)
  std::string out;
  std::string err;
};

// Runs `understudy args...` in the repository root until it exits (or `timeout` passes).
RunResult RunUnderstudy(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

// `understudy serve --listen 127.0.0.1:0 ARGS...`, ready to answer calls.
class ServeProcess {
 public:
  // `args` are the schema flags and paths. Returns once the child has printed `listening on`;
  // fails (with the child's exit code and stderr) when it exits first or takes over `timeout`.
  static absl::StatusOr<std::unique_ptr<ServeProcess>> Start(
      const std::vector<std::string>& args,
      std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // "HOST:PORT" from the `listening on` line.
  const std::string& address() const { return address_; }
  pid_t pid() const { return child_->pid(); }

  // Sends SIGTERM (or `signal`) and returns the exit code; -1 when the child did not exit within
  // `timeout` (it is then killed).
  int Stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::string out() const { return child_->out(); }
  std::string err() const { return child_->err(); }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string address_;
};

// One unary call through grpc::GenericStub, waited for: `request` goes out as the message's bytes,
// unchecked; on OK, `response` (may be null) gets the answer's bytes. `context` carries the
// caller's metadata and deadline.
grpc::Status GenericUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                              grpc::ClientContext* context, const std::string& method,
                              const std::string& request, std::string* response = nullptr);

// One `understudy serve` shared by the tests of a suite: Start() in SetUpTestSuite, Stop() in
// TearDownTestSuite, `ASSERT_TRUE(server.Ready())` in SetUp.
class SharedServe {
 public:
  void Start(const std::vector<std::string>& args);
  // Sends SIGTERM and expects exit code 0: a server that crashed during the suite would not.
  void Stop();
  // Success when serving; otherwise a failure that says why it did not start.
  ::testing::AssertionResult Ready() const;
  ServeProcess* operator->() const { return serve_.get(); }

 private:
  std::unique_ptr<ServeProcess> serve_;
  std::string error_ = "not started";
};

}  // namespace testing
}  // namespace understudy

#endif  // UNDERSTUDY_TESTS_MOCKSERVER_SERVE_PROCESS_H_
