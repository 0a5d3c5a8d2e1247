// Runs `understudy verify` as a user would and reads what it reports.
//
//   VerifyRun run = RunVerify({"--proto", "proto/user.proto",
//                              "--start", StartCommand({"--proto", "proto/user.proto", kContract}),
//                              kContract});
//   EXPECT_EQ(run.exit_code(), 1) << run.Describe();
//   EXPECT_THAT(FailedPointers(run.report), ...);
//
// Providers are `understudy serve` processes: real gRPC servers that the verifier knows only by
// their `listening on` line. Paths are relative to the repository root, where every child runs.
#ifndef UNDERSTUDY_TESTS_VERIFY_VERIFY_RUN_H_
#define UNDERSTUDY_TESTS_VERIFY_VERIFY_RUN_H_

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/mockserver/serve_process.h"

namespace understudy {
namespace testing {

inline constexpr char kUserProto[] = "proto/user.proto";
inline constexpr char kContract[] = "tests/data/verify/contract.json";

// The outcome of one `understudy verify` and its --json report (null when it wrote none).
struct VerifyRun {
  RunResult result;
  nlohmann::json report;
  int exit_code() const { return result.exit_code; }
  std::string Describe() const;
};

// A fresh, empty directory for the files the current test writes.
std::filesystem::path TestDir();

// `understudy verify --json FILE ARGS...` (FILE a fresh temporary file); the report is parsed
// when verify wrote one.
VerifyRun RunVerify(const std::vector<std::string>& args);

// The --start command (one shell string) for `understudy serve --listen 127.0.0.1:0 ARGS...`.
std::string StartCommand(const std::vector<std::string>& serve_args);

// Interaction name -> "PASS" or "FAIL", from a JSON report.
std::map<std::string, std::string> Results(const nlohmann::json& report);
// Interaction name -> the pointers of its differences, in order, for every failed interaction.
std::map<std::string, std::vector<std::string>> FailedPointers(const nlohmann::json& report);
// The differences of the interaction `name` (an empty array when there is none of that name).
nlohmann::json DifferencesOf(const nlohmann::json& report, const std::string& name);

std::vector<std::string> Lines(const std::string& text);

}  // namespace testing
}  // namespace understudy

#endif  // UNDERSTUDY_TESTS_VERIFY_VERIFY_RUN_H_
