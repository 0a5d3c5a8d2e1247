// TLS and mTLS end to end: `understudy serve --tls-cert/--tls-key[/--tls-client-ca]` called by
// `understudy call` and `understudy verify` (--tls, --ca, --cert, --key) and by generated stubs,
// and the embedded MockServer with ServerTls. The certificates are made by openssl when the suite
// starts: a CA, a server certificate for localhost and 127.0.0.1, a client certificate it signs,
// and a second CA whose client certificate the server must refuse.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mockserver/mock_server.h"
#include "mockserver/tls.h"
#include "tests/mockserver/serve_process.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunResult;
using testing::RunUnderstudy;
using testing::ServeProcess;

constexpr char kGetUser42[] = R"({"interactions": [{
    "name": "get user 42", "method": "user.UserService/GetUser",
    "request": {"body": {"userId": "42"}},
    "response": {"body": {"user": {"id": "42", "name": "Ada"}}}}]})";

std::string Describe(const RunResult& result) {
  return absl::StrCat("exit code ", result.exit_code, "\nstdout:\n", result.out, "\nstderr:\n",
                      result.err);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: ctest runs each test in a process of its own, side by side.
    dir_ = new fs::path(fs::path(::testing::TempDir()) /
                        absl::StrCat("understudy_tls_test_", getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    std::ofstream(*dir_ / "get_user.json") << kGetUser42;
    std::ofstream(*dir_ / "san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    std::ofstream(*dir_ / "not_pem.txt") << "hello\n";
    // `openssl` in the directory, quiet unless it fails.
    const std::string script = absl::StrCat(
        "cd '", dir_->string(), "' && (set -e; ",
        "key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'; ",
        "ca() { openssl req -x509 $key -days 2 -subj /CN=$1 -keyout $1.key -out $1.pem; }; ",
        "leaf() { openssl req $key -subj /CN=$1 -keyout $1.key -out $1.csr && ",
        "openssl x509 -req -days 2 -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial ",
        "-out $1.pem $3; }; ",
        "ca ca && ca other_ca && leaf server ca '-extfile san.ext' && leaf client ca && "
        "leaf stranger other_ca && cat server.pem ca.pem > server_chain.pem)",
        " > openssl.log 2>&1");
    made_ = std::system(script.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(made_) << "openssl could not make the certificates; see "
                       << (*dir_ / "openssl.log");
  }

  static std::string File(const std::string& name) { return (*dir_ / name).string(); }

  // `understudy serve` with TLS (and mTLS with `client_ca`), serving GetUser 42.
  static absl::StatusOr<std::unique_ptr<ServeProcess>> ServeTls(bool client_ca) {
    std::vector<std::string> args = {"--proto", "proto/user.proto", "--tls-cert",
                                     File("server.pem"), "--tls-key", File("server.key")};
    if (client_ca) {
      args.push_back("--tls-client-ca");
      args.push_back(File("ca.pem"));
    }
    args.push_back(File("get_user.json"));
    return ServeProcess::Start(args);
  }

  // `understudy call ... GetUser {"userId": "42"}` with `flags` before the target.
  static RunResult CallGetUser(const std::string& address, std::vector<std::string> flags) {
    std::vector<std::string> args = {"call", "--proto", "proto/user.proto", "--compact",
                                     "--timeout", "5"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {address, "user.UserService/GetUser", "-d", R"({"userId": "42"})"});
    return RunUnderstudy(args);
  }

  // GetUser 42 over `channel`.
  static grpc::Status GetUser(const std::shared_ptr<grpc::Channel>& channel, std::string* name) {
    auto stub = user::UserService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    user::GetUserRequest request;
    request.set_user_id("42");
    user::GetUserResponse response;
    grpc::Status status = stub->GetUser(&context, request, &response);
    *name = response.user().name();
    return status;
  }

  static fs::path* dir_;
  static bool made_;
};

fs::path* TlsTest::dir_ = nullptr;
bool TlsTest::made_ = false;

TEST_F(TlsTest, ServeAnswersACallOverTls) {
  auto serve = ServeTls(false);
  ASSERT_TRUE(serve.ok()) << serve.status();
  RunResult result = CallGetUser((*serve)->address(), {"--ca", File("ca.pem")});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr(R"("name":"Ada")"));
  // Checked against another name on the certificate (no DNS lookup: c-ares leaks under LSan).
  RunResult by_name = CallGetUser((*serve)->address(),
                                  {"--ca", File("ca.pem"), "--tls-server-name", "localhost"});
  EXPECT_EQ(by_name.exit_code, 0) << Describe(by_name);
  RunResult wrong_name = CallGetUser((*serve)->address(),
                                     {"--ca", File("ca.pem"), "--tls-server-name", "example.com"});
  EXPECT_EQ(wrong_name.exit_code, 1) << Describe(wrong_name);
  EXPECT_THAT(wrong_name.err, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST_F(TlsTest, PlainTextIsRefusedOnATlsPort) {
  auto serve = ServeTls(false);
  ASSERT_TRUE(serve.ok()) << serve.status();
  RunResult plain = CallGetUser((*serve)->address(), {});
  EXPECT_EQ(plain.exit_code, 1) << Describe(plain);
  EXPECT_THAT(plain.err, HasSubstr("UNAVAILABLE"));
  std::string name;
  grpc::Status status = GetUser(
      grpc::CreateChannel((*serve)->address(), grpc::InsecureChannelCredentials()), &name);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  // The server is still there for a TLS client.
  EXPECT_EQ(CallGetUser((*serve)->address(), {"--ca", File("ca.pem")}).exit_code, 0);
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST_F(TlsTest, ClientRefusesAServerItsRootsDoNotSign) {
  auto serve = ServeTls(false);
  ASSERT_TRUE(serve.ok()) << serve.status();
  RunResult result = CallGetUser((*serve)->address(), {"--ca", File("other_ca.pem")});
  EXPECT_EQ(result.exit_code, 1) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutACertificate) {
  auto serve = ServeTls(true);
  ASSERT_TRUE(serve.ok()) << serve.status();
  const std::string address = (*serve)->address();
  RunResult without = CallGetUser(address, {"--ca", File("ca.pem")});
  EXPECT_EQ(without.exit_code, 1) << Describe(without);
  EXPECT_THAT(without.err, HasSubstr("UNAVAILABLE"));
  RunResult stranger = CallGetUser(address, {"--ca", File("ca.pem"), "--cert",
                                             File("stranger.pem"), "--key", File("stranger.key")});
  EXPECT_EQ(stranger.exit_code, 1) << Describe(stranger);
  RunResult with = CallGetUser(address, {"--ca", File("ca.pem"), "--cert", File("client.pem"),
                                         "--key", File("client.key")});
  EXPECT_EQ(with.exit_code, 0) << Describe(with);
  EXPECT_THAT(with.out, HasSubstr(R"("name":"Ada")"));
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST_F(TlsTest, VerifyAndFuzzConnectWithTlsAndClientCertificates) {
  auto serve = ServeTls(true);
  ASSERT_TRUE(serve.ok()) << serve.status();
  RunResult result = RunUnderstudy(
      {"verify", "--proto", "proto/user.proto", "--target", (*serve)->address(), "--ca",
       File("ca.pem"), "--cert", File("client.pem"), "--key", File("client.key"), "--color",
       "never", File("get_user.json")});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_THAT(result.out, HasSubstr("PASS get user 42"));
  EXPECT_THAT(result.out, HasSubstr("1 passed, 0 failed"));
  // Without the client certificate the handshake fails: the verifier cannot run.
  RunResult refused = RunUnderstudy({"verify", "--proto", "proto/user.proto", "--target",
                                     (*serve)->address(), "--ca", File("ca.pem"), "--timeout",
                                     "2", File("get_user.json")});
  EXPECT_EQ(refused.exit_code, 2) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("over TLS"));
  RunResult fuzz = RunUnderstudy(
      {"fuzz", "--proto", "proto/user.proto", "--target", (*serve)->address(), "--calls", "30",
       "--seed", "1", "--out", (*dir_ / "findings").string(), "--method",
       "user.UserService/GetUser", "--ca", File("ca.pem"), "--cert", File("client.pem"), "--key",
       File("client.key")});
  EXPECT_EQ(fuzz.exit_code, 0) << Describe(fuzz);
  EXPECT_THAT(fuzz.err, HasSubstr("fuzz: 30 calls"));
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST_F(TlsTest, BadTlsFilesAreNamedAndNothingListens) {
  struct Case {
    std::vector<std::string> flags;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert", File("missing.pem"), "--tls-key", File("server.key")},
       "--tls-cert " + File("missing.pem") + ": cannot read it"},
      {{"--tls-cert", File("server.pem"), "--tls-key", File("not_pem.txt")},
       "--tls-key " + File("not_pem.txt") + ": not a PEM file with a PRIVATE KEY"},
      {{"--tls-cert", File("server.pem")}, "--tls-cert and --tls-key go together"},
      {{"--tls-cert", File("server.pem"), "--tls-key", File("client.key")},
       "(is --tls-key the key of --tls-cert?)"},
      {{"--tls-client-ca", File("ca.pem")}, "--tls-client-ca needs --tls-cert and --tls-key"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"serve", "--proto", "proto/user.proto", "--listen",
                                     "127.0.0.1:0"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    args.push_back(File("get_user.json"));
    RunResult result = RunUnderstudy(args);
    EXPECT_EQ(result.exit_code, 2) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr(c.error));
    EXPECT_THAT(result.out, Not(HasSubstr("listening on")));
  }
  RunResult call = CallGetUser("127.0.0.1:1", {"--cert", File("client.pem")});
  EXPECT_EQ(call.exit_code, 2) << Describe(call);
  EXPECT_THAT(call.err, HasSubstr("--cert and --key go together"));
}

TEST_F(TlsTest, EmbeddedMockServesTlsAndItsChannelTrustsIt) {
  MockServerOptions options;
  options.schema.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
  options.interaction_json = {kGetUser42};
  options.tls = {File("server_chain.pem"), File("server.key"), File("ca.pem")};
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  std::string name;
  // Channel() trusts the server's chain but has no client certificate: mTLS refuses it.
  EXPECT_EQ(GetUser((*mock)->Channel(), &name).error_code(), grpc::StatusCode::UNAVAILABLE);
  ClientTls client;
  client.ca_file = File("ca.pem");
  client.cert_file = File("client.pem");
  client.key_file = File("client.key");
  grpc::Status status = GetUser((*mock)->Channel(client), &name);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(name, "Ada");
  EXPECT_EQ(GetUser(grpc::CreateChannel((*mock)->address(), grpc::InsecureChannelCredentials()),
                    &name)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);

  options.tls.client_ca_file.clear();
  auto server_only = MockServer::Start(options);
  ASSERT_TRUE(server_only.ok()) << server_only.status();
  status = GetUser((*server_only)->Channel(), &name);
  EXPECT_TRUE(status.ok()) << status.error_message();

  options.tls.key_file = File("missing.key");
  auto bad = MockServer::Start(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("--tls-key " + File("missing.key")));
}

}  // namespace
}  // namespace understudy
