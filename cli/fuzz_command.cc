#include "cli/fuzz_command.h"

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/create_channel.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/call_client.h"
#include "cli/server_connection.h"
#include "fuzznet/fuzzer.h"
#include "src/response.h"
#include "verify/verify_case.h"

namespace understudy {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFound = 1;
constexpr int kExitCannotRun = 2;
constexpr double kDefaultDurationSeconds = 60;
// Durations above this many seconds (about 30 years) are no time bound at all.
constexpr double kMaxDurationSeconds = 1e9;
// How long the target has to accept a connection at the start.
constexpr std::chrono::seconds kConnectTimeout(5);

// While it lives, protobuf's warnings about JSON it could not print are dropped: a mutant without
// a JSON form is expected (the generator skips it), and one warning per mutant floods stderr.
// Everything else goes to the handler that was installed before.
class QuietProtobufJsonWarnings {
 public:
  QuietProtobufJsonWarnings() { previous_ = google::protobuf::SetLogHandler(&Handle); }
  ~QuietProtobufJsonWarnings() { google::protobuf::SetLogHandler(previous_); }

 private:
  static void Handle(google::protobuf::LogLevel level, const char* filename, int line,
                     const std::string& message) {
    if (level <= google::protobuf::LOGLEVEL_WARNING &&
        (absl::StrContains(message, "JsonObjectWriter") ||
         absl::StrContains(filename, "json_objectwriter") ||
         absl::StrContains(filename, "/util/internal/"))) {
      return;
    }
    if (previous_ != nullptr) previous_(level, filename, line, message);
  }
  static inline google::protobuf::LogHandler* previous_ = nullptr;
};

int CannotRun(const std::string& message) {
  std::cerr << "fuzz: " << message << "\n";
  return kExitCannotRun;
}

// "UNKNOWN, internal,13" → {2, 13}; an error names the first word that is not a code.
absl::StatusOr<std::set<int>> ParseCodes(const std::string& text) {
  std::set<int> codes;
  for (absl::string_view word : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::string name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(word));
    int code = StatusCodeFromName(name);
    if (code < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--bug-status: unknown status code \"", name,
                                                     "\" (names like INTERNAL, or 0-16)"));
    }
    codes.insert(code);
  }
  return codes;
}

std::string Plural(size_t n, const std::string& word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

void PrintSummary(const fuzznet::FuzzStats& stats, std::ostream& err) {
  double rate = stats.seconds > 0 ? stats.calls / stats.seconds : 0;
  std::vector<std::string> codes;
  for (const auto& [name, count] : stats.codes) codes.push_back(absl::StrCat(name, " ", count));
  err << "fuzz: " << stats.calls << " calls in " << absl::StrFormat("%.1f", stats.seconds) << " s ("
      << absl::StrFormat("%.0f", rate) << " calls/s), " << Plural(stats.findings, "finding")
      << (stats.crashed ? ", stopped: the server crashed" : "") << "; "
      << absl::StrJoin(codes, ", ") << "; corpus " << stats.corpus
      << (stats.generation_failures > 0
              ? absl::StrCat("; ", Plural(stats.generation_failures, "generated request"),
                             " dropped (no JSON form, or too big)")
              : "")
      << "\n";
}

}  // namespace

int RunFuzz(const FuzzCommand& command) {
  if (std::string why = SchemaSourceProblem(command.schema, command.reflect); !why.empty()) {
    return CannotRun(why);
  }
  if (command.target.empty()) return CannotRun("--target is required");
  if (command.jobs < 1 || command.jobs > kMaxJobs) {
    return CannotRun(absl::StrCat("--jobs takes a number from 1 to ", kMaxJobs));
  }
  if (command.deadline_ms < 1) return CannotRun("--deadline takes a positive number of ms");
  if (command.calls < 0) return CannotRun("--calls takes a positive number");
  // Negative means "not given"; NaN and zero are errors.
  if (!(command.duration_seconds > 0) && !(command.duration_seconds < 0)) {
    return CannotRun("--duration takes a positive number of seconds");
  }

  fuzznet::FuzzOptions options;
  auto codes = ParseCodes(command.bug_status);
  if (!codes.ok()) return CannotRun(std::string(codes.status().message()));
  options.bug_codes = *codes;
  // -bin values are base64 on the command line, bytes on the wire (as `call` and `verify`).
  auto headers = ParseHeaderFlags(command.headers, "--header", BinaryHeaders::kDecode);
  if (!headers.ok()) return CannotRun(std::string(headers.status().message()));
  options.headers = std::move(*headers);
  options.methods = command.methods;
  options.seed_paths = command.paths;
  options.deadline = std::chrono::milliseconds(command.deadline_ms);
  double seconds = command.duration_seconds > 0 ? command.duration_seconds
                   : command.calls > 0          ? 0
                                                : kDefaultDurationSeconds;
  if (seconds > kMaxDurationSeconds) seconds = 0;
  // Rounded up: a positive duration never becomes zero, which means no time bound.
  options.duration = std::chrono::milliseconds(
      seconds > 0 ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds * 1000))) : 0);
  options.max_calls = command.calls;
  options.seed = command.seed >= 0 ? static_cast<unsigned>(command.seed) : std::random_device()();
  options.jobs = command.jobs;
  options.out_dir = command.out_dir;

  auto schema = LoadSchemaUnlessReflect(command.schema, command.reflect);
  if (!schema.ok()) {
    std::cerr << schema.status().message() << "\n";
    return kExitCannotRun;
  }
  // Without --reflect, the flags and files are checked before connecting: a typo is found at once.
  std::unique_ptr<fuzznet::Fuzzer> fuzzer;
  auto create = [&] {
    auto created = fuzznet::Fuzzer::Create(*schema, options);
    if (!created.ok()) {
      std::cerr << created.status().message() << "\n";
      return false;
    }
    fuzzer = std::move(*created);
    return true;
  };
  if (*schema != nullptr && !create()) return kExitCannotRun;
  // Made before the first call: a finding must have a place to go.
  std::error_code out_error;
  std::filesystem::create_directories(options.out_dir, out_error);
  if (out_error || !std::filesystem::is_directory(options.out_dir)) {
    return CannotRun(absl::StrCat("--out ", options.out_dir, ": cannot create the directory",
                                  out_error ? absl::StrCat(": ", out_error.message()) : ""));
  }
  auto connected = ConnectToServer(
      command.target, command.tls, std::chrono::system_clock::now() + kConnectTimeout,
      std::max<std::chrono::milliseconds>(options.deadline, kConnectTimeout), &*schema);
  if (!connected.ok()) return CannotRun(std::string(connected.status().message()));
  std::shared_ptr<grpc::Channel> channel = std::move(*connected);
  if (command.reflect && !create()) return kExitCannotRun;

  QuietProtobufJsonWarnings quiet;

  std::cerr << "fuzzing " << Plural(fuzzer->methods().size(), "method") << " of " << command.target
            << " for "
            << (seconds > 0 ? absl::StrCat(seconds, " s") : std::string("as long as it takes"))
            << (command.calls > 0 ? absl::StrCat(" or ", command.calls, " calls") : "") << " (seed "
            << options.seed << ", deadline " << command.deadline_ms << " ms"
            << (fuzzer->seeds() > 0 ? absl::StrCat(", ", Plural(fuzzer->seeds(), "seed request"))
                                    : "")
            << ")\n";
  if (fuzzer->skipped_seeds() > 0) {
    std::cerr << "  " << Plural(fuzzer->skipped_seeds(), "request")
              << " of the interaction files could not seed (no concrete value)\n";
  }
  auto stats = fuzzer->Run(channel, [](const fuzznet::Finding& finding) {
    std::cout << "FINDING " << finding.method << " " << finding.status << std::endl;
    std::cerr << "  " << finding.status
              << (finding.message.empty() ? "" : absl::StrCat(" \"", finding.message, "\""))
              << " at call " << finding.call << " (" << absl::StrFormat("%.1f", finding.seconds)
              << " s): " << finding.file << "\n";
    if (!finding.note.empty()) {
      std::cerr << "  the file may not replay as written:\n" << finding.note << "\n";
    }
  });
  // Close the connection first: a server's graceful shutdown may wait for open connections.
  channel.reset();
  if (!stats.ok()) return CannotRun(std::string(stats.status().message()));
  PrintSummary(*stats, std::cerr);
  if (stats->findings > 0) return kExitFound;
  if (stats->calls == 0) {
    return CannotRun(absl::StrCat("no call was made: none of ", stats->generation_failures,
                                  " generated requests had a JSON form within ",
                                  fuzznet::kMaxRequestBytes, " bytes"));
  }
  return kExitOk;
}

}  // namespace understudy
