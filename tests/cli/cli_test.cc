// The `understudy` command line as scripts use it (SPEC.md, "Command line"): exit codes, the
// `listening on` line, problem lines `FILE: POINTER: MESSAGE`, signals, and `call`.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunResult;
using testing::RunUnderstudy;
using testing::ServeProcess;
using testing::SharedServe;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

// The first line of `text` that starts with `prefix`, or "" when there is none.
std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  for (const auto& line : Lines(text)) {
    if (absl::StartsWith(line, prefix)) return line;
  }
  return "";
}

std::string Describe(const RunResult& result) {
  return "exit code " + std::to_string(result.exit_code) + "\nstdout:\n" + result.out +
         "\nstderr:\n" + result.err;
}

// A fresh directory for files a test writes.
fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_cli_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// ---------------------------------------------------------------------------------------------
// check

TEST(CheckCommand, AcceptsUserServiceContracts) {
  RunResult result =
      RunUnderstudy({"check", "--proto", "proto/user.proto", "contracts/user_service"});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(Lines(result.out), ElementsAre(::testing::StartsWith("OK")));
  EXPECT_EQ(result.err, "");
}

TEST(CheckCommand, AcceptsInventoryWithProtoFileUnderImportRoot) {
  RunResult result = RunUnderstudy({"check", "--proto", "proto/inventory/v1/inventory.proto", "-I",
                                    "proto", "tests/data/inventory"});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(result.out, ::testing::StartsWith("OK"));
}

// SPEC.md: `--proto FILE` is resolved against the import paths, as protoc and grpcurl do; this is
// the command tests/data/inventory/README.md gives.
TEST(CheckCommand, ResolvesProtoFileAgainstImportPaths) {
  RunResult result = RunUnderstudy(
      {"check", "-I", "proto", "--proto", "inventory/v1/inventory.proto", "tests/data/inventory"});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(result.out, ::testing::StartsWith("OK"));
}

// Flags may follow the paths, as with protoc and grpcurl; a repeatable flag takes one value.
TEST(CheckCommand, AcceptsFlagsAfterPaths) {
  RunResult result = RunUnderstudy(
      {"check", "--proto", "proto/user.proto", "contracts/user_service", "-I", "proto"});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(result.out, ::testing::StartsWith("OK"));
}

TEST(CheckCommand, FailsWithoutPaths) {
  RunResult result = RunUnderstudy({"check", "--proto", "proto/user.proto"});
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
}

// One broken file of tests/data/bad (see its README.md): the pointer and the facts its error
// must name.
struct BadFile {
  std::string file;
  // Empty when the error has no pointer (the line is then `FILE: MESSAGE`).
  std::string pointer;
  std::vector<std::string> facts;
};

std::ostream& operator<<(std::ostream& out, const BadFile& bad) { return out << bad.file; }

const std::vector<BadFile>& BadFiles() {
  static const auto* files = new std::vector<BadFile>{
      {"unknown_field.json",
       "/interactions/0/request/body/userid",
       {"\"userid\"", "user.GetUserRequest", "\"userId\""}},
      {"unknown_method.json", "/interactions/0/method", {"\"GetUsr\"", "user.UserService"}},
      {"unknown_service.json", "/interactions/0/method", {"user.AccountService"}},
      {"duplicate_name.json", "/interactions/1/name", {"\"get user 42\"", "/interactions/0"}},
      {"wrong_type.json", "/interactions/0/request/body/limit", {"\"ten\"", "int32"}},
      {"body_for_stream.json",
       "/interactions/0/request/body",
       {"user.UserService/CreateUserStream", "client streaming"}},
      {"stream_for_unary.json",
       "/interactions/0/response/stream",
       {"user.UserService/GetUser", "unary"}},
      {"bad_regex.json", "/interactions/0/request/body/userId/$regex", {"(unclosed", "missing )"}},
      {"unknown_matcher.json", "/interactions/0/request/body/userId/$regexp", {"$regexp"}},
      {"bad_status_code.json", "/interactions/0/response/status/code", {"\"NOT_A_CODE\""}},
      {"invalid_json.json", "", {"line 6"}},
      {"missing_method.json", "/interactions/0/method", {"missing", "package.Service/Method"}},
      {"bad_enum.json",
       "/interactions/0/request/body/status",
       {"\"USER_STATUS_DELETED\"", "user.UserStatus"}},
      {"not_an_object.json", "", {"object"}},
      {"duplicate_key.json",
       "/interactions/0/request/body/userId",
       {"duplicate key \"userId\"", "already"}},
      {"huge_delay.json",
       "/interactions/0/response/stream/0/delayMs",
       {"9223372036854775807", "86400000"}},
  };
  return *files;
}

// The problem line for `bad` in `text`, checked for its pointer and facts.
void ExpectProblemLine(const std::string& text, const BadFile& bad) {
  std::string prefix = "tests/data/bad/" + bad.file + ": ";
  if (!bad.pointer.empty()) prefix += bad.pointer + ": ";
  std::string line = LineStartingWith(text, prefix);
  ASSERT_NE(line, "") << "no line starting with \"" << prefix << "\" in:\n" << text;
  for (const auto& fact : bad.facts) EXPECT_THAT(line, HasSubstr(fact)) << bad.file;
}

TEST(CheckCommand, ReportsEveryProblemOfADirectory) {
  RunResult result = RunUnderstudy({"check", "--proto", "proto/user.proto", "tests/data/bad"});
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_THAT(result.out, Not(HasSubstr("OK")));
  for (const auto& bad : BadFiles()) {
    SCOPED_TRACE(bad.file);
    ExpectProblemLine(result.err, bad);
  }
  // Every line is a problem line `FILE: ...`.
  for (const auto& line : Lines(result.err)) {
    EXPECT_THAT(line, ::testing::MatchesRegex("tests/data/bad/[a-z_]+\\.json: .+"));
  }
}

class BadFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadFileTest, CheckExitsTwoWithThePointerAndFacts) {
  const BadFile& bad = GetParam();
  RunResult result =
      RunUnderstudy({"check", "--proto", "proto/user.proto", "tests/data/bad/" + bad.file});
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  ExpectProblemLine(result.err, bad);
}

TEST_P(BadFileTest, ServeRefusesToStartWithTheSameError) {
  const BadFile& bad = GetParam();
  RunResult result = RunUnderstudy({"serve", "--proto", "proto/user.proto", "--listen",
                                    "127.0.0.1:0", "tests/data/bad/" + bad.file},
                                   std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_THAT(result.out, Not(HasSubstr("listening on")));
  ExpectProblemLine(result.err, bad);
}

INSTANTIATE_TEST_SUITE_P(BadFiles, BadFileTest, ::testing::ValuesIn(BadFiles()),
                         [](const ::testing::TestParamInfo<BadFile>& info) {
                           std::string name;
                           bool upper = true;
                           for (char c : info.param.file.substr(0, info.param.file.find('.'))) {
                             if (c == '_') {
                               upper = true;
                               continue;
                             }
                             name += upper ? static_cast<char>(std::toupper(c)) : c;
                             upper = false;
                           }
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// serve

TEST(ServeCommand, BadFileAmongGoodOnesStartsNothing) {
  fs::path dir = TestDir();
  fs::copy_file(fs::path(testing::SourceDir()) / "contracts/user_service/get_user.json",
                dir / "get_user.json");
  fs::copy_file(fs::path(testing::SourceDir()) / "tests/data/bad/unknown_field.json",
                dir / "unknown_field.json");
  RunResult result = RunUnderstudy(
      {"serve", "--proto", "proto/user.proto", "--listen", "127.0.0.1:0", dir.string()},
      std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr((dir / "unknown_field.json").string() +
                                    ": /interactions/0/request/body/userid: "));
}

TEST(ServeCommand, ReportsProtoSyntaxErrorWithFileLineAndColumn) {
  fs::path dir = TestDir();
  WriteFile(dir / "broken.proto",
            "syntax = \"proto3\";\n"
            "package broken;\n"
            "\n"
            "message M {\n"
            "  string name = 1\n"
            "}\n");
  RunResult result = RunUnderstudy({"serve", "--proto", (dir / "broken.proto").string(), "--listen",
                                    "127.0.0.1:0", "contracts/user_service"},
                                   std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_THAT(result.out, Not(HasSubstr("listening on")));
  // protoc: `broken.proto:6:1: Expected ";".`
  EXPECT_THAT(result.err, HasSubstr("broken.proto:6:1: "));
}

TEST(ServeCommand, ReportsUndefinedTypeWithFileLineAndColumn) {
  fs::path dir = TestDir();
  WriteFile(dir / "undefined.proto",
            "syntax = \"proto3\";\n"
            "package broken;\n"
            "\n"
            "message M {\n"
            "  Missing name = 1;\n"
            "}\n");
  RunResult result = RunUnderstudy({"serve", "--proto", (dir / "undefined.proto").string(),
                                    "--listen", "127.0.0.1:0", "contracts/user_service"},
                                   std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_THAT(result.out, Not(HasSubstr("listening on")));
  // protoc: `undefined.proto:5:3: "Missing" is not defined.`
  EXPECT_THAT(result.err, HasSubstr("undefined.proto:5:3: "));
  EXPECT_THAT(result.err, HasSubstr("\"Missing\" is not defined"));
}

TEST(ServeCommand, MissingProtoFileExitsTwo) {
  RunResult result = RunUnderstudy({"serve", "--proto", "proto/no_such.proto", "--listen",
                                    "127.0.0.1:0", "contracts/user_service"},
                                   std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_THAT(result.out, Not(HasSubstr("listening on")));
  EXPECT_THAT(result.err, HasSubstr("proto/no_such.proto"));
}

TEST(ServeCommand, PrintsOnlyTheListeningLineAndExitsZeroOnSigterm) {
  auto serve = ServeProcess::Start({"--proto", "proto/user.proto", "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  EXPECT_THAT((*serve)->address(), ::testing::MatchesRegex("127\\.0\\.0\\.1:[1-9][0-9]*"));
  auto channel = grpc::CreateChannel((*serve)->address(), grpc::InsecureChannelCredentials());
  EXPECT_TRUE(
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  // An idle connection left open would hold the server for its whole grace period.
  channel.reset();
  EXPECT_EQ((*serve)->Stop(SIGTERM), 0) << (*serve)->err();
  EXPECT_EQ((*serve)->out(), "listening on " + (*serve)->address() + "\n");
}

TEST(ServeCommand, ExitsZeroOnSigint) {
  auto serve = ServeProcess::Start({"--proto", "proto/user.proto", "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  EXPECT_EQ((*serve)->Stop(SIGINT), 0) << (*serve)->err();
}

TEST(ServeCommand, SigtermLetsTheCallInFlightFinish) {
  auto serve = ServeProcess::Start({"--proto", "proto/user.proto", "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  auto stub = user::UserService::NewStub(
      grpc::CreateChannel((*serve)->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer t");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);
  auto reader = stub->StreamUsers(&context, request);
  std::vector<std::string> ids;
  user::UserResponse message;
  ASSERT_TRUE(reader->Read(&message));  // the call is in flight
  ids.push_back(message.user().id());

  auto exit_code = std::async(std::launch::async, [&] { return (*serve)->Stop(SIGTERM); });
  while (reader->Read(&message)) ids.push_back(message.user().id());
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_THAT(ids, ElementsAre("42", "21", "58"));
  EXPECT_EQ(exit_code.get(), 0) << (*serve)->err();
}

// The admin service, called with raw bytes: an empty request is a valid ListInteractionsRequest.
grpc::Status CallListInteractions(const std::string& address, const std::string& token = "") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  return testing::GenericUnaryCall(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()),
                                   &context, "/understudy.admin.v1.MockAdmin/ListInteractions", "");
}

TEST(ServeCommand, ServesTheAdminServiceByDefault) {
  auto serve = ServeProcess::Start({"--proto", "proto/user.proto", "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  grpc::Status status = CallListInteractions((*serve)->address());
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ((*serve)->Stop(SIGTERM), 0) << (*serve)->err();
}

TEST(ServeCommand, NoAdminLeavesAdminMethodsUnimplemented) {
  auto serve = ServeProcess::Start(
      {"--proto", "proto/user.proto", "--no-admin", "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  EXPECT_EQ(CallListInteractions((*serve)->address()).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ((*serve)->Stop(SIGTERM), 0) << (*serve)->err();
}

TEST(ServeCommand, AdminTokenIsRequiredOnAdminCalls) {
  auto serve = ServeProcess::Start(
      {"--proto", "proto/user.proto", "--admin-token", "s3cret", "contracts/user_service"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  EXPECT_EQ(CallListInteractions((*serve)->address()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status status = CallListInteractions((*serve)->address(), "s3cret");
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ((*serve)->Stop(SIGTERM), 0) << (*serve)->err();
}

// ---------------------------------------------------------------------------------------------
// call, against a served mock

class CallCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_.Start({"--proto", "proto/user.proto", "contracts/user_service"});
  }
  static void TearDownTestSuite() { server_.Stop(); }
  void SetUp() override { ASSERT_TRUE(server_.Ready()); }

  RunResult Call(const std::string& method, const std::string& data,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"call", "--proto", "proto/user.proto", "-d", data};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(server_->address());
    args.push_back(method);
    return RunUnderstudy(args);
  }

  static SharedServe server_;
};

SharedServe CallCommand::server_;

const std::vector<std::string> kAuth = {"-H", "authorization: Bearer t"};

std::vector<std::string> With(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(CallCommand, PrintsTheAnswerAsJson) {
  RunResult result = Call("user.UserService/GetUser", R"({"userId": "42"})", kAuth);
  ASSERT_EQ(result.exit_code, 0) << Describe(result);
  nlohmann::json answer = nlohmann::json::parse(result.out);
  EXPECT_EQ(answer["user"]["id"], "42");
  EXPECT_EQ(answer["user"]["name"], "Ada Lovelace");
  EXPECT_EQ(answer["user"]["status"], "USER_STATUS_ACTIVE");
  EXPECT_EQ(answer["user"]["createdAt"], "2024-01-15T10:30:00Z");
  EXPECT_EQ(answer["user"]["orders"][0]["id"], "ord-1001");
  EXPECT_EQ(answer["user"]["orders"][0]["items"].size(), 2u);
}

TEST_F(CallCommand, CompactPrintsOneJsonObjectPerStreamMessage) {
  RunResult result = Call("user.UserService/StreamUsers", R"({"status": "USER_STATUS_ACTIVE"})",
                          With(kAuth, {"--compact"}));
  ASSERT_EQ(result.exit_code, 0) << Describe(result);
  std::vector<std::string> ids;
  for (const auto& line : Lines(result.out)) {
    nlohmann::json message = nlohmann::json::parse(line);
    ids.push_back(message["user"]["id"]);
  }
  EXPECT_THAT(ids, ElementsAre("42", "21", "58"));
}

TEST_F(CallCommand, ExitsOneWithTheStatusOnAnError) {
  RunResult result = Call("user.UserService/GetUser", R"({"userId": "404"})", kAuth);
  EXPECT_EQ(result.exit_code, 1) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(result.err, HasSubstr("User 404 not found"));
}

TEST_F(CallCommand, ExitsOneWhenUnauthenticated) {
  RunResult result = Call("user.UserService/GetUser", R"({"userId": "42"})");
  EXPECT_EQ(result.exit_code, 1) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(CallCommand, StreamThatFailsPrintsItsMessagesThenTheStatus) {
  RunResult result =
      Call("user.UserService/StreamUsers", R"({"limit": 1000})", With(kAuth, {"--compact"}));
  EXPECT_EQ(result.exit_code, 1) << Describe(result);
  std::vector<std::string> ids;
  for (const auto& line : Lines(result.out))
    ids.push_back(nlohmann::json::parse(line)["user"]["id"]);
  EXPECT_THAT(ids, ElementsAre("42", "7"));
  EXPECT_THAT(result.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(result.err, HasSubstr("Stream quota exceeded"));
}

TEST_F(CallCommand, ClientStreamSendsEveryMessage) {
  RunResult result = Call("user.UserService/CreateUserStream",
                          R"({"name": "Ada", "email": "ada@example.com"}
                             {"name": "Grace", "email": "grace@example.com"})",
                          With(kAuth, {"--compact"}));
  ASSERT_EQ(result.exit_code, 0) << Describe(result);
  nlohmann::json answer = nlohmann::json::parse(result.out);
  EXPECT_EQ(answer["createdCount"], 2);
  EXPECT_EQ(answer["user"]["name"], "Grace");
  EXPECT_EQ(answer["userIds"], nlohmann::json({"201", "202"}));
}

TEST_F(CallCommand, BidiStreamPrintsEveryAnswer) {
  RunResult result = Call("user.UserService/BidirectionalStream",
                          R"({"requestId": "r1", "action": "get", "userId": "42"}
                             {"requestId": "r2", "action": "get", "userId": "7"}
                             {"requestId": "r3", "action": "ping"})",
                          With(kAuth, {"--compact"}));
  ASSERT_EQ(result.exit_code, 0) << Describe(result);
  std::vector<nlohmann::json> answers;
  for (const auto& line : Lines(result.out)) answers.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(answers.size(), 3u) << result.out;
  EXPECT_EQ(answers[0]["user"]["name"], "Ada Lovelace");
  EXPECT_EQ(answers[1]["user"]["name"], "Grace Hopper");
  EXPECT_EQ(answers[2]["message"], "pong");
}

// `call -H` takes a -bin header in base64 and sends the bytes, as grpcurl does: the mock below
// requires the bytes 01 02 03 (written "AQID" in its file, as every -bin value is).
class CallBinaryHeader : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::path dir = fs::path(::testing::TempDir()) / "understudy_cli_test" / "CallBinaryHeader";
    fs::remove_all(dir);
    fs::create_directories(dir);
    WriteFile(dir / "traced.json", R"({"interactions": [
        {"name": "traced", "method": "user.UserService/GetUser",
         "request": {"metadata": {"x-trace-bin": "AQID"}},
         "response": {"body": {"user": {"id": "traced"}}}}]})");
    server_.Start({"--proto", "proto/user.proto", (dir / "traced.json").string()});
  }
  static void TearDownTestSuite() { server_.Stop(); }
  void SetUp() override { ASSERT_TRUE(server_.Ready()); }

  RunResult Call(const std::vector<std::string>& headers) {
    std::vector<std::string> args = {"call", "--proto", "proto/user.proto", "-d", "{}"};
    args.insert(args.end(), headers.begin(), headers.end());
    args.push_back(server_->address());
    args.push_back("user.UserService/GetUser");
    return RunUnderstudy(args);
  }

  static SharedServe server_;
};

SharedServe CallBinaryHeader::server_;

TEST_F(CallBinaryHeader, SendsTheDecodedBytes) {
  RunResult result = Call({"-H", "x-trace-bin: AQID"});
  ASSERT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_EQ(nlohmann::json::parse(result.out)["user"]["id"], "traced");
  // Other bytes are another header value: the mock does not match them.
  RunResult other = Call({"-H", "x-trace-bin: AQIE"});
  EXPECT_EQ(other.exit_code, 1) << Describe(other);
  EXPECT_THAT(other.err, HasSubstr("NOT_FOUND"));
}

TEST_F(CallBinaryHeader, InvalidBase64ExitsTwo) {
  RunResult result = Call({"-H", "x-trace-bin: not base64!"});
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("x-trace-bin"));
  EXPECT_THAT(result.err, HasSubstr("base64"));
}

// An empty token would turn the admin service's authentication off without a word.
TEST(ServeCommand, EmptyAdminTokenIsRefusedNotTakenAsNoAuthentication) {
  RunResult flag = RunUnderstudy({"serve", "--proto", "proto/user.proto", "--listen",
                                  "127.0.0.1:0", "--admin-token", "", "contracts/user_service"});
  EXPECT_EQ(flag.exit_code, 2) << flag.err;
  EXPECT_THAT(flag.err, HasSubstr("the admin token is empty (--admin-token \"\")"));
  EXPECT_THAT(flag.out, Not(HasSubstr("listening on")));
  setenv("UNDERSTUDY_ADMIN_TOKEN", "", 1);
  RunResult env = RunUnderstudy({"serve", "--proto", "proto/user.proto", "--listen",
                                 "127.0.0.1:0", "contracts/user_service"});
  unsetenv("UNDERSTUDY_ADMIN_TOKEN");
  EXPECT_EQ(env.exit_code, 2) << env.err;
  EXPECT_THAT(env.err, HasSubstr("the admin token is empty (UNDERSTUDY_ADMIN_TOKEN=)"));
}

}  // namespace
}  // namespace understudy
