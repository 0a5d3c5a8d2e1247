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

}  // namespace

int RunVerify(const VerifyCommand& command) {
  if (std::string why = SchemaSourceProblem(command.schema, command.reflect); !why.empty()) {
    return CannotRun(why);
  }
  if (command.target.empty() && command.start.empty()) return CannotRun("--target is required");
  if (command.jobs < 1) return CannotRun("--jobs takes a positive number");
  if (!(command.timeout_seconds > 0)) return CannotRun("--timeout takes a positive number of seconds");
  // A setup hook that exits without reading its standard input must not kill the verifier. A
  // handler, not SIG_IGN: children (the provider, the hook) get the default back when they exec.
  struct sigaction ignore = {};
  ignore.sa_handler = [](int) {};
  sigaction(SIGPIPE, &ignore, nullptr);
  VerifyOptions options;
  auto headers = ParseHeaderFlags(command.headers, "--header", BinaryHeaders::kKeep);
  if (!headers.ok()) return CannotRun(std::string(headers.status().message()));
  options.headers = std::move(*headers);
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(command.timeout_seconds * 1000));
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
    auto started = ProviderProcess::Start(command.start, std::chrono::seconds(30));
    if (!started.ok()) return CannotRun(std::string(started.status().message()));
    provider = std::move(*started);
    if (target.empty()) target = provider->address();
  }
  auto connect_by = std::chrono::system_clock::now() +
                    std::max(options.timeout, std::chrono::milliseconds(provider ? 30000 : 0));
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
  for (const auto& r : results) {
    if (!r.passed()) exit_code = kExitFailed;
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
  return exit_code;
}

}  // namespace understudy
