// understudy: the command line. Parses flags, calls the libraries, prints, picks the exit code.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/call_client.h"
#include "cli/fuzz_command.h"
#include "cli/verify_command.h"
#include "mockserver/file_watcher.h"
#include "mockserver/mock_server.h"
#include "mockserver/tls.h"
#include "src/check.h"
#include "src/interaction_set.h"
#include "src/response.h"
#include "src/schema.h"

namespace {

using understudy::SchemaOptions;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitCannotRun = 2;

void AddSchemaFlags(CLI::App* command, SchemaOptions* schema) {
  // One value per occurrence, so the flags may come before or after the positional paths.
  command->add_option("--proto", schema->proto_files, "a .proto file (repeatable)")
      ->allow_extra_args(false);
  command->add_option("-I,--import-path", schema->import_paths, "an import root (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--descriptor-set", schema->descriptor_sets,
                      "a FileDescriptorSet from protoc -o --include_imports (repeatable)")
      ->allow_extra_args(false);
}

// --tls, --ca, --cert, --key, --tls-server-name: how `verify`, `fuzz` and `call` connect.
void AddClientTlsFlags(CLI::App* command, understudy::ClientTls* tls) {
  command->add_flag("--tls", tls->enabled, "connect with TLS (implied by --ca, --cert, --key)");
  command->add_option("--ca", tls->ca_file,
                      "PEM roots that sign the server's certificate (default: the system's)");
  command->add_option("--cert", tls->cert_file, "PEM client certificate, for mTLS (with --key)");
  command->add_option("--key", tls->key_file, "PEM private key of --cert");
  command->add_option("--tls-server-name", tls->server_name,
                      "the name the server's certificate must carry (default: the target's host)");
}

// A problem with the TLS files of a client command ("" when none): found before any call.
std::string ClientTlsProblem(const understudy::ClientTls& tls) {
  auto credentials = understudy::ChannelCredentials(tls);
  return credentials.ok() ? "" : std::string(credentials.status().message());
}

void PrintProblems(const absl::Status& status) {
  std::cerr << status.message() << "\n";
}

absl::StatusOr<std::shared_ptr<understudy::Schema>> LoadSchema(const SchemaOptions& options) {
  auto schema = understudy::Schema::Load(options);
  if (!schema.ok()) return schema.status();
  return std::shared_ptr<understudy::Schema>(std::move(*schema));
}

// `serve --watch`: reloads `paths` into `server` and says on stderr what it now serves.
void ReloadAndReport(understudy::MockServer* server, const std::vector<std::string>& paths) {
  absl::Status status = server->Reload(paths);
  size_t serving = server->interactions()->interactions().size();
  if (!status.ok()) {
    PrintProblems(status);
    std::cerr << "reload failed: still serving the previous " << serving << " interactions\n";
    return;
  }
  auto files = understudy::InteractionSet::ListFiles(paths);
  std::cerr << "reloaded: " << serving << " interactions from " << (files.ok() ? files->size() : 0)
            << " files\n";
}

// `serve`'s flags beyond the schema and the paths.
struct ServeFlags {
  std::string listen = "127.0.0.1:50051";
  int grace_ms = 5000;
  bool watch = false;
  bool no_admin = false;
  std::string admin_token;
  understudy::ServerTls tls;
  int max_message_size = 4 << 20;
  int64_t max_stream_messages = 100000;
  int64_t max_concurrent_calls = 10000;
  int64_t max_call_request_bytes = int64_t{64} << 20;
  int64_t max_held_request_bytes = int64_t{1} << 30;
  int64_t journal_size = 1000;
  int64_t max_interactions = 1000000;
  int64_t journal_bytes = int64_t{64} << 20;
  int max_concurrent_streams = 100;
  int64_t max_memory = int64_t{1} << 30;
  int max_connections = -1;  // -1: derived from the file descriptor limit
  bool accept_compressed = false;
};

// Raises the soft limit on open files to the hard limit (a server holds one per connection) and
// returns the limit now in force.
rlim_t RaiseFileLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

// Connections that fit in `file_limit` descriptors, leaving room for the files, pipes and
// threads of the process (and a margin): 80% of the limit less 64, at least 16.
int DefaultMaxConnections(rlim_t file_limit) {
  constexpr rlim_t kCap = 1 << 20;
  rlim_t limit = file_limit == RLIM_INFINITY || file_limit > kCap ? kCap : file_limit;
  int64_t connections = static_cast<int64_t>(limit) * 8 / 10 - 64;
  return static_cast<int>(connections < 16 ? 16 : connections);
}

int RunServe(const SchemaOptions& schema_options, const std::vector<std::string>& paths,
             const ServeFlags& flags) {
  // Signals are taken by sigwait below, not by whichever thread gRPC happens to run.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  understudy::MockServerOptions options;
  options.schema = schema_options;
  options.interaction_paths = paths;
  options.listen = flags.listen;
  options.admin = !flags.no_admin;
  options.admin_token = flags.admin_token;
  options.tls = flags.tls;
  options.max_message_bytes = flags.max_message_size;
  options.limits.max_stream_messages = flags.max_stream_messages;
  options.limits.max_concurrent_calls = flags.max_concurrent_calls;
  options.limits.max_call_request_bytes = flags.max_call_request_bytes;
  options.limits.max_held_request_bytes = flags.max_held_request_bytes;
  options.journal_size = static_cast<size_t>(flags.journal_size);
  options.journal_bytes = flags.journal_bytes;
  options.max_interactions = static_cast<size_t>(flags.max_interactions);
  options.max_concurrent_streams = flags.max_concurrent_streams;
  options.max_memory_bytes = flags.max_memory;
  options.accept_compressed = flags.accept_compressed;
  rlim_t file_limit = RaiseFileLimit();
  options.max_connections =
      flags.max_connections >= 0 ? flags.max_connections : DefaultMaxConnections(file_limit);
  auto server = understudy::MockServer::Start(options);
  if (!server.ok()) {
    PrintProblems(server.status());
    return kExitCannotRun;
  }
  // Watching starts before `listening on`, so no change made after that line is missed.
  std::unique_ptr<understudy::FileWatcher> watcher;
  if (flags.watch) {
    auto started = understudy::FileWatcher::Start(
        paths, [server = server->get(), &paths] { ReloadAndReport(server, paths); });
    if (!started.ok()) {
      std::cerr << "--watch: " << started.status().message() << "\n";
      return kExitCannotRun;
    }
    watcher = std::move(*started);
  }
  std::cout << "listening on " << (*server)->address() << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  std::cerr << "received " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
            << ", finishing calls in flight\n";
  if (watcher != nullptr) watcher->Stop();
  (*server)->Shutdown(std::chrono::milliseconds(flags.grace_ms));
  (*server)->Wait();
  return kExitOk;
}

int RunCheck(const SchemaOptions& schema_options, const std::vector<std::string>& paths) {
  auto schema = LoadSchema(schema_options);
  if (!schema.ok()) {
    PrintProblems(schema.status());
    return kExitCannotRun;
  }
  // Problem lines go to stderr, the verdict to stdout: `OK: ...`, or the broken interactions.
  understudy::CheckReport report = understudy::CheckFiles(**schema, paths);
  if (report.diagnostics.empty()) {
    std::cout << "OK: " << report.interactions.size() << " interactions in " << report.files
              << " files\n";
    return kExitOk;
  }
  PrintProblems(report.diagnostics.ToStatus());
  auto broken = report.Broken();
  if (!broken.empty()) {
    std::cout << broken.size() << " of " << report.interactions.size()
              << " interactions broken by the schema:\n";
    for (const auto* interaction : broken) std::cout << "  " << interaction->Label() << "\n";
  }
  return kExitCannotRun;
}

int RunCall(const SchemaOptions& schema_options, understudy::CallOptions options,
            const std::vector<std::string>& headers) {
  auto parsed = understudy::ParseHeaderFlags(headers, "-H", understudy::BinaryHeaders::kDecode);
  if (!parsed.ok()) {
    std::cerr << parsed.status().message() << "\n";
    return kExitCannotRun;
  }
  options.headers = std::move(*parsed);
  if (options.data == "@") {
    options.data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto schema = LoadSchema(schema_options);
  if (!schema.ok()) {
    PrintProblems(schema.status());
    return kExitCannotRun;
  }
  absl::Status status = understudy::CallMethod(**schema, options, std::cout, std::cerr);
  if (status.ok()) return kExitOk;
  int code = static_cast<int>(status.code());
  std::cerr << "ERROR:\n  Code: " << understudy::StatusCodeName(code) << "\n  Message: "
            << status.message() << "\n";
  std::string details = understudy::DetailsAsJson(**schema, status);
  if (!details.empty()) std::cerr << "  Details:\n" << details;
  return kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built with its debug deadlock detection on, and gRPC locks absl::Mutex on
  // every call: keeping a graph of every lock costs `serve` a few percent of its CPU time per
  // call. A test double does not need it at run time (it stays on in the tests, which use the
  // library directly).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"Understudy: mock and contract-test gRPC services from .proto and JSON files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "understudy 0.1.0");

  SchemaOptions schema;
  std::vector<std::string> paths;

  CLI::App* serve = app.add_subcommand("serve", "serve interaction files as a mock gRPC server");
  AddSchemaFlags(serve, &schema);
  ServeFlags serve_flags;
  serve->add_option("--listen", serve_flags.listen,
                    "HOST:PORT to listen on (loopback by default); port 0 picks a free port")
      ->capture_default_str();
  serve->add_option("--grace-ms", serve_flags.grace_ms,
                    "on SIGINT/SIGTERM, how long calls in flight may take")
      ->capture_default_str();
  serve->add_flag("--watch", serve_flags.watch,
                  "reload the interactions when files under the paths change; a change with a "
                  "problem is reported and the previous interactions keep serving");
  serve->add_flag("--no-admin", serve_flags.no_admin,
                  "do not serve the admin service understudy.admin.v1.MockAdmin");
  CLI::Option* admin_token =
      serve->add_option("--admin-token", serve_flags.admin_token,
                        "admin calls need metadata `authorization: Bearer TOKEN`")
          ->envname("UNDERSTUDY_ADMIN_TOKEN");
  serve->add_option("--tls-cert", serve_flags.tls.cert_file,
                    "serve TLS with this PEM certificate chain (with --tls-key)");
  serve->add_option("--tls-key", serve_flags.tls.key_file, "PEM private key of --tls-cert");
  serve->add_option("--tls-client-ca", serve_flags.tls.client_ca_file,
                    "require client certificates signed by these PEM roots (mTLS)");
  serve->add_option("--max-message-size", serve_flags.max_message_size,
                    "largest message in bytes, either way; larger: RESOURCE_EXHAUSTED")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve->add_option("--max-stream-messages", serve_flags.max_stream_messages,
                    "client messages one call may send; more: RESOURCE_EXHAUSTED (0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-concurrent-calls", serve_flags.max_concurrent_calls,
                    "mocked calls served at once; more: RESOURCE_EXHAUSTED (0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-call-request-bytes", serve_flags.max_call_request_bytes,
                    "request bytes one call may send in all; more: RESOURCE_EXHAUSTED (0: no "
                    "bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-held-request-bytes", serve_flags.max_held_request_bytes,
                    "request bytes all calls in flight may hold at once; more: "
                    "RESOURCE_EXHAUSTED (0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-interactions", serve_flags.max_interactions,
                    "interactions the admin service and --watch may grow the set to (0: no "
                    "bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--journal-size", serve_flags.journal_size,
                    "recorded calls kept for the admin service (0: no journal)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--journal-bytes", serve_flags.journal_bytes,
                    "bytes the recorded calls may take; the oldest go first (0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-concurrent-streams", serve_flags.max_concurrent_streams,
                    "HTTP/2 streams open at once on one connection, every service counted; "
                    "more wait in a gRPC client; one that opens more anyway loses its connection "
                    "(0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-memory", serve_flags.max_memory,
                    "gRPC's memory quota for connections and calls, in bytes: near it gRPC "
                    "shrinks its buffers (0: no bound)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--max-connections", serve_flags.max_connections,
                    "client connections open at once; more are closed at once (default: 80% of "
                    "the open-files limit, raised to its hard limit at start, less 64; 0: no "
                    "bound)")
      ->check(CLI::NonNegativeNumber);
  serve->add_flag("--accept-compressed", serve_flags.accept_compressed,
                  "accept gzip/deflate requests (off: UNIMPLEMENTED). Risk: gRPC expands a "
                  "message fully before --max-message-size applies, so a small request can "
                  "take gigabytes");
  serve->add_option("paths", paths, "interaction files or directories")->required();

  CLI::App* check = app.add_subcommand("check", "validate interaction files against the schema");
  AddSchemaFlags(check, &schema);
  check->add_option("paths", paths, "interaction files or directories")->required();

  CLI::App* call = app.add_subcommand("call", "call a method: JSON in, one JSON object per response");
  AddSchemaFlags(call, &schema);
  understudy::CallOptions call_options;
  std::vector<std::string> headers;
  call->add_option("-d,--data", call_options.data,
                   "request messages as JSON, concatenated for client streams; @ reads stdin")
      ->capture_default_str();
  call->add_option("-H,--header", headers, "KEY: VALUE metadata (repeatable)")
      ->allow_extra_args(false);
  call->add_option("--timeout", call_options.timeout_seconds, "deadline in seconds")
      ->capture_default_str();
  call->add_flag("--compact", call_options.compact, "one line per response message");
  call->add_flag("-v,--verbose", call_options.verbose, "print response headers and trailers");
  AddClientTlsFlags(call, &call_options.tls);
  call->add_option("target", call_options.target, "HOST:PORT")->required();
  call->add_option("method", call_options.method, "package.Service/Method")->required();

  CLI::App* verify = app.add_subcommand(
      "verify", "play interaction files against a real server: PASS or FAIL per interaction");
  understudy::VerifyCommand verify_command;
  AddSchemaFlags(verify, &verify_command.schema);
  verify->add_flag("--reflect", verify_command.reflect,
                   "fetch the schema from the target's server reflection");
  verify->add_option("--target", verify_command.target, "HOST:PORT of the server to verify");
  verify->add_option("--start", verify_command.start,
                     "a command (run by /bin/sh) that starts the server; it must print "
                     "`listening on HOST:PORT`, which is the target unless --target is given; "
                     "stopped with SIGTERM at the end");
  verify->add_option("--junit", verify_command.junit, "write a JUnit XML report to FILE");
  verify->add_option("--json", verify_command.json, "write a JSON report to FILE");
  verify->add_option("-H,--header", verify_command.headers,
                     "KEY: VALUE metadata sent with every call, e.g. a token (repeatable)")
      ->allow_extra_args(false);
  verify->add_option("--timeout", verify_command.timeout_seconds, "deadline of each call, seconds")
      ->capture_default_str();
  verify->add_option("--setup-timeout", verify_command.setup_timeout_seconds,
                     "seconds the --setup hook may take; then it is killed and verify exits 2")
      ->capture_default_str();
  verify->add_option("--start-timeout", verify_command.start_timeout_seconds,
                     "seconds the --start command may take to print `listening on`; then exit 2")
      ->capture_default_str();
  verify->add_option("-j,--jobs", verify_command.jobs,
                     "interactions without `given` and outside scenarios run this many at a time")
      ->capture_default_str();
  verify->add_option("--setup", verify_command.setup,
                     "provider-state hook run by /bin/sh before each interaction with `given`; "
                     "reads {\"interaction\", \"file\", \"method\", \"states\"} as JSON on "
                     "stdin; a non-zero exit fails the interaction");
  verify->add_option("--color", verify_command.color, "auto, always or never (NO_COLOR is honoured)")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  AddClientTlsFlags(verify, &verify_command.tls);
  verify->add_option("paths", verify_command.paths, "interaction files or directories")->required();

  CLI::App* fuzz = app.add_subcommand(
      "fuzz", "send generated requests to a running server; report calls that break it");
  understudy::FuzzCommand fuzz_command;
  AddSchemaFlags(fuzz, &fuzz_command.schema);
  fuzz->add_flag("--reflect", fuzz_command.reflect,
                 "fetch the schema from the target's server reflection");
  fuzz->add_option("--target", fuzz_command.target, "HOST:PORT of the server to fuzz");
  fuzz->add_option("--duration", fuzz_command.duration_seconds,
                   "seconds to fuzz (default 60; no time bound when only --calls is given)")
      ->check(CLI::PositiveNumber);
  fuzz->add_option("--calls", fuzz_command.calls, "stop after this many calls")
      ->check(CLI::PositiveNumber);
  fuzz->add_option("--out", fuzz_command.out_dir,
                   "directory for the findings, one interaction file each")
      ->capture_default_str();
  fuzz->add_option("--method", fuzz_command.methods,
                   "only this method (package.Service/Method) or service (repeatable)")
      ->allow_extra_args(false);
  fuzz->add_option("-H,--header", fuzz_command.headers,
                   "KEY: VALUE metadata sent with every call, e.g. a token (repeatable)")
      ->allow_extra_args(false);
  fuzz->add_option("--deadline", fuzz_command.deadline_ms, "deadline of each call, ms")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fuzz->add_option("--bug-status", fuzz_command.bug_status,
                   "status codes that are findings, comma-separated (a crash always is)")
      ->capture_default_str();
  fuzz->add_option("--seed", fuzz_command.seed,
                   "random seed; with -j 1 the same seed sends the same requests to the same "
                   "server (default: drawn at random and printed)");
  fuzz->add_option("-j,--jobs", fuzz_command.jobs, "calls in flight at a time")
      ->check(CLI::Range(1, understudy::kMaxJobs))
      ->capture_default_str();
  AddClientTlsFlags(fuzz, &fuzz_command.tls);
  fuzz->add_option("paths", fuzz_command.paths,
                   "interaction files or directories whose requests seed the fuzzer");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitCannotRun;
  }
  if (*serve) {
    // An empty token would turn authentication off without a word: refuse it.
    const char* token_env = std::getenv("UNDERSTUDY_ADMIN_TOKEN");
    if (!serve_flags.no_admin && (admin_token->count() > 0 || token_env != nullptr) &&
        serve_flags.admin_token.empty()) {
      std::cerr << "serve: the admin token is empty ("
                << (admin_token->count() > 0 ? "--admin-token \"\"" : "UNDERSTUDY_ADMIN_TOKEN=")
                << "): give a token, or leave it out for an admin service without one\n";
      return kExitCannotRun;
    }
    return RunServe(schema, paths, serve_flags);
  }
  if (*check) return RunCheck(schema, paths);
  const understudy::ClientTls& tls =
      *verify ? verify_command.tls : *fuzz ? fuzz_command.tls : call_options.tls;
  if (std::string problem = ClientTlsProblem(tls); !problem.empty()) {
    std::cerr << problem << "\n";
    return kExitCannotRun;
  }
  if (*verify) return understudy::RunVerify(verify_command);
  if (*fuzz) return understudy::RunFuzz(fuzz_command);
  return RunCall(schema, call_options, headers);
}
