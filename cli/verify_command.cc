#include "cli/verify_command.h"

#include <signal.h>
#include <unistd.h>

#include <iostream>

#include <grpcpp/create_channel.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/call_client.h"
#include "cli/server_connection.h"
#include "verify/provider_process.h"
#include "verify/report.h"
#include "verify/verifier.h"

namespace understudy {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitCannotRun = 2;

int CannotRun(const std::string& message) {
  std::cerr << "verify: " << message << "\n";
  return kExitCannotRun;
}

// The longest any one step may be given: a day. Longer (or NaN, or not positive) is a mistake,
// and would overflow the clock's arithmetic.
constexpr double kMaxSeconds = 86400;

// Why `seconds` is no timeout, or "".
std::string SecondsProblem(const char* flag, double seconds) {
  if (seconds >= 0.001 && seconds <= kMaxSeconds) return "";
  return absl::StrCat(flag, " takes a number of seconds from 0.001 to ", kMaxSeconds, ", not ",
                      seconds);
}

std::chrono::milliseconds Milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace

int RunVerify(const VerifyCommand& command) {
  if (std::string why = SchemaSourceProblem(command.schema, command.reflect); !why.empty()) {
    return CannotRun(why);
  }
  if (command.target.empty() && command.start.empty()) return CannotRun("--target is required");
  if (command.jobs < 1) return CannotRun("--jobs takes a positive number");
  for (const auto& [flag, seconds] : {std::pair<const char*, double>{"--timeout", command.timeout_seconds},
                                      {"--setup-timeout", command.setup_timeout_seconds},
                                      {"--start-timeout", command.start_timeout_seconds}}) {
    if (std::string why = SecondsProblem(flag, seconds); !why.empty()) return CannotRun(why);
  }
  // A setup hook that exits without reading its standard input must not kill the verifier. A
  // handler, not SIG_IGN: children (the provider, the hook) get the default back when they exec.
  struct sigaction ignore = {};
  ignore.sa_handler = [](int) {};
  sigaction(SIGPIPE, &ignore, nullptr);
  VerifyOptions options;
  auto headers = ParseHeaderFlags(command.headers, "--header", BinaryHeaders::kKeep);
  if (!headers.ok()) return CannotRun(std::string(headers.status().message()));
  options.headers = std::move(*headers);
  options.timeout = Milliseconds(command.timeout_seconds);
  options.setup_timeout = Milliseconds(command.setup_timeout_seconds);
  options.jobs = command.jobs;
  options.setup_command = command.setup;

  // Without --reflect, every file is checked before anything starts or connects.
  std::unique_ptr<Verifier> verifier;
  auto plan = [&](std::shared_ptr<const Schema> schema) {
    auto created = Verifier::Create(std::move(schema), command.paths, options);
    if (!created.ok()) {
      std::cerr << created.status().message() << "\n";
      return false;
    }
    verifier = std::move(*created);
    return true;
  };
  auto schema = LoadSchemaUnlessReflect(command.schema, command.reflect);
  if (!schema.ok()) {
    std::cerr << schema.status().message() << "\n";
    return kExitCannotRun;
  }
  if (*schema != nullptr && !plan(*schema)) return kExitCannotRun;

  std::unique_ptr<ProviderProcess> provider;
  std::string target = command.target;
  if (!command.start.empty()) {
    auto started = ProviderProcess::Start(command.start, Milliseconds(command.start_timeout_seconds));
    if (!started.ok()) return CannotRun(std::string(started.status().message()));
    provider = std::move(*started);
    if (target.empty()) target = provider->address();
  }
  auto connect_by = std::chrono::system_clock::now() +
                    std::max(options.timeout, provider ? Milliseconds(command.start_timeout_seconds)
                                                       : std::chrono::milliseconds(0));
  auto connected = ConnectToServer(target, command.tls, connect_by, options.timeout, &*schema);
  if (!connected.ok()) return CannotRun(std::string(connected.status().message()));
  std::shared_ptr<grpc::Channel> channel = std::move(*connected);
  if (command.reflect && !plan(*schema)) return kExitCannotRun;

  const bool color = command.color == "always" ||
                     (command.color == "auto" && ColorWanted(STDOUT_FILENO));
  auto start = std::chrono::steady_clock::now();
  auto results = verifier->Run(
      channel, [color](const CaseResult& result) { PrintResult(result, color, std::cout); });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PrintSummary(results, color, std::cout);
  // Close the connection first: a server's graceful shutdown may wait for open connections.
  channel.reset();
  if (provider != nullptr) provider->Stop();

  int exit_code = kExitOk;
  std::string cannot_run;
  for (const auto& r : results) {
    if (!r.passed()) exit_code = kExitFailed;
    if (!r.cannot_run.empty()) cannot_run = r.cannot_run;
  }
  if (!command.junit.empty()) {
    if (auto status = WriteJUnit(results, target, seconds, command.junit); !status.ok()) {
      return CannotRun(std::string(status.message()));
    }
  }
  if (!command.json.empty()) {
    if (auto status = WriteJsonReport(results, target, seconds, command.json); !status.ok()) {
      return CannotRun(std::string(status.message()));
    }
  }
  // Reports first: they show how far the run went.
  if (!cannot_run.empty()) return CannotRun(absl::StrCat(cannot_run, "; the run stopped there"));
  return exit_code;
}

}  // namespace understudy
