// The fixture of the UserServer tests: a real server on port 0 over a temporary SQLite file
// holding the example users, and a stub to call it.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_TEST_SUPPORT_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_TEST_SUPPORT_H_

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/user_service/user_server.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "user.grpc.pb.h"

namespace user_service::testing {

inline constexpr char kToken[] = "test-token";

// A fresh database path under the test temp dir (removed with its WAL files by RemoveDb).
inline std::string TempDbPath() {
  static std::atomic<int> counter{0};
  return absl::StrCat(::testing::TempDir(), "user_service_", getpid(), "_", counter++, ".db");
}

inline void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// The values of trailer/header `key`, or "<absent>".
inline std::string Value(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                         const std::string& key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return "<absent>";
  return std::string(it->second.data(), it->second.size());
}

// The detail at `index` of `status`, unpacked as T (empty when it is not one).
template <typename T>
T Detail(const grpc::Status& status, int index = 0) {
  google::rpc::Status details;
  T out;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(details.message(), status.error_message());
  EXPECT_LT(index, details.details_size());
  if (index < details.details_size()) {
    EXPECT_TRUE(details.details(index).UnpackTo(&out));
  }
  return out;
}

class UserServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(UserServerOptions()); }
  void TearDown() override {
    server_.reset();
    RemoveDb(db_);
  }

  // (Re)starts the server with `options` on this test's database, with the example users.
  void StartServer(UserServerOptions options) {
    if (server_) server_->Shutdown(std::chrono::milliseconds(0));
    if (db_.empty()) db_ = TempDbPath();
    options.listen = "127.0.0.1:0";
    options.db = db_;
    options.example_data = true;
    auto started = UserServer::Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(*started);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = user::UserService::NewStub(channel_);
  }

  // A context with a deadline and, unless `authorization` is empty, that header.
  static std::unique_ptr<grpc::ClientContext> Context(
      const std::string& authorization = absl::StrCat("Bearer ", kToken),
      std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    if (!authorization.empty()) context->AddMetadata("authorization", authorization);
    return context;
  }

  std::string db_;
  std::unique_ptr<UserServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<user::UserService::Stub> stub_;
};

}  // namespace user_service::testing

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_TEST_SUPPORT_H_
