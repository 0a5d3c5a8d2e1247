// `understudy fuzz` as a user runs it, against real gRPC servers it knows only by address:
// buggy_user_server (a UserService with planted bugs, in C++) and `understudy serve`.
//
// A finding must be found within a fixed budget and seed, printed as a FINDING line, written as an
// interaction file that `understudy check` accepts and `understudy verify` replays — passing
// against the buggy server, failing against the fixed one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::ChildProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::RunResult;
using testing::RunUnderstudy;
using testing::ServeProcess;
using testing::SourceDir;

constexpr char kUserProto[] = "proto/user.proto";
// With --seed 1 the planted bugs are found within the first thousand calls (under a second);
// the bound leaves room for changes to the mutator while keeping each run to a few seconds.
constexpr char kCalls[] = "8000";
constexpr char kDuration[] = "40";
constexpr auto kRunTimeout = std::chrono::seconds(90);
// A slow answer under a sanitizer or a busy machine must not count: tests that expect an exact
// set of findings leave deadlines out of them (FuzzCommand.ReportsAHangThatReplays tests those).
const std::vector<std::string> kNoDeadlineFindings = {"--bug-status", "UNKNOWN,INTERNAL"};

// A local address that refuses connections: a port bound (so no one else takes it) without
// listening. Closed when it goes.
class RefusingPort {
 public:
  RefusingPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) == 0) {
      address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  const std::string& address() const { return address_; }  // empty when it could not bind

 private:
  int fd_;
  std::string address_;
};

// buggy_user_server --mode MODE, serving.
class BuggyServer {
 public:
  explicit BuggyServer(const std::string& mode) {
    auto child = ChildProcess::Spawn(BUGGY_USER_SERVER, {"--mode", mode}, SourceDir());
    if (!child.ok()) {
      error_ = child.status().ToString();
      return;
    }
    child_ = std::move(*child);
    auto line = child_->WaitForLine("listening on ", std::chrono::seconds(20));
    if (!line.ok()) {
      error_ = absl::StrCat(line.status().ToString(), "\n", child_->err());
      return;
    }
    address_ = line->substr(std::string("listening on ").size());
  }
  ::testing::AssertionResult Ready() const {
    if (error_.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "buggy_user_server did not start: " << error_;
  }
  const std::string& address() const { return address_; }
  ChildProcess* child() { return child_.get(); }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string address_;
  std::string error_;
};

fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_fuzz_test" /
                 absl::StrCat(info->test_suite_name(), ".", info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) out.emplace_back(line);
  }
  return out;
}

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path());
  return out;
}

json ReadJson(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

std::string Describe(const RunResult& run) {
  return absl::StrCat("exit code ", run.exit_code, "\nstdout:\n", run.out, "\nstderr:\n", run.err);
}

// `understudy fuzz --seed 1` against `target`, at most `calls` calls or kDuration seconds, with
// kNoDeadlineFindings.
RunResult Fuzz(const std::string& target, const fs::path& out,
               const std::vector<std::string>& extra, const std::string& calls = kCalls) {
  std::vector<std::string> args = {"fuzz",    "--proto", kUserProto,  "--target", target,
                                   "--seed",  "1",       "--calls",   calls,      "--duration",
                                   kDuration, "--out",   out.string()};
  args.insert(args.end(), kNoDeadlineFindings.begin(), kNoDeadlineFindings.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return RunUnderstudy(args, kRunTimeout);
}

RunResult Verify(const std::string& target, const fs::path& path) {
  return RunUnderstudy({"verify", "--proto", kUserProto, "--target", target, path.string()});
}

TEST(FuzzCommand, FindsThePlantedInternalErrorAndWritesAFileThatReplaysIt) {
  BuggyServer buggy("internal");
  ASSERT_TRUE(buggy.Ready());
  fs::path out = TestDir() / "findings";

  RunResult run = Fuzz(buggy.address(), out, {});

  ASSERT_EQ(run.exit_code, 1) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"),
              ElementsAre("FINDING user.UserService/CreateUserStream INTERNAL"))
      << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("calls/s")) << "the summary line";
  std::vector<fs::path> files = FilesIn(out);
  ASSERT_EQ(files.size(), 1u) << Describe(run);
  json file = ReadJson(files[0]);
  ASSERT_TRUE(file.is_object()) << files[0];
  const json& interaction = file.at("interactions").at(0);
  EXPECT_EQ(interaction.at("method"), "user.UserService/CreateUserStream");
  EXPECT_EQ(interaction.at("response").at("status"),
            json({{"code", "INTERNAL"}, {"message", "division by zero"}}));
  // The request is the stream sent: a message after the first suspends a user.
  const json& stream = interaction.at("request").at("stream");
  bool suspends_later = false;
  for (size_t i = 1; i < stream.size(); ++i) {
    suspends_later |= stream[i].value("status", "") == "USER_STATUS_SUSPENDED";
  }
  EXPECT_TRUE(suspends_later) << stream.dump();

  RunResult check = RunUnderstudy({"check", "--proto", kUserProto, out.string()});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  RunResult replay = Verify(buggy.address(), out);
  EXPECT_EQ(replay.exit_code, 0) << "the file reproduces the bug\n" << Describe(replay);
  EXPECT_THAT(replay.out, HasSubstr("PASS "));

  BuggyServer fixed("fixed");
  ASSERT_TRUE(fixed.Ready());
  RunResult against_fixed = Verify(fixed.address(), out);
  EXPECT_EQ(against_fixed.exit_code, 1) << "the fix makes it fail\n" << Describe(against_fixed);
  EXPECT_THAT(against_fixed.out, HasSubstr("expected INTERNAL, got OK"));
}

TEST(FuzzCommand, FindsTheBugWithCallsInParallel) {
  BuggyServer buggy("internal");
  ASSERT_TRUE(buggy.Ready());
  fs::path out = TestDir() / "findings";

  RunResult run = Fuzz(buggy.address(), out, {"-j", "4"});

  ASSERT_EQ(run.exit_code, 1) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"),
              ElementsAre("FINDING user.UserService/CreateUserStream INTERNAL"))
      << "one finding however many calls hit it\n"
      << Describe(run);
  EXPECT_EQ(FilesIn(out).size(), 1u);
}

TEST(FuzzCommand, ReflectTakesTheSchemaFromTheServer) {
  auto serve = ServeProcess::Start({"--proto", kUserProto, "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  fs::path out = TestDir() / "findings";

  RunResult run = RunUnderstudy(
      {"fuzz", "--reflect", "--target", (*serve)->address(), "--calls", "500", "--seed", "3",
       "--method", "user.UserService", "--out", out.string(), "--bug-status", "UNKNOWN,INTERNAL"},
      kRunTimeout);

  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("fuzzing 8 methods"));
  EXPECT_THAT(run.err, HasSubstr("fuzz: 500 calls"));
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST(FuzzCommand, SameSeedFindsTheBugAtTheSameCall) {
  std::vector<std::string> descriptions;
  for (int run_index = 0; run_index < 2; ++run_index) {
    BuggyServer buggy("internal");
    ASSERT_TRUE(buggy.Ready());
    fs::path out = TestDir() / absl::StrCat("run", run_index);
    RunResult run = Fuzz(buggy.address(), out, {"--method", "user.UserService"}, "3000");
    ASSERT_EQ(run.exit_code, 1) << Describe(run);
    std::vector<fs::path> files = FilesIn(out);
    ASSERT_EQ(files.size(), 1u) << Describe(run);
    descriptions.push_back(ReadJson(files[0]).at("interactions").at(0).at("description"));
  }
  EXPECT_EQ(descriptions[0], descriptions[1]);
}

TEST(FuzzCommand, ReportsACrashAsCrashAndStops) {
  BuggyServer buggy("crash");
  ASSERT_TRUE(buggy.Ready());
  fs::path out = TestDir() / "findings";

  RunResult run = Fuzz(buggy.address(), out, {});

  ASSERT_EQ(run.exit_code, 1) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"),
              ElementsAre("FINDING user.UserService/UpdateUser crash"))
      << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("the server crashed"));
  EXPECT_EQ(buggy.child()->WaitForExit(std::chrono::seconds(10)), 128 + SIGABRT);
  std::vector<fs::path> files = FilesIn(out);
  ASSERT_EQ(files.size(), 1u) << Describe(run);
  const json interaction = ReadJson(files[0]).at("interactions").at(0);
  EXPECT_EQ(interaction.at("response").at("status"), json({{"code", "UNAVAILABLE"}}));
  const json& body = interaction.at("request").at("body");
  EXPECT_EQ(body.value("status", ""), "USER_STATUS_SUSPENDED") << body.dump();
  EXPECT_FALSE(body.value("updateMask", "").empty()) << body.dump();

  // Replayed against a fresh buggy server, the file crashes it again.
  BuggyServer again("crash");
  ASSERT_TRUE(again.Ready());
  RunResult replay = Verify(again.address(), out);
  EXPECT_EQ(replay.exit_code, 0) << Describe(replay);
  EXPECT_EQ(again.child()->WaitForExit(std::chrono::seconds(10)), 128 + SIGABRT);
}

TEST(FuzzCommand, OnlyFuzzesTheNamedMethods) {
  BuggyServer buggy("internal");
  ASSERT_TRUE(buggy.Ready());
  fs::path out = TestDir() / "findings";

  RunResult run =
      Fuzz(buggy.address(), out,
           {"--method", "/user.UserService/GetUser", "--method", "user.UserService/StreamUsers"},
           "3000");

  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"), IsEmpty());
  EXPECT_THAT(FilesIn(out), IsEmpty());
  EXPECT_THAT(run.err, HasSubstr("fuzzing 2 methods"));
  EXPECT_THAT(run.err, HasSubstr("fuzz: 3000 calls"));
}

TEST(FuzzCommand, CleanServerExitsZero) {
  auto serve = ServeProcess::Start({"--proto", kUserProto, "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  fs::path out = TestDir() / "findings";

  // Seeded from the contracts, with the token they require: calls get past authentication.
  RunResult run =
      RunUnderstudy({"fuzz", "--proto", kUserProto, "--target", (*serve)->address(), "--duration",
                     "3", "--seed", "7", "--out", out.string(), "-H", "authorization: Bearer fuzz",
                     "--bug-status", "UNKNOWN,INTERNAL", "contracts/user_service"},
                    kRunTimeout);

  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"), IsEmpty());
  EXPECT_THAT(FilesIn(out), IsEmpty());
  EXPECT_THAT(run.err, HasSubstr("seed requests"));
  EXPECT_THAT(run.err, HasSubstr("OK ")) << "some calls got past authentication";
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST(FuzzCommand, UnreachableTargetExitsTwo) {
  RefusingPort refusing;
  ASSERT_FALSE(refusing.address().empty());
  fs::path out = TestDir() / "findings";
  RunResult run = RunUnderstudy({"fuzz", "--proto", kUserProto, "--target", refusing.address(),
                                 "--duration", "1", "--out", out.string()},
                                kRunTimeout);
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("cannot reach " + refusing.address()));
  EXPECT_THAT(run.out, IsEmpty());
}

TEST(FuzzCommand, OneBugThatEchoesTheRequestIsAtMostThreeFindings) {
  BuggyServer buggy("echo");
  ASSERT_TRUE(buggy.Ready());
  fs::path out = TestDir() / "findings";

  RunResult run = Fuzz(buggy.address(), out, {"--method", "user.UserService/CreateUser"}, "2000");

  ASSERT_EQ(run.exit_code, 1) << Describe(run);
  std::vector<std::string> findings = LinesStartingWith(run.out, "FINDING");
  EXPECT_THAT(findings.size(), ::testing::AllOf(::testing::Ge(1u), ::testing::Le(3u)))
      << Describe(run);
  EXPECT_THAT(findings, ::testing::Each("FINDING user.UserService/CreateUser INTERNAL"));
  EXPECT_EQ(FilesIn(out).size(), findings.size());
  // Calls kept failing with new names: many INTERNAL answers, a few findings.
  EXPECT_THAT(run.err, ::testing::ContainsRegex("INTERNAL [0-9]{2,}")) << Describe(run);
  std::set<std::string> names;
  for (const auto& file : FilesIn(out)) {
    names.insert(ReadJson(file).at("interactions").at(0).at("name").get<std::string>());
  }
  EXPECT_EQ(names.size(), findings.size()) << "interaction names differ";
  RunResult check = RunUnderstudy({"check", "--proto", kUserProto, out.string()});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
}

// With --seed 1 a negative offset comes within the first few calls; each hung call takes the
// deadline, and the finding's second sending 10 s.
TEST(FuzzCommand, ReportsAHangThatReplays) {
  BuggyServer buggy("hang");
  ASSERT_TRUE(buggy.Ready());
  fs::path out = TestDir() / "findings";

  RunResult run =
      RunUnderstudy({"fuzz", "--proto", kUserProto, "--target", buggy.address(), "--seed", "1",
                     "--calls", "20", "--duration", kDuration, "--deadline", "300", "--method",
                     "user.UserService/ListUsers", "--out", out.string()},
                    kRunTimeout);

  ASSERT_EQ(run.exit_code, 1) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"),
              ElementsAre("FINDING user.UserService/ListUsers DEADLINE_EXCEEDED"))
      << Describe(run);
  std::vector<fs::path> files = FilesIn(out);
  ASSERT_EQ(files.size(), 1u) << Describe(run);
  const json interaction = ReadJson(files[0]).at("interactions").at(0);
  EXPECT_LT(interaction.at("request").at("body").value("offset", 0), 0);
  EXPECT_THAT(interaction.at("description").get<std::string>(),
              HasSubstr("no answer within the 300 ms deadline, nor within 10000 ms"));

  // Under verify's default timeout the call still hangs.
  RunResult replay = Verify(buggy.address(), out);
  EXPECT_EQ(replay.exit_code, 0) << Describe(replay);
}

TEST(FuzzCommand, SlowAnswersAreNotHangs) {
  // Every call of `understudy serve` below waits 400 ms; the deadline is 200 ms.
  fs::path dir = TestDir();
  {
    std::ofstream file(dir / "slow.json");
    file << R"({"interactions": [{"name": "slow", "method": "user.UserService/GetUser",
                "response": {"body": {}, "delayMs": 400}}]})";
  }
  auto serve = ServeProcess::Start({"--proto", kUserProto, (dir / "slow.json").string()});
  ASSERT_TRUE(serve.ok()) << serve.status();

  RunResult run = RunUnderstudy({"fuzz", "--proto", kUserProto, "--target", (*serve)->address(),
                                 "--seed", "1", "--calls", "3", "--deadline", "200", "--method",
                                 "user.UserService/GetUser", "--out", (dir / "findings").string()},
                                kRunTimeout);

  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  EXPECT_THAT(LinesStartingWith(run.out, "FINDING"), IsEmpty());
  EXPECT_THAT(run.err, HasSubstr("DEADLINE_EXCEEDED 3")) << "the calls did time out";
  EXPECT_EQ((*serve)->Stop(), 0);
}

struct BadFlags {
  std::string name;
  std::vector<std::string> args;
  std::string says;
};

void PrintTo(const BadFlags& bad, std::ostream* os) { *os << bad.name; }

class FuzzBadFlags : public ::testing::TestWithParam<BadFlags> {};

TEST_P(FuzzBadFlags, ExitTwoBeforeCalling) {
  std::vector<std::string> args = {"fuzz"};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  RunResult run = RunUnderstudy(args);
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr(GetParam().says)) << Describe(run);
  EXPECT_THAT(run.out, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Flags, FuzzBadFlags,
    ::testing::Values(
        BadFlags{"NoSchema", {"--target", "127.0.0.1:1"}, "--reflect"},
        BadFlags{"NoTarget", {"--proto", kUserProto}, "--target is required"},
        BadFlags{"UnknownMethod",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "--method",
                  "user.UserService/GetUsr"},
                 "did you mean \"user.UserService/GetUser\""},
        BadFlags{
            "UnknownStatus",
            {"--proto", kUserProto, "--target", "127.0.0.1:1", "--bug-status", "INTERNAL,OOPS"},
            "unknown status code \"OOPS\""},
        BadFlags{"BadHeader",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "-H", "no colon"},
                 "expected KEY: VALUE"},
        BadFlags{
            "ZeroJobs", {"--proto", kUserProto, "--target", "127.0.0.1:1", "-j", "0"}, "--jobs"},
        BadFlags{"TooManyJobs",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "-j", "1000"},
                 "--jobs"},
        BadFlags{"NegativeDuration",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "--duration", "-5"},
                 "--duration"},
        BadFlags{"ZeroCalls",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "--calls", "0"},
                 "--calls"},
        BadFlags{"BinaryHeaderNotBase64",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "-H", "x-trace-bin: no!"},
                 "a -bin header takes base64"},
        BadFlags{"OutIsAFile",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "--out", "README.md/x"},
                 "--out README.md/x: cannot create"},
        BadFlags{"BadSeedFile",
                 {"--proto", kUserProto, "--target", "127.0.0.1:1", "tests/data/bad"},
                 "tests/data/bad/"},
        BadFlags{"UnknownFlag", {"--proto", kUserProto, "--frobnicate"}, "frobnicate"}),
    [](const ::testing::TestParamInfo<BadFlags>& info) { return info.param.name; });

}  // namespace
}  // namespace understudy
