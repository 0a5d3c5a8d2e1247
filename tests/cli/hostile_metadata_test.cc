// Headers, trailers and status codes templated from what a client sends, against the real
// `understudy serve`: gRPC aborts the whole process on a metadata value it refuses, so every
// rendered value is checked first, and a bad one ends only its own call with INTERNAL (naming
// the interaction and the header). Literal values and reserved names are file problems.
//
// One server for the suite; each test ends by checking that it still answers, and the suite by
// checking that it exits 0 on SIGTERM (it would not after an abort).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"

namespace understudy {
namespace hostile_metadata_test {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunResult;
using testing::RunUnderstudy;
using testing::SharedServe;

// `(?s)` lets `.` take newlines too: every value starting with the letter reaches the template.
constexpr char kEchoes[] = R"({"interactions": [
  {"name": "echo header", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": {"$regex": "(?s)h.*"}}},
   "response": {"headers": {"x-echo": "{{request.body.userId}}"},
                "body": {"user": {"id": "h"}}}},
  {"name": "echo trailer", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": {"$regex": "(?s)t.*"}}},
   "response": {"trailers": {"x-echo": "{{request.metadata.x-in-bin}}"},
                "body": {"user": {"id": "t"}}}},
  {"name": "echo binary", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "b"}},
   "response": {"headers": {"x-echo-bin": "{{request.metadata.x-in-bin}}"},
                "trailers": {"x-fixed-bin": "AP8K"},
                "body": {"user": {"id": "b"}}}},
  {"name": "binary into a string", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "s"}},
   "response": {"body": {"user": {"id": "{{request.metadata.x-in-bin}}"}}}},
  {"name": "code from metadata", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "c"}},
   "response": {"status": {"code": "{{request.metadata.x-code}}", "message": "coded"}}},
  {"name": "bare bin", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "bare"}},
   "response": {"headers": {"-bin": "{{request.metadata.x-in-bin}}"}, "body": {}}},
  {"name": "plain", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "42"}},
   "response": {"headers": {"x-served-by": "understudy"}, "body": {"user": {"id": "42"}}}}
]})";

fs::path ProcessDir() {
  return fs::path(::testing::TempDir()) /
         ("understudy_hostile_metadata_test." + std::to_string(getpid()));
}

struct Answer {
  grpc::Status status;
  std::multimap<std::string, std::string> headers, trailers;
  std::string body;
};

Answer GetUser(const std::string& address, const std::string& id,
               const std::multimap<std::string, std::string>& metadata = {}) {
  grpc::ClientContext context;
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::string request = std::string(1, '\x0a') + static_cast<char>(id.size()) + id;
  Answer answer;
  answer.status = testing::GenericUnaryCall(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), &context,
      "/user.UserService/GetUser", request, &answer.body);
  for (const auto& [k, v] : context.GetServerInitialMetadata()) {
    answer.headers.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
    answer.trailers.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return answer;
}

class HostileMetadata : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::create_directories(ProcessDir());
    const fs::path file = ProcessDir() / "echoes.json";
    std::ofstream(file) << kEchoes;
    server_.Start({"--proto", "proto/user.proto", file.string()});
  }
  static void TearDownTestSuite() {
    server_.Stop();  // expects exit code 0: an aborted server would not give it
    fs::remove_all(ProcessDir());
  }
  void SetUp() override { ASSERT_TRUE(server_.Ready()); }
  void TearDown() override {
    if (!server_.Ready()) return;
    Answer answer = GetUser(address(), "42");
    EXPECT_TRUE(answer.status.ok()) << answer.status.error_message() << "\n" << server_->err();
  }
  static const std::string& address() { return server_->address(); }
  static SharedServe server_;
};

SharedServe HostileMetadata::server_;

TEST_F(HostileMetadata, BodyValuesGrpcCannotSendInAHeaderEndOnlyThatCallInternal) {
  // Non-ASCII, CR/LF, NUL, tab and DEL: each would make gRPC abort the process if sent.
  for (std::string id : {std::string("h\xc3\xa9\n"), std::string("h\r\nx-injected: 1"),
                         std::string("h\0x", 3), std::string("h\t"), std::string("h\x7f")}) {
    Answer answer = GetUser(address(), id);
    EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INTERNAL) << id;
    EXPECT_THAT(answer.status.error_message(), HasSubstr("\"echo header\""));
    EXPECT_THAT(answer.status.error_message(), HasSubstr("header \"x-echo\" rendered"));
    EXPECT_THAT(answer.status.error_message(), HasSubstr("printable ASCII"));
    EXPECT_EQ(answer.headers.count("x-echo"), 0u);
  }
  Answer fine = GetUser(address(), "h ok");
  ASSERT_TRUE(fine.status.ok()) << fine.status.error_message();
  EXPECT_EQ(fine.headers.find("x-echo")->second, "h ok");
}

TEST_F(HostileMetadata, BinaryRequestHeaderCopiedIntoAPlainTrailerEndsThatCallInternal) {
  Answer answer = GetUser(address(), "t", {{"x-in-bin", std::string("\xff\0\n", 3)}});
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("\"echo trailer\""));
  EXPECT_THAT(answer.status.error_message(), HasSubstr("byte 0 is 0xff"));
  Answer ascii = GetUser(address(), "t", {{"x-in-bin", "plain"}});
  ASSERT_TRUE(ascii.status.ok()) << ascii.status.error_message();
  EXPECT_EQ(ascii.trailers.find("x-echo")->second, "plain");
}

TEST_F(HostileMetadata, BinaryHeaderTemplatesSendTheRenderedBytes) {
  const std::string bytes("\xff\0\x01\n", 4);
  Answer answer = GetUser(address(), "b", {{"x-in-bin", bytes}});
  ASSERT_TRUE(answer.status.ok()) << answer.status.error_message();
  ASSERT_EQ(answer.headers.count("x-echo-bin"), 1u);
  EXPECT_EQ(answer.headers.find("x-echo-bin")->second, bytes);
  EXPECT_EQ(answer.trailers.find("x-fixed-bin")->second, std::string("\x00\xff\x0a", 3));
}

TEST_F(HostileMetadata, BinaryValueTemplatedIntoAProto3StringEndsThatCallInternal) {
  Answer answer = GetUser(address(), "s", {{"x-in-bin", std::string("\xff\xfe", 2)}});
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("/interactions/3/response/body/user/id"));
  EXPECT_THAT(answer.status.error_message(), HasSubstr("not valid UTF-8"));
  Answer text = GetUser(address(), "s", {{"x-in-bin", "abc"}});
  ASSERT_TRUE(text.status.ok()) << text.status.error_message();
  EXPECT_NE(text.body.find("abc"), std::string::npos);
}

// gRPC takes "-bin" alone for a plain key, so its values must be plain text.
TEST_F(HostileMetadata, BareBinKeyIsAPlainHeaderForGrpc) {
  Answer bytes = GetUser(address(), "bare", {{"x-in-bin", std::string("\0\1", 2)}});
  EXPECT_EQ(bytes.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(bytes.status.error_message(), HasSubstr("header \"-bin\" rendered"));
  Answer text = GetUser(address(), "bare", {{"x-in-bin", "text"}});
  ASSERT_TRUE(text.status.ok()) << text.status.error_message();
  EXPECT_EQ(text.headers.find("-bin")->second, "text");
}

TEST_F(HostileMetadata, StatusCodeTemplatesTakeNamesAndNumbers) {
  EXPECT_EQ(GetUser(address(), "c", {{"x-code", "NOT_FOUND"}}).status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  Answer seven = GetUser(address(), "c", {{"x-code", "7"}});
  EXPECT_EQ(seven.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(seven.status.error_message(), "coded");
  EXPECT_TRUE(GetUser(address(), "c", {{"x-code", "OK"}}).status.ok());
  Answer bogus = GetUser(address(), "c", {{"x-code", "17"}});
  EXPECT_EQ(bogus.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(bogus.status.error_message(), HasSubstr("\"code from metadata\""));
  EXPECT_THAT(bogus.status.error_message(), HasSubstr("rendered \"17\", not a status code"));
}

TEST(HostileMetadataFiles, LiteralValuesAndReservedNamesGrpcCannotSendAreFileProblems) {
  fs::create_directories(ProcessDir());
  const fs::path file = ProcessDir() / "literal.json";
  std::ofstream(file) << R"({"interactions": [{"name": "lit", "method": "user.UserService/GetUser",
    "response": {"headers": {"x-name": "Zo\u00eb", "content-type": "text/plain",
                             "te": "trailers", "content-length": "3"},
                 "trailers": {"connection": "close", "transfer-encoding": "chunked",
                              "grpclb_client_stats": "x", "lb-token": "t",
                              "x-tab": "a\tb", "x-bad-bin": "not base64!"}}}]})";
  RunResult check = RunUnderstudy({"check", "--proto", "proto/user.proto", file.string()});
  EXPECT_EQ(check.exit_code, 2) << check.err;
  for (const char* problem :
       {"/interactions/0/response/headers/x-name: gRPC cannot send \"Zoë\": byte 2 is 0xc3",
        "/interactions/0/response/headers/content-type: \"content-type\" is reserved",
        "/interactions/0/response/headers/te: \"te\" is reserved",
        "/interactions/0/response/headers/content-length: \"content-length\" is reserved",
        "/interactions/0/response/trailers/connection: \"connection\" is reserved",
        "/interactions/0/response/trailers/transfer-encoding: \"transfer-encoding\" is reserved",
        "/interactions/0/response/trailers/grpclb_client_stats: \"grpclb_client_stats\" is "
        "reserved",
        "/interactions/0/response/trailers/lb-token: \"lb-token\" is reserved",
        "/interactions/0/response/trailers/x-tab: gRPC cannot send \"a\\tb\": byte 1 is 0x09",
        "/interactions/0/response/trailers/x-bad-bin: a -bin header takes base64"}) {
    EXPECT_THAT(check.err, HasSubstr(problem));
  }
  RunResult serve = RunUnderstudy(
      {"serve", "--proto", "proto/user.proto", "--listen", "127.0.0.1:0", file.string()});
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_THAT(serve.out, Not(HasSubstr("listening on")));
}

}  // namespace hostile_metadata_test
}  // namespace understudy
