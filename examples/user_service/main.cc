// user_service: the reference UserService (proto/user.proto) on SQLite.
//
//   user_service [--listen ADDR] [--db FILE] [--token T]... [--example-data]
//   user_service seed --db FILE    < {"interaction": "...", "file": "...", "states": [...]}
//
// Serving prints `listening on HOST:PORT` once ready; SIGINT/SIGTERM stop it gracefully (exit 0).
// `seed` applies provider states (provider_states.h) to the database, for `understudy verify
// --setup`: exit 0, or 1 naming an unknown state, or 2 when it cannot run.
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "examples/user_service/provider_states.h"
#include "examples/user_service/user_server.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitCannotRun = 2;

int Serve(const user_service::UserServerOptions& options, int grace_ms) {
  // Signals are taken by sigwait below, not by whichever thread gRPC happens to run.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = user_service::UserServer::Start(options);
  if (!server.ok()) {
    std::cerr << "user_service: " << server.status().message() << "\n";
    return kExitCannotRun;
  }
  std::cout << "listening on " << (*server)->address() << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  std::cerr << "user_service: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down\n";
  (*server)->Shutdown(std::chrono::milliseconds(grace_ms));
  return kExitOk;
}

int Seed(const std::string& db) {
  std::vector<std::string> states;
  std::string interaction;
  std::string file;
  try {  // the hook's input, read once: exceptions end here
    nlohmann::json input = nlohmann::json::parse(std::cin);
    states = input.at("states").get<std::vector<std::string>>();
    if (input.contains("interaction")) interaction = input.at("interaction").get<std::string>();
    if (input.contains("file")) file = input.at("file").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "user_service seed: expected {\"states\": [\"...\"], ...} on stdin: " << e.what()
              << "\n";
    return kExitCannotRun;
  }
  auto store = user_service::UserStore::Open(db);
  if (!store.ok()) {
    std::cerr << "user_service seed: " << store.status().message() << "\n";
    return kExitCannotRun;
  }
  absl::Status status = user_service::ApplyProviderStates(store->get(), states);
  if (status.ok()) return kExitOk;
  std::cerr << "user_service seed: " << status.message();
  if (!interaction.empty()) std::cerr << " (interaction \"" << interaction << "\"";
  if (!interaction.empty() && !file.empty()) std::cerr << " in " << file;
  if (!interaction.empty()) std::cerr << ")";
  std::cerr << "\n";
  if (absl::IsInvalidArgument(status)) {
    std::cerr << "known states:\n" << user_service::ProviderStatesHelp();
    return kExitFailed;
  }
  return kExitCannotRun;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The reference UserService (proto/user.proto), on SQLite"};
  app.require_subcommand(0, 1);

  user_service::UserServerOptions options;
  int grace_ms = 5000;
  int stream_interval_ms = 0;
  app.add_option("--listen", options.listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--db", options.db, "SQLite database file, created when missing")
      ->capture_default_str();
  app.add_option("--token", options.tokens,
                 "accepted bearer token (repeatable); none: any non-empty token")
      ->allow_extra_args(false);
  app.add_flag("--example-data", options.example_data,
               "insert the example users when the database has none");
  app.add_option("--grace-ms", grace_ms, "on SIGINT/SIGTERM, how long calls in flight may take")
      ->capture_default_str();
  app.add_option("--stream-interval-ms", stream_interval_ms,
                 "pause before each StreamUsers message (a slow backend)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);

  CLI::App* seed = app.add_subcommand(
      "seed", "apply provider states read as JSON on stdin: {\"states\": [...]}");
  std::string seed_db;
  seed->add_option("--db", seed_db, "SQLite database file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitCannotRun;
  }
  if (*seed) return Seed(seed_db);
  options.service.stream_interval = std::chrono::milliseconds(stream_interval_ms);
  return Serve(options, grace_ms);
}
