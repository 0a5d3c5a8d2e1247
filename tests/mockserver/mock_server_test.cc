// understudy::MockServer embedded in the test process: start, answer, refuse to start on a bad
// file, reload, journal, and two mocks side by side.
#include "mockserver/mock_server.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Repo(const std::string& relative) {
  return (fs::path(UNDERSTUDY_SOURCE_DIR) / relative).string();
}

MockServerOptions UserServiceOptions() {
  MockServerOptions options;
  options.schema.proto_files = {Repo("proto/user.proto")};
  options.interaction_paths = {Repo("contracts/user_service")};
  return options;
}

// A one-interaction file answering GetUser 42 with `name`.
std::string GetUser42Answering(const std::string& name) {
  return R"({"interactions": [{
      "name": "user 42 is )" +
         name + R"(",
      "method": "user.UserService/GetUser",
      "request": {"body": {"userId": "42"}},
      "response": {"body": {"user": {"id": "42", "name": ")" +
         name + R"("}}}}]})";
}

fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_mock_server_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

grpc::Status GetUser(MockServer& mock, const std::string& id, user::GetUserResponse* response) {
  auto stub = user::UserService::NewStub(mock.Channel());
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer test");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  user::GetUserRequest request;
  request.set_user_id(id);
  return stub->GetUser(&context, request, response);
}

// A loopback port that was free a moment ago.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Whether a TCP connection to 127.0.0.1:port is accepted.
bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

TEST(MockServer, StartsOnAFreePortAndAnswersCalls) {
  auto mock = MockServer::Start(UserServiceOptions());
  ASSERT_TRUE(mock.ok()) << mock.status();
  EXPECT_GT((*mock)->port(), 0);
  EXPECT_EQ((*mock)->address(), "127.0.0.1:" + std::to_string((*mock)->port()));
  EXPECT_EQ((*mock)->interactions()->interactions().size(), 39u);

  user::GetUserResponse response;
  grpc::Status status = GetUser(**mock, "42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  EXPECT_EQ(response.user().orders(0).id(), "ord-1001");
}

TEST(MockServer, ServesInlineJsonAlone) {
  MockServerOptions options;
  options.schema.proto_files = {Repo("proto/user.proto")};
  options.interaction_json = {GetUser42Answering("Inline Ada")};
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  user::GetUserResponse response;
  grpc::Status status = GetUser(**mock, "42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Inline Ada");
}

TEST(MockServer, InlineJsonJoinsTheFiles) {
  MockServerOptions options = UserServiceOptions();
  // Priority 5 beats the file's "get user 42 with orders".
  options.interaction_json = {R"({"interactions": [{
      "name": "inline 43", "method": "user.UserService/GetUser", "priority": 5,
      "request": {"body": {"userId": "43"}},
      "response": {"body": {"user": {"id": "43", "name": "Inline"}}}}]})"};
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  EXPECT_EQ((*mock)->interactions()->interactions().size(), 40u);
  user::GetUserResponse response;
  ASSERT_TRUE(GetUser(**mock, "43", &response).ok());
  EXPECT_EQ(response.user().name(), "Inline");
  ASSERT_TRUE(GetUser(**mock, "42", &response).ok());
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
}

TEST(MockServer, BadInlineJsonFailsToStartNamingIt) {
  MockServerOptions options = UserServiceOptions();
  options.interaction_json = {R"({"interactions": [{"name": "x", "method": "user.UserService/Nope",
                                  "response": {}}]})"};
  auto mock = MockServer::Start(options);
  ASSERT_FALSE(mock.ok());
  EXPECT_THAT(std::string(mock.status().message()), HasSubstr("/interactions/0/method"));
  EXPECT_THAT(std::string(mock.status().message()), HasSubstr("Nope"));
}

TEST(MockServer, StartFailureListsEveryProblemAndNothingListens) {
  int port = FreePort();
  MockServerOptions options = UserServiceOptions();
  options.listen = "127.0.0.1:" + std::to_string(port);
  options.interaction_paths.push_back(Repo("tests/data/bad/unknown_field.json"));
  options.interaction_paths.push_back(Repo("tests/data/bad/bad_enum.json"));
  auto mock = MockServer::Start(options);
  ASSERT_FALSE(mock.ok());
  std::string problems(mock.status().message());
  EXPECT_THAT(problems, HasSubstr("unknown_field.json: /interactions/0/request/body/userid: "));
  EXPECT_THAT(problems, HasSubstr("bad_enum.json: /interactions/0/request/body/status: "));
  EXPECT_FALSE(Accepts(port));

  // The port was left free: a good configuration starts on it.
  options.interaction_paths = {Repo("contracts/user_service")};
  auto good = MockServer::Start(options);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)->port(), port);
  EXPECT_TRUE(Accepts(port));
}

TEST(MockServer, UnloadableSchemaFailsToStart) {
  MockServerOptions options = UserServiceOptions();
  options.schema.proto_files = {Repo("proto/no_such.proto")};
  auto mock = MockServer::Start(options);
  ASSERT_FALSE(mock.ok());
  EXPECT_THAT(std::string(mock.status().message()), HasSubstr("no_such.proto"));
}

TEST(MockServer, ReloadWithABadFileKeepsServingTheOldSet) {
  auto mock = MockServer::Start(UserServiceOptions());
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto before = (*mock)->interactions();

  absl::Status reload =
      (*mock)->Reload({Repo("contracts/user_service"), Repo("tests/data/bad/unknown_method.json")});
  ASSERT_FALSE(reload.ok());
  EXPECT_THAT(std::string(reload.message()),
              HasSubstr("unknown_method.json: /interactions/0/method: "));
  EXPECT_EQ((*mock)->interactions(), before);

  user::GetUserResponse response;
  grpc::Status status = GetUser(**mock, "42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
}

TEST(MockServer, ReloadWithAGoodFileSwitchesSets) {
  auto mock = MockServer::Start(UserServiceOptions());
  ASSERT_TRUE(mock.ok()) << mock.status();
  fs::path file = TestDir() / "reloaded.json";
  std::ofstream(file) << GetUser42Answering("Reloaded Ada");

  ASSERT_TRUE((*mock)->Reload({file.string()}).ok());
  EXPECT_EQ((*mock)->interactions()->interactions().size(), 1u);
  user::GetUserResponse response;
  grpc::Status status = GetUser(**mock, "42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Reloaded Ada");
  EXPECT_EQ(response.user().orders_size(), 0);
  // The old set is gone: user 7 is no longer served.
  EXPECT_EQ(GetUser(**mock, "7", &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(MockServer, TwoMocksInOneProcessServeTheirOwnSets) {
  auto users = MockServer::Start(UserServiceOptions());
  ASSERT_TRUE(users.ok()) << users.status();
  MockServerOptions options;
  options.schema.proto_files = {Repo("proto/user.proto")};
  options.interaction_json = {GetUser42Answering("Second Ada")};
  auto second = MockServer::Start(options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE((*users)->port(), (*second)->port());

  user::GetUserResponse response;
  ASSERT_TRUE(GetUser(**users, "42", &response).ok());
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  ASSERT_TRUE(GetUser(**second, "42", &response).ok());
  EXPECT_EQ(response.user().name(), "Second Ada");
  EXPECT_EQ(GetUser(**second, "7", &response).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(GetUser(**users, "7", &response).ok());

  // Stopping one leaves the other serving.
  (*second)->Shutdown();
  (*second)->Wait();
  ASSERT_TRUE(GetUser(**users, "42", &response).ok());
}

// Records the journal of finished calls.
class Journal : public CallObserver {
 public:
  struct Entry {
    std::string method;
    std::string interaction;  // "" on a miss
    grpc::StatusCode code;
  };
  void OnCallDone(const Record& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(
        {record.method, record.interaction ? record.interaction->name : "", record.code});
  }
  std::vector<Entry> entries() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

 private:
  std::mutex mu_;
  std::vector<Entry> entries_;
};

TEST(MockServer, ObserverIsToldOfEveryFinishedCall) {
  Journal journal;
  MockServerOptions options = UserServiceOptions();
  options.observer = &journal;
  {
    auto mock = MockServer::Start(options);
    ASSERT_TRUE(mock.ok()) << mock.status();
    user::GetUserResponse response;
    ASSERT_TRUE(GetUser(**mock, "42", &response).ok());
    EXPECT_EQ(GetUser(**mock, "404", &response).error_code(), grpc::StatusCode::NOT_FOUND);
    (*mock)->Shutdown(std::chrono::seconds(5));
    (*mock)->Wait();
  }
  auto entries = journal.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].method, "/user.UserService/GetUser");
  EXPECT_EQ(entries[0].interaction, "get user 42 with orders");
  EXPECT_EQ(entries[0].code, grpc::StatusCode::OK);
  EXPECT_EQ(entries[1].interaction, "get missing user 404");
  EXPECT_EQ(entries[1].code, grpc::StatusCode::NOT_FOUND);
}

TEST(MockServer, ShutdownStopsListening) {
  auto mock = MockServer::Start(UserServiceOptions());
  ASSERT_TRUE(mock.ok()) << mock.status();
  int port = (*mock)->port();
  EXPECT_TRUE(Accepts(port));
  (*mock)->Shutdown();
  (*mock)->Wait();
  EXPECT_FALSE(Accepts(port));
}

TEST(MockServer, InProcessOnlyServesThroughItsChannel) {
  MockServerOptions options = UserServiceOptions();
  options.listen = "";
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  EXPECT_EQ((*mock)->Address(), "");
  EXPECT_EQ((*mock)->port(), 0);
  user::GetUserResponse response;
  grpc::Status status = GetUser(**mock, "42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  EXPECT_EQ((*mock)->Calls("user.UserService/GetUser").size(), 1u);
}

TEST(MockServer, SchemaFromTheGeneratedDescriptorPool) {
  MockServerOptions options;
  options.descriptor_pool = google::protobuf::DescriptorPool::generated_pool();
  options.pool_files = {user::GetUserRequest::descriptor()->file()->name()};
  options.interaction_paths = {Repo("contracts/user_service")};
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  EXPECT_EQ((*mock)->schema().pool(), google::protobuf::DescriptorPool::generated_pool());

  user::GetUserResponse response;
  grpc::Status status = GetUser(**mock, "42", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  // Error details resolve from the same pool.
  status = GetUser(**mock, "404", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(status.error_details().empty());

  auto calls = (*mock)->Calls();
  ASSERT_EQ(calls.size(), 2u);
  // Requests decode into the generated type itself.
  EXPECT_NE(dynamic_cast<const user::GetUserRequest*>(calls[0].requests[0].message.get()),
            nullptr);
  EXPECT_EQ(calls[0].requests[0].Json(), R"({"userId":"42"})");
}

TEST(MockServer, DescriptorPoolNeedsItsFiles) {
  MockServerOptions options;
  options.descriptor_pool = google::protobuf::DescriptorPool::generated_pool();
  auto mock = MockServer::Start(options);
  ASSERT_FALSE(mock.ok());
  EXPECT_THAT(std::string(mock.status().message()), HasSubstr("pool_files"));

  options.pool_files = {"no/such.proto"};
  mock = MockServer::Start(options);
  ASSERT_FALSE(mock.ok());
  EXPECT_THAT(std::string(mock.status().message()), HasSubstr("no/such.proto"));
}

}  // namespace
}  // namespace understudy
