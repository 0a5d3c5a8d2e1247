#include "tests/verify/verify_run.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace understudy {
namespace testing {

namespace fs = std::filesystem;

std::string VerifyRun::Describe() const {
  return absl::StrCat("exit code ", result.exit_code, "\nstdout:\n", result.out, "\nstderr:\n",
                      result.err);
}

fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = absl::StrCat(info->test_suite_name(), ".", info->name());
  absl::StrReplaceAll({{"/", "_"}}, &name);  // parametrised names carry slashes
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_verify_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

VerifyRun RunVerify(const std::vector<std::string>& args) {
  static std::atomic<int> runs{0};
  const fs::path report = fs::path(::testing::TempDir()) /
                          absl::StrCat("understudy_verify_report_", getpid(), "_", runs++, ".json");
  fs::remove(report);
  std::vector<std::string> argv = {"verify", "--json", report.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  VerifyRun run;
  run.result = RunUnderstudy(argv);
  std::ifstream in(report);
  if (in) run.report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  fs::remove(report);
  return run;
}

namespace {

std::string ShellQuote(const std::string& word) {
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

}  // namespace

std::string StartCommand(const std::vector<std::string>& serve_args) {
  std::string command = absl::StrCat(ShellQuote(UnderstudyBinary()), " serve --listen 127.0.0.1:0");
  for (const auto& arg : serve_args) absl::StrAppend(&command, " ", ShellQuote(arg));
  return command;
}

std::map<std::string, std::string> Results(const nlohmann::json& report) {
  std::map<std::string, std::string> out;
  if (!report.is_object() || !report.contains("interactions")) return out;
  for (const auto& i : report.at("interactions")) {
    out[i.at("name").get<std::string>()] = i.at("result").get<std::string>();
  }
  return out;
}

std::map<std::string, std::vector<std::string>> FailedPointers(const nlohmann::json& report) {
  std::map<std::string, std::vector<std::string>> out;
  if (!report.is_object() || !report.contains("interactions")) return out;
  for (const auto& i : report.at("interactions")) {
    if (i.at("result") != "FAIL") continue;
    auto& pointers = out[i.at("name").get<std::string>()];
    for (const auto& d : i.at("differences"))
      pointers.push_back(d.at("pointer").get<std::string>());
  }
  return out;
}

nlohmann::json DifferencesOf(const nlohmann::json& report, const std::string& name) {
  if (report.is_object() && report.contains("interactions")) {
    for (const auto& i : report.at("interactions")) {
      if (i.at("name") == name) return i.at("differences");
    }
  }
  return nlohmann::json::array();
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

}  // namespace testing
}  // namespace understudy
