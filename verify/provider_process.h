// ProviderProcess: `verify --start CMD` — the server under test, started for the run.
//
// CMD runs through /bin/sh in its own process group. The address to verify is taken from the
// first line of its standard output of the form `listening on HOST:PORT` (what `understudy serve`
// and the reference UserService print); its other output is passed on to stderr. Stop() sends
// SIGTERM to the group and, after a grace period, SIGKILL.
#ifndef UNDERSTUDY_VERIFY_PROVIDER_PROCESS_H_
#define UNDERSTUDY_VERIFY_PROVIDER_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace understudy {

class ProviderProcess {
 public:
  // Starts CMD and waits up to `timeout` for its `listening on` line.
  static absl::StatusOr<std::unique_ptr<ProviderProcess>> Start(const std::string& command,
                                                                std::chrono::milliseconds timeout);
  ~ProviderProcess();

  const std::string& address() const { return address_; }
  // The exit status (as waitpid reports it) once stopped.
  int Stop();

 private:
  ProviderProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string address_;
  std::thread forwarder_;
  std::atomic<bool> stopping_{false};
  int exit_status_ = -1;
};

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_PROVIDER_PROCESS_H_
