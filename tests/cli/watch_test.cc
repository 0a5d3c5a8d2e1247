// `understudy serve --watch`: file changes reload atomically, an invalid change is reported and
// the previous interactions keep serving, and no call fails while reloads happen under load.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServeProcess;

constexpr auto kTimeout = std::chrono::seconds(5);

fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_watch_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// As an editor saves: a temporary file renamed over the original.
void ReplaceFile(const fs::path& path, const std::string& text) {
  fs::path temp = path.string() + ".tmp";
  WriteFile(temp, text);
  fs::rename(temp, path);
}

// contracts/user_service/get_user.json with user 7 (/interactions/1) renamed to `name`.
std::string GetUserFile(const std::string& name) {
  std::ifstream in(testing::SourceDir() + "/contracts/user_service/get_user.json");
  nlohmann::json file = nlohmann::json::parse(in);
  file.at("interactions").at(1).at("response").at("body").at("user").at("name") = name;
  return file.dump(2);
}

// The same file with a typo in a request field of /interactions/1.
std::string InvalidGetUserFile() {
  nlohmann::json file = nlohmann::json::parse(GetUserFile("Typo"));
  auto& body = file.at("interactions").at(1).at("request").at("body");
  body["userid"] = body.at("userId");
  body.erase("userId");
  return file.dump(2);
}

class Client {
 public:
  explicit Client(const std::string& address)
      : stub_(user::UserService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  grpc::Status GetUser(const std::string& id, std::string* name) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer token");
    context.set_deadline(std::chrono::system_clock::now() + kTimeout);
    user::GetUserRequest request;
    request.set_user_id(id);
    user::GetUserResponse response;
    grpc::Status status = stub_->GetUser(&context, request, &response);
    *name = response.user().name();
    return status;
  }

  // Calls until user `id` is named `expected` (true) or kTimeout passes (false).
  bool WaitForName(const std::string& id, const std::string& expected) {
    auto give_up = std::chrono::steady_clock::now() + kTimeout;
    while (true) {
      std::string name;
      if (GetUser(id, &name).ok() && name == expected) return true;
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  std::unique_ptr<user::UserService::Stub> stub_;
};

// Polls the server's stderr until it holds `text` (true) or kTimeout passes (false).
bool WaitForStderr(const ServeProcess& serve, const std::string& text) {
  auto give_up = std::chrono::steady_clock::now() + kTimeout;
  while (!absl::StrContains(serve.err(), text)) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::unique_ptr<ServeProcess> StartWatching(const fs::path& dir) {
  auto serve = ServeProcess::Start({"--watch", "--proto", "proto/user.proto", dir.string()});
  EXPECT_TRUE(serve.ok()) << serve.status();
  return serve.ok() ? std::move(*serve) : nullptr;
}

TEST(ServeWatch, RewrittenFileIsServedAndReported) {
  fs::path dir = TestDir();
  WriteFile(dir / "users.json", GetUserFile("Grace Hopper"));
  auto serve = StartWatching(dir);
  ASSERT_NE(serve, nullptr);
  Client client(serve->address());
  std::string name;
  ASSERT_TRUE(client.GetUser("7", &name).ok());
  EXPECT_EQ(name, "Grace Hopper");

  WriteFile(dir / "users.json", GetUserFile("Rear Admiral Hopper"));
  EXPECT_TRUE(client.WaitForName("7", "Rear Admiral Hopper")) << serve->err();
  EXPECT_TRUE(WaitForStderr(*serve, "reloaded: 8 interactions from 1 files\n")) << serve->err();

  ReplaceFile(dir / "users.json", GetUserFile("Amazing Grace"));
  EXPECT_TRUE(client.WaitForName("7", "Amazing Grace")) << serve->err();
  EXPECT_EQ(serve->Stop(), 0) << serve->err();
}

TEST(ServeWatch, NewFilesAreServedAndDeletedOnesDropped) {
  fs::path dir = TestDir();
  WriteFile(dir / "users.json", GetUserFile("Grace Hopper"));
  auto serve = StartWatching(dir);
  ASSERT_NE(serve, nullptr);
  Client client(serve->address());
  std::string name;
  // "get unknown user" answers any other id with NOT_FOUND.
  EXPECT_EQ(client.GetUser("8", &name).error_code(), grpc::StatusCode::NOT_FOUND);

  nlohmann::json extra = nlohmann::json::parse(GetUserFile("Katherine Johnson"));
  auto& interaction = extra.at("interactions").at(1);
  interaction.at("request").at("body").at("userId") = "8";
  interaction.at("response").at("body").at("user").at("id") = "8";
  extra["interactions"] = nlohmann::json::array({interaction});
  fs::create_directory(dir / "more");
  WriteFile(dir / "more" / "user_8.json", extra.dump());
  EXPECT_TRUE(client.WaitForName("8", "Katherine Johnson")) << serve->err();
  EXPECT_TRUE(WaitForStderr(*serve, "reloaded: 9 interactions from 2 files\n")) << serve->err();

  fs::remove(dir / "more" / "user_8.json");
  auto give_up = std::chrono::steady_clock::now() + kTimeout;
  while (client.GetUser("8", &name).error_code() != grpc::StatusCode::NOT_FOUND &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(client.GetUser("8", &name).error_code(), grpc::StatusCode::NOT_FOUND) << serve->err();
  EXPECT_EQ(serve->Stop(), 0) << serve->err();
}

TEST(ServeWatch, InvalidChangeIsReportedAndThePreviousSetKeepsServing) {
  fs::path dir = TestDir();
  WriteFile(dir / "users.json", GetUserFile("Grace Hopper"));
  auto serve = StartWatching(dir);
  ASSERT_NE(serve, nullptr);
  Client client(serve->address());

  WriteFile(dir / "users.json", InvalidGetUserFile());
  ASSERT_TRUE(WaitForStderr(*serve, "reload failed")) << serve->err();
  // The problem line as `check` prints it: file, JSON pointer, what was expected.
  EXPECT_THAT(serve->err(), HasSubstr(absl::StrCat((dir / "users.json").string(),
                                                   ": /interactions/1/request/body/userid: ")));
  EXPECT_THAT(serve->err(), HasSubstr("\"userId\""));
  EXPECT_THAT(serve->err(), HasSubstr("reload failed: still serving the previous 8 interactions"));
  std::string name;
  ASSERT_TRUE(client.GetUser("7", &name).ok());
  EXPECT_EQ(name, "Grace Hopper");

  // Fixing the file serves it.
  WriteFile(dir / "users.json", GetUserFile("Fixed Hopper"));
  EXPECT_TRUE(client.WaitForName("7", "Fixed Hopper")) << serve->err();
  EXPECT_EQ(serve->Stop(), 0) << serve->err();
}

TEST(ServeWatch, NoCallFailsWhileReloadingUnderLoad) {
  const std::string kOld = "Grace Hopper";
  const std::string kNew = "Grace Brewster Murray Hopper";
  fs::path dir = TestDir();
  WriteFile(dir / "users.json", GetUserFile(kOld));
  auto serve = StartWatching(dir);
  ASSERT_NE(serve, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> failures{0};
  std::atomic<int64_t> unexpected{0};
  std::mutex first_problem_mu;
  std::string first_problem;  // guarded by first_problem_mu
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      Client client(serve->address());  // a channel per thread: four connections
      while (!stop.load()) {
        std::string name;
        grpc::Status status = client.GetUser("7", &name);
        calls.fetch_add(1);
        if (status.ok() && (name == kOld || name == kNew)) continue;
        (status.ok() ? unexpected : failures).fetch_add(1);
        std::lock_guard<std::mutex> lock(first_problem_mu);
        if (first_problem.empty()) {
          first_problem = status.ok() ? "name \"" + name + "\""
                                      : absl::StrCat("status ", status.error_code(), ": ",
                                                     status.error_message());
        }
      }
    });
  }

  // Each rewrite waits until it is served, so every one of the 20 is a reload under load.
  Client observer(serve->address());
  int reloads_seen = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string& name = i % 2 == 0 ? kNew : kOld;
    if (i % 4 < 2) {
      WriteFile(dir / "users.json", GetUserFile(name));
    } else {
      ReplaceFile(dir / "users.json", GetUserFile(name));
    }
    if (!observer.WaitForName("7", name)) break;
    ++reloads_seen;
  }
  int64_t calls_during_reloads = calls.load();
  stop = true;
  for (auto& caller : callers) caller.join();

  EXPECT_EQ(reloads_seen, 20) << serve->err();
  EXPECT_EQ(failures.load(), 0) << first_problem;
  EXPECT_EQ(unexpected.load(), 0) << first_problem;
  EXPECT_GT(calls_during_reloads, 20);
  EXPECT_THAT(serve->err(), Not(HasSubstr("reload failed")));
  EXPECT_EQ(serve->Stop(), 0) << serve->err();
}

}  // namespace
}  // namespace understudy
