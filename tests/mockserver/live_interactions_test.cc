// Changing a running embedded MockServer: Add, AddFile, Remove, Reset, Reload, scenario states;
// every change validated as files are and applied atomically, even under load.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mockserver/mock_server.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Repo(const std::string& relative) {
  return (fs::path(UNDERSTUDY_SOURCE_DIR) / relative).string();
}

// GetUser `id` answered with `name`, as one interaction object.
std::string UserInteraction(const std::string& interaction, const std::string& id,
                            const std::string& name, const std::string& extra = "") {
  return R"({"name": ")" + interaction + R"(", "method": "user.UserService/GetUser", )" + extra +
         R"("request": {"body": {"userId": ")" + id + R"("}},
              "response": {"body": {"user": {"id": ")" +
         id + R"(", "name": ")" + name + R"("}}}})";
}

std::string File(const std::vector<std::string>& interactions) {
  std::string out = R"({"interactions": [)";
  for (size_t i = 0; i < interactions.size(); ++i) out += (i ? "," : "") + interactions[i];
  return out + "]}";
}

MockServerOptions Inline(const std::string& json) {
  MockServerOptions options;
  options.schema.proto_files = {Repo("proto/user.proto")};
  options.interaction_json = {json};
  return options;
}

fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_live_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The name GetUser `id` answers with, or "<CODE>" when the call fails.
std::string NameOf(MockServer& mock, const std::string& id) {
  auto stub = user::UserService::NewStub(mock.Channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  user::GetUserRequest request;
  request.set_user_id(id);
  user::GetUserResponse response;
  grpc::Status status = stub->GetUser(&context, request, &response);
  if (!status.ok()) return "<" + std::to_string(status.error_code()) + ">";
  return response.user().name();
}

const std::string kNotFound = "<5>";

TEST(MockServerLive, AddServesOneInteractionAtOnce) {
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  EXPECT_EQ(NameOf(**mock, "43"), kNotFound);

  ASSERT_TRUE((*mock)->Add(UserInteraction("alan", "43", "Alan")).ok());
  EXPECT_EQ(NameOf(**mock, "43"), "Alan");
  EXPECT_EQ(NameOf(**mock, "42"), "Ada");
  ASSERT_EQ((*mock)->interactions()->interactions().size(), 2u);
  EXPECT_EQ((*mock)->interactions()->interactions()[1]->file, "<added 1>");
  EXPECT_EQ((*mock)->Calls()[1].interaction_file, "<added 1>");
}

TEST(MockServerLive, AddTakesAWholeFile) {
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  ASSERT_TRUE((*mock)
                  ->Add(File({UserInteraction("alan", "43", "Alan"),
                              UserInteraction("grace", "7", "Grace")}))
                  .ok());
  EXPECT_EQ(NameOf(**mock, "43"), "Alan");
  EXPECT_EQ(NameOf(**mock, "7"), "Grace");
}

TEST(MockServerLive, InvalidAddReportsAPointerAndKeepsServingTheOldSet) {
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto before = (*mock)->interactions();

  absl::Status unknown_field = (*mock)->Add(R"({"name": "x", "method": "user.UserService/GetUser",
      "request": {"body": {"userid": "1"}}, "response": {}})");
  ASSERT_FALSE(unknown_field.ok());
  EXPECT_EQ(unknown_field.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown_field.message()),
              HasSubstr("<added 1>: /request/body/userid: no field \"userid\" in "
                        "user.GetUserRequest (did you mean \"userId\"?)"));

  absl::Status in_file =
      (*mock)->Add(File({UserInteraction("ok", "1", "One"),
                         R"({"name": "bad", "method": "user.UserService/Nope"})"}));
  ASSERT_FALSE(in_file.ok());
  EXPECT_THAT(std::string(in_file.message()), HasSubstr("<added 1>: /interactions/1/method: "));

  absl::Status bad_json = (*mock)->Add(R"({"name": )");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_THAT(std::string(bad_json.message()), HasSubstr("<added 1>: invalid JSON"));

  EXPECT_EQ((*mock)->interactions(), before);
  EXPECT_EQ(NameOf(**mock, "42"), "Ada");
  EXPECT_EQ(NameOf(**mock, "1"), kNotFound);
}

// The changes the admin API (AddInteractions) and --watch make go through the same loader: a
// duplicate key, a delay that would wrap, a proto2 body without its required fields are refused
// (INVALID_ARGUMENT) and the running set keeps serving, where protobuf used to abort the server.
TEST(MockServerLive, AddAndReloadRefuseWhatCheckRefusesAndKeepServing) {
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  absl::Status duplicate = (*mock)->Add(R"({"name": "x", "method": "user.UserService/GetUser",
      "request": {"body": {"userId": "1", "userId": "2"}}})");
  EXPECT_EQ(duplicate.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(duplicate.message()),
              HasSubstr("<added 1>: /request/body/userId: duplicate key \"userId\""));
  absl::Status delay = (*mock)->Add(R"({"name": "x", "method": "user.UserService/GetUser",
      "response": {"delayMs": 9223372036854775807}})");
  EXPECT_EQ(delay.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(delay.message()), HasSubstr("<added 1>: /response/delayMs: "));
  EXPECT_EQ(NameOf(**mock, "42"), "Ada");

  fs::path file = TestDir() / "required.json";
  const std::string good = R"({"interactions": [{"name": "get", "method": "required.Required/Get",
      "request": {"body": {"id": "1"}}, "response": {"body": {"id": "1"}}}]})";
  std::ofstream(file) << good;
  MockServerOptions options;
  options.schema.proto_files = {Repo("tests/data/required/required.proto")};
  options.interaction_paths = {file.string()};
  auto proto2 = MockServer::Start(options);
  ASSERT_TRUE(proto2.ok()) << proto2.status();
  auto before = (*proto2)->interactions();
  absl::Status partial = (*proto2)->Add(R"({"name": "x", "method": "required.Required/Get",
      "request": {"body": {"id": "2"}}, "response": {"body": {}}})");
  EXPECT_EQ(partial.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(partial.message()),
              HasSubstr("<added 1>: /response/body: missing required field \"id\""));
  std::ofstream(file) << R"({"interactions": [{"name": "get", "method": "required.Required/Get",
      "request": {"body": {"id": "1"}}, "response": {"body": {"inner": {}}}}]})";
  absl::Status reload = (*proto2)->Reload();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reload.message()),
              HasSubstr("required.json: /interactions/0/response/body: missing required fields "
                        "\"id\", \"inner.code\""));
  EXPECT_EQ((*proto2)->interactions(), before);
}

TEST(MockServerLive, AddFileReadsAFileAsStartDoes) {
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  fs::path good = TestDir() / "good.json";
  std::ofstream(good) << File({UserInteraction("alan", "43", "Alan")});
  ASSERT_TRUE((*mock)->AddFile(good.string()).ok());
  EXPECT_EQ(NameOf(**mock, "43"), "Alan");

  absl::Status bad = (*mock)->AddFile(Repo("tests/data/bad/unknown_field.json"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.message()),
              HasSubstr("unknown_field.json: /interactions/0/request/body/userid: "));
  EXPECT_FALSE((*mock)->AddFile((TestDir() / "missing.json").string()).ok());
  EXPECT_EQ((*mock)->interactions()->interactions().size(), 2u);
}

TEST(MockServerLive, RemoveDropsEveryInteractionOfThatName) {
  auto mock = MockServer::Start(
      Inline(File({UserInteraction("ada", "42", "Ada"), UserInteraction("grace", "7", "Grace")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  ASSERT_TRUE((*mock)->Add(UserInteraction("ada", "43", "Another Ada")).ok());

  ASSERT_TRUE((*mock)->Remove("ada").ok());
  EXPECT_EQ(NameOf(**mock, "42"), kNotFound);
  EXPECT_EQ(NameOf(**mock, "43"), kNotFound);
  EXPECT_EQ(NameOf(**mock, "7"), "Grace");

  absl::Status missing = (*mock)->Remove("ada");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("no interaction named \"ada\""));
}

TEST(MockServerLive, ResetGoesBackToTheStartFilesWithFreshState) {
  const std::string once = UserInteraction("once", "1", "Once", R"("times": 1, )");
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada"), once})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  ASSERT_TRUE((*mock)->Add(UserInteraction("alan", "43", "Alan")).ok());
  ASSERT_TRUE((*mock)->Remove("ada").ok());
  EXPECT_EQ(NameOf(**mock, "1"), "Once");
  EXPECT_EQ(NameOf(**mock, "1"), kNotFound);
  (*mock)->SetScenarioState("login", "LoggedIn");

  (*mock)->Reset();
  EXPECT_TRUE((*mock)->Calls().empty());
  EXPECT_EQ((*mock)->ScenarioState("login"), "Started");
  EXPECT_EQ((*mock)->interactions()->interactions().size(), 2u);
  EXPECT_EQ(NameOf(**mock, "42"), "Ada");
  EXPECT_EQ(NameOf(**mock, "43"), kNotFound);
  EXPECT_EQ(NameOf(**mock, "1"), "Once");  // `times` counts afresh
}

TEST(MockServerLive, ChangesKeepTimesCountsAndScenarioStates) {
  const std::string once = UserInteraction("once", "1", "Once", R"("times": 1, )");
  const std::string logged_in = UserInteraction(
      "only when logged in", "2", "Two", R"("scenario": "login", "whenState": "LoggedIn", )");
  auto mock = MockServer::Start(Inline(File({once, logged_in})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  EXPECT_EQ(NameOf(**mock, "1"), "Once");
  EXPECT_EQ((*mock)->ScenarioState("login"), "Started");
  EXPECT_EQ(NameOf(**mock, "2"), kNotFound);
  (*mock)->SetScenarioState("login", "LoggedIn");
  EXPECT_EQ((*mock)->ScenarioState("login"), "LoggedIn");

  ASSERT_TRUE((*mock)->Add(UserInteraction("alan", "43", "Alan")).ok());
  EXPECT_EQ((*mock)->ScenarioState("login"), "LoggedIn");
  EXPECT_EQ(NameOf(**mock, "2"), "Two");
  EXPECT_EQ(NameOf(**mock, "1"), kNotFound);  // its one use was taken before the change
  ASSERT_TRUE((*mock)->Remove("alan").ok());
  EXPECT_EQ(NameOf(**mock, "1"), kNotFound);
}

TEST(MockServerLive, ReloadReadsTheFilesAgainAndKeepsAddedInteractions) {
  fs::path file = TestDir() / "users.json";
  std::ofstream(file) << File({UserInteraction("ada", "42", "Ada")});
  MockServerOptions options;
  options.schema.proto_files = {Repo("proto/user.proto")};
  options.interaction_paths = {file.string()};
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  ASSERT_TRUE((*mock)->Add(UserInteraction("alan", "43", "Alan")).ok());

  std::ofstream(file) << File({UserInteraction("ada", "42", "Ada v2")});
  ASSERT_TRUE((*mock)->Reload().ok());
  EXPECT_EQ(NameOf(**mock, "42"), "Ada v2");
  EXPECT_EQ(NameOf(**mock, "43"), "Alan");

  std::ofstream(file) << R"({"interactions": [{"name": "broken"}]})";
  absl::Status broken = (*mock)->Reload();
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.message()), HasSubstr("users.json: /interactions/0/method: "));
  EXPECT_EQ(NameOf(**mock, "42"), "Ada v2");

  // Reset goes back to the last files that loaded.
  (*mock)->Reset();
  EXPECT_EQ(NameOf(**mock, "42"), "Ada v2");
  EXPECT_EQ(NameOf(**mock, "43"), kNotFound);
}

TEST(MockServerLive, ChangesUnderConcurrentLoadNeverFailACall) {
  auto mock = MockServer::Start(Inline(File({UserInteraction("ada", "42", "Ada")})));
  ASSERT_TRUE(mock.ok()) << mock.status();
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto stub = user::UserService::NewStub((*mock)->Channel());
      while (!stop.load()) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        user::GetUserRequest request;
        request.set_user_id("42");
        user::GetUserResponse response;
        grpc::Status status = stub->GetUser(&context, request, &response);
        ++calls;
        if (!status.ok() || response.user().name() != "Ada") ++failures;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    std::string name = "added " + std::to_string(i);
    ASSERT_TRUE((*mock)->Add(UserInteraction(name, std::to_string(1000 + i), name)).ok());
    EXPECT_FALSE((*mock)
                     ->Add(R"({"name": "broken", "method": "user.UserService/GetUser",
                                  "request": {"body": {"nope": 1}}, "response": {}})")
                     .ok());
    if (i % 2 == 1) ASSERT_TRUE((*mock)->Remove(name).ok());
  }
  (*mock)->Reset();
  stop = true;
  for (auto& client : clients) client.join();
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE((*mock)->UnmatchedCalls().empty());
}

}  // namespace
}  // namespace understudy
