// `understudy verify` as scripts use it (SPEC.md, "understudy verify"): exit codes, --reflect,
// --setup, --jobs, --header, the JUnit report, colour and the summary line. The providers are
// `understudy serve` processes serving tests/data/verify/.
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verify/verify_run.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::FailedPointers;
using ::testing::HasSubstr;
using testing::kContract;
using testing::kUserProto;
using testing::Lines;
using ::testing::Not;
using testing::Results;
using testing::RunVerify;
using testing::SharedServe;
using testing::StartCommand;
using testing::TestDir;
using testing::VerifyRun;

constexpr char kStates[] = "tests/data/verify/states.json";
constexpr char kNoExample[] = "tests/data/verify/no_example.json";
constexpr char kBadJson[] = "tests/data/verify/bad_json.json";
constexpr char kAuthContract[] = "tests/data/verify/auth_contract.json";
constexpr char kAuthProvider[] = "tests/data/verify/auth_provider.json";
constexpr char kWrongNestedValue[] = "tests/data/verify/faults/wrong_nested_value.json";
constexpr char kMissingTrailer[] = "tests/data/verify/faults/missing_trailer.json";

// A port on 127.0.0.1 that nothing listens on: bound by the kernel's choice, then closed.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ADD_FAILURE() << "cannot pick a port";
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Exit code 2: verify could not run.

TEST(VerifyCannotRun, UnreachableTarget) {
  VerifyRun run =
      RunVerify({"--proto", kUserProto, "--target", absl::StrCat("127.0.0.1:", ClosedPort()),
                 "--timeout", "0.5", kContract});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_THAT(run.result.err, HasSubstr("127.0.0.1:")) << run.Describe();
  EXPECT_EQ(run.result.out, "");
}

TEST(VerifyCannotRun, RequestMatcherWithoutExampleNamesFileAndPointer) {
  VerifyRun run = RunVerify(
      {"--proto", kUserProto, "--target", absl::StrCat("127.0.0.1:", ClosedPort()), kNoExample});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_THAT(run.result.err,
              HasSubstr(absl::StrCat(kNoExample, ": /interactions/1/request/body/userId: ")))
      << run.Describe();
  EXPECT_THAT(run.result.err, HasSubstr("$example")) << run.Describe();
  EXPECT_EQ(run.result.out, "") << "nothing is played when a file cannot be";
}

TEST(VerifyCannotRun, InvalidJson) {
  VerifyRun run = RunVerify(
      {"--proto", kUserProto, "--target", absl::StrCat("127.0.0.1:", ClosedPort()), kBadJson});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_THAT(run.result.err, HasSubstr(kBadJson)) << run.Describe();
}

TEST(VerifyCannotRun, NeitherSchemaFlagsNorReflect) {
  VerifyRun run = RunVerify({"--target", "127.0.0.1:1", kContract});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_THAT(run.result.err, HasSubstr("--reflect")) << run.Describe();
}

TEST(VerifyCannotRun, BothSchemaFlagsAndReflect) {
  VerifyRun run =
      RunVerify({"--proto", kUserProto, "--reflect", "--target", "127.0.0.1:1", kContract});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
}

TEST(VerifyCannotRun, NonPositiveTimeout) {
  for (const std::string timeout : {"0", "-1"}) {
    VerifyRun run = RunVerify({"--proto", kUserProto, "--timeout", timeout, "--start",
                               StartCommand({"--proto", kUserProto, kContract}), kContract});
    EXPECT_EQ(run.exit_code(), 2) << "--timeout " << timeout << "\n" << run.Describe();
    EXPECT_THAT(run.result.err, HasSubstr("--timeout")) << run.Describe();
  }
}

// Huge, NaN and tiny timeouts are flag errors, not a target that "cannot be reached" (1e300 s
// overflowed the deadline).
TEST(VerifyCannotRun, TimeoutsOutOfRangeAreFlagErrors) {
  for (const std::string flag : {"--timeout", "--setup-timeout", "--start-timeout"}) {
    for (const std::string seconds : {"1e300", "nan", "1e-9", "86401"}) {
      VerifyRun run = RunVerify(
          {"--proto", kUserProto, flag, seconds, "--target", "127.0.0.1:1", kContract});
      EXPECT_EQ(run.exit_code(), 2) << flag << " " << seconds << "\n" << run.Describe();
      EXPECT_THAT(run.result.err, HasSubstr(flag + " takes a number of seconds"))
          << run.Describe();
      EXPECT_THAT(run.result.err, Not(HasSubstr("reach"))) << run.Describe();
    }
  }
}

TEST(VerifyCannotRun, StartThatNeverListensEndsAtStartTimeout) {
  VerifyRun run = RunVerify(
      {"--proto", kUserProto, "--start", "exec sleep 60", "--start-timeout", "0.2", kContract});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_THAT(run.result.err, HasSubstr("within 200 ms (--start-timeout)")) << run.Describe();
}

TEST(VerifyCannotRun, ProviderThatExitsBeforeListening) {
  VerifyRun run = RunVerify({"--proto", kUserProto, "--start", "exit 1", kContract});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_EQ(run.result.out, "");
}

// ---------------------------------------------------------------------------------------------
// A provider with two faults (started by --start) and the same verification in other ways.

std::string FaultyProvider() {
  return StartCommand({"--proto", kUserProto, kContract, kWrongNestedValue, kMissingTrailer});
}

TEST(VerifyReflect, GivesTheSameResultsAsProto) {
  VerifyRun proto = RunVerify({"--proto", kUserProto, "--start", FaultyProvider(), kContract});
  VerifyRun reflect = RunVerify({"--reflect", "--start", FaultyProvider(), kContract});
  EXPECT_EQ(proto.exit_code(), 1) << proto.Describe();
  EXPECT_EQ(reflect.exit_code(), 1) << reflect.Describe();
  EXPECT_EQ(Results(reflect.report), Results(proto.report)) << reflect.Describe();
  EXPECT_EQ(FailedPointers(reflect.report), FailedPointers(proto.report)) << reflect.Describe();
  EXPECT_EQ(FailedPointers(proto.report).size(), 2u) << proto.Describe();
}

TEST(VerifyJobs, FourJobsGiveTheSameResultsAsOne) {
  VerifyRun one = RunVerify(
      {"--proto", kUserProto, "-j", "1", "--start", FaultyProvider(), kContract, kStates});
  VerifyRun four = RunVerify(
      {"--proto", kUserProto, "--jobs", "4", "--start", FaultyProvider(), kContract, kStates});
  EXPECT_EQ(one.exit_code(), 1) << one.Describe();
  EXPECT_EQ(four.exit_code(), 1) << four.Describe();
  EXPECT_EQ(Results(four.report), Results(one.report)) << four.Describe();
  EXPECT_EQ(FailedPointers(four.report), FailedPointers(one.report)) << four.Describe();
  std::vector<std::string> one_lines = Lines(one.result.out), four_lines = Lines(four.result.out);
  std::sort(one_lines.begin(), one_lines.end());
  std::sort(four_lines.begin(), four_lines.end());
  EXPECT_EQ(four_lines, one_lines);
}

TEST(VerifyJUnit, OneTestcasePerInteractionAndAFailureForEachFailed) {
  const fs::path junit = TestDir() / "junit.xml";
  VerifyRun run = RunVerify(
      {"--proto", kUserProto, "--junit", junit.string(), "--start", FaultyProvider(), kContract});
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  const std::string xml = ReadFile(junit);
  EXPECT_EQ(Count(xml, "<testcase "), 8u) << xml;
  EXPECT_EQ(Count(xml, "<failure"), 2u) << xml;
  // Each failure sits in the testcase of its interaction.
  for (const std::string name : {"get user 42", "get missing user 404"}) {
    size_t at = xml.find(absl::StrCat("<testcase name=\"", name, "\""));
    ASSERT_NE(at, std::string::npos) << xml;
    size_t end = xml.find("</testcase>", at);
    ASSERT_NE(end, std::string::npos) << name << " has no failure\n" << xml;
    EXPECT_NE(xml.substr(at, end - at).find("<failure"), std::string::npos) << xml;
  }
  EXPECT_THAT(xml, HasSubstr("/response/body/user/orders/0/items/1/quantity"));
  EXPECT_THAT(xml, HasSubstr("<testcase name=\"stream three active users\""));
  const std::string parse =
      absl::StrCat("python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' '",
                   junit.string(), "'");
  EXPECT_EQ(system(parse.c_str()), 0) << "not well-formed XML:\n" << xml;
}

// ---------------------------------------------------------------------------------------------
// Against one running `understudy serve` of contract.json.

class VerifyAgainstContract : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_.Start({"--proto", kUserProto, kContract}); }
  static void TearDownTestSuite() { server_.Stop(); }
  void SetUp() override { ASSERT_TRUE(server_.Ready()); }

  static VerifyRun Verify(std::vector<std::string> args) {
    args.insert(args.begin(), {"--proto", kUserProto, "--target", server_->address()});
    return RunVerify(args);
  }

  static SharedServe server_;
};
SharedServe VerifyAgainstContract::server_;

TEST_F(VerifyAgainstContract, SetupHookGetsTheStatesOfEachInteractionWithGiven) {
  const fs::path states = TestDir() / "states.jsonl";
  VerifyRun run = Verify({"--setup", absl::StrCat("cat >> '", states.string(), "'"), kStates});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  std::vector<nlohmann::json> calls;
  for (const auto& line : Lines(ReadFile(states))) {
    calls.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  ASSERT_EQ(calls.size(), 2u) << "one run per interaction with `given`, none for the other\n"
                              << ReadFile(states);
  EXPECT_EQ(calls[0], nlohmann::json({{"interaction", "get user 42 once it exists"},
                                      {"file", kStates},
                                      {"method", "user.UserService/GetUser"},
                                      {"states", {"user 42 exists", "user 42 has one order"}}}));
  EXPECT_EQ(calls[1], nlohmann::json({{"interaction", "get missing user once nobody exists"},
                                      {"file", kStates},
                                      {"method", "user.UserService/GetUser"},
                                      {"states", {"no users"}}}));
}

TEST_F(VerifyAgainstContract, SetupHookDoesNotRunWithoutGiven) {
  const fs::path states = TestDir() / "states.jsonl";
  VerifyRun run = Verify({"--setup", absl::StrCat("cat >> '", states.string(), "'"), kContract});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  EXPECT_FALSE(fs::exists(states)) << ReadFile(states);
}

TEST_F(VerifyAgainstContract, FailingSetupHookFailsItsInteractionAtGiven) {
  VerifyRun run = Verify({"--setup", "exit 3", kStates});
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  EXPECT_EQ(Results(run.report),
            (std::map<std::string, std::string>{{"get user 42 once it exists", "FAIL"},
                                                {"get user 7 without a state", "PASS"},
                                                {"get missing user once nobody exists", "FAIL"}}))
      << run.Describe();
  for (const auto& [name, pointers] : FailedPointers(run.report)) {
    EXPECT_THAT(pointers, ElementsAre("/given")) << name << "\n" << run.Describe();
  }
  EXPECT_THAT(run.result.out, HasSubstr("    /given: ")) << run.Describe();
}

// A hook that hangs is killed (with what it started) at --setup-timeout, and the run stops there
// with exit 2: later steps of a scenario would only see a provider in an unknown state.
TEST_F(VerifyAgainstContract, HangingSetupHookIsKilledAtSetupTimeoutAndExitsTwo) {
  const fs::path pid_file = TestDir() / "hook.pid";
  VerifyRun run = Verify({"--setup", absl::StrCat("sleep 60 & echo $! > '", pid_file.string(),
                                                  "'; wait"),
                          "--setup-timeout", "0.3", kStates});
  EXPECT_EQ(run.exit_code(), 2) << run.Describe();
  EXPECT_THAT(run.result.err, HasSubstr("--setup: the setup hook did not finish within 300 ms "
                                        "(--setup-timeout)"))
      << run.Describe();
  // The report holds what ran: the first interaction with `given`, failed at /given.
  EXPECT_EQ(FailedPointers(run.report),
            (std::map<std::string, std::vector<std::string>>{
                {"get user 42 once it exists", {"/given"}}}))
      << run.Describe();
  ASSERT_TRUE(fs::exists(pid_file));
  const int pid = std::stoi(ReadFile(pid_file));
  // Killed, it may linger as a zombie until whoever inherited it reaps it.
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const bool alive = !stat.empty() && stat.find(") Z ") == std::string::npos;
  EXPECT_FALSE(alive) << "the hook's sleep outlived the timeout: " << stat;
}

// A file path with a byte that is not UTF-8, a name with U+FFFE and a control character, an
// expected value with U+FFFF: both reports parse (strict parsers), with every such byte shown.
TEST_F(VerifyAgainstContract, ReportsParseWhateverBytesNamesPathsAndValuesHold) {
  const fs::path dir = TestDir();
  const fs::path contract = dir / "caf\xff.json";
  nlohmann::json file = {{"interactions",
                          {{{"name", "get user 42 \xef\xbf\xbe\x01"},
                            {"method", "user.UserService/GetUser"},
                            {"request", {{"body", {{"userId", "42"}}}}},
                            {"response", {{"body", {{"user", {{"name", "Ada\xef\xbf\xbf"}}}}}}}}}}};
  std::ofstream(contract) << file.dump();
  const fs::path junit = dir / "junit.xml";
  VerifyRun run = Verify({"--junit", junit.string(), contract.string()});
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  const std::string check =
      "/usr/bin/python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' ";
  EXPECT_EQ(std::system((check + "'" + junit.string() + "'").c_str()), 0)
      << "not valid XML:\n" << ReadFile(junit);
  const std::string xml = ReadFile(junit);
  EXPECT_THAT(xml, HasSubstr("get user 42 \\uFFFE\\u0001")) << xml;
  EXPECT_THAT(xml, HasSubstr("caf\\xFF.json")) << xml;
  EXPECT_THAT(xml, HasSubstr("Ada\\uFFFF")) << xml;
  ASSERT_TRUE(run.report.is_object()) << "not valid JSON\n" << run.Describe();
  const auto& entry = run.report["interactions"][0];
  EXPECT_THAT(entry.value("file", ""), HasSubstr("caf\\xFF.json"));
  EXPECT_EQ(entry["differences"][0].value("expected", ""), "\"Ada\xef\xbf\xbf\"");
}

TEST_F(VerifyAgainstContract, ColorNeverAndNoColorPrintNoEscapes) {
  VerifyRun never = Verify({"--color", "never", kContract});
  EXPECT_EQ(never.exit_code(), 0) << never.Describe();
  EXPECT_THAT(never.result.out, Not(HasSubstr("\033"))) << never.Describe();

  setenv("NO_COLOR", "1", 1);
  VerifyRun no_color = Verify({kContract});
  unsetenv("NO_COLOR");
  EXPECT_EQ(no_color.exit_code(), 0) << no_color.Describe();
  EXPECT_THAT(no_color.result.out, Not(HasSubstr("\033"))) << no_color.Describe();
}

TEST_F(VerifyAgainstContract, ColorAlwaysPrintsEscapes) {
  VerifyRun run = Verify({"--color", "always", kContract});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  EXPECT_THAT(run.result.out, HasSubstr("\033[")) << run.Describe();
}

TEST_F(VerifyAgainstContract, SummaryLineIsLastOnStdout) {
  VerifyRun run = Verify({kContract, kStates});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  std::vector<std::string> lines = Lines(run.result.out);
  ASSERT_EQ(lines.size(), 12u) << run.Describe();
  EXPECT_EQ(lines.back(), "11 passed, 0 failed") << run.Describe();
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_TRUE(absl::StartsWith(lines[i], "PASS ")) << lines[i];
  }
}

TEST_F(VerifyAgainstContract, SummaryLineIsLastOnStdoutWhenSomethingFailed) {
  VerifyRun run = Verify({"--setup", "exit 3", kStates});
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  std::vector<std::string> lines = Lines(run.result.out);
  ASSERT_FALSE(lines.empty()) << run.Describe();
  EXPECT_EQ(lines.back(), "1 passed, 2 failed") << run.Describe();
}

// ---------------------------------------------------------------------------------------------
// --header: the provider answers 42 only with `authorization: Bearer x`, and 7 only without
// any authorization.

class VerifyHeaders : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_.Start({"--proto", kUserProto, kAuthProvider}); }
  static void TearDownTestSuite() { server_.Stop(); }
  void SetUp() override { ASSERT_TRUE(server_.Ready()); }

  static VerifyRun Verify(std::vector<std::string> args) {
    args.insert(args.begin(), {"--proto", kUserProto, "--target", server_->address()});
    return RunVerify(args);
  }

  static SharedServe server_;
};
SharedServe VerifyHeaders::server_;

TEST_F(VerifyHeaders, HeaderIsSentWithEveryCall) {
  VerifyRun run = Verify({"-H", "authorization: Bearer x", kAuthContract});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  EXPECT_EQ(Results(run.report)["get user 42 as a signed-in caller"], "PASS") << run.Describe();
}

TEST_F(VerifyHeaders, WithoutHeaderTheSignedInCallFails) {
  VerifyRun run = Verify({kAuthContract});
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  EXPECT_EQ(FailedPointers(run.report),
            (std::map<std::string, std::vector<std::string>>{
                {"get user 42 as a signed-in caller", {"/response/status/code"}}}))
      << run.Describe();
}

TEST_F(VerifyHeaders, AbsentMetadataIsNotSentEvenWithHeader) {
  VerifyRun run = Verify({"--header", "authorization: Bearer x", kAuthContract});
  EXPECT_EQ(Results(run.report)["get public profile of user 7 anonymously"], "PASS")
      << run.Describe();
}

// A provider that leaves a process behind which ignores SIGTERM (and holds the output pipe):
// verify still ends, with its verdict, and the process group is gone.
TEST(VerifyStart, StopsTheWholeProviderGroupEvenWhatIgnoresSigterm) {
  std::string marker = (TestDir() / "stubborn").string();
  std::string start = "(trap '' TERM; exec sleep 300 " + marker + ") & " +
                      StartCommand({"--proto", "proto/user.proto", kContract});
  VerifyRun run = RunVerify({"--proto", "proto/user.proto", "--start", start, kContract});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  // "[s]leep": the pattern must not match the command line of the shell that runs pgrep.
  int still_running = std::system(("pgrep -f '[s]leep 300 " + marker + "' >/dev/null").c_str());
  EXPECT_NE(still_running, 0) << "the process that ignored SIGTERM outlived verify";
}

}  // namespace
}  // namespace understudy

