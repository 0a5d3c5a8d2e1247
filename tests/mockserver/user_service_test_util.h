// Shared by the tests of `understudy serve` with the UserService contracts
// (user_service_test.cc, user_service_stream_test.cc): call helpers and the fixture that starts
// one server per test suite.
#ifndef UNDERSTUDY_TESTS_MOCKSERVER_USER_SERVICE_TEST_UTIL_H_
#define UNDERSTUDY_TESTS_MOCKSERVER_USER_SERVICE_TEST_UTIL_H_

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace user_service_testing {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

inline constexpr char kAuthorization[] = "Bearer test-token";

// Every call gets a deadline, so that a broken server fails a test instead of hanging it.
inline void Prepare(grpc::ClientContext* context, bool authenticated = true,
                    std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  if (authenticated) context->AddMetadata("authorization", kAuthorization);
  context->set_deadline(std::chrono::system_clock::now() + deadline);
}

// The first value of `key`, or "<absent>".
inline std::string Value(const Metadata& metadata, const std::string& key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return "<absent>";
  return std::string(it->second.data(), it->second.size());
}

inline std::string Time(const google::protobuf::Timestamp& timestamp) {
  return google::protobuf::util::TimeUtil::ToString(timestamp);
}

// The google.rpc.Status sent in the `grpc-status-details-bin` trailer; checks that the client
// library saw the same bytes.
inline google::rpc::Status Details(const grpc::ClientContext& context, const grpc::Status& status) {
  google::rpc::Status details;
  auto trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("grpc-status-details-bin");
  EXPECT_NE(it, trailers.end()) << "no grpc-status-details-bin trailer";
  if (it == trailers.end()) return details;
  std::string bytes(it->second.data(), it->second.size());
  EXPECT_TRUE(details.ParseFromString(bytes));
  EXPECT_EQ(status.error_details(), bytes);
  EXPECT_EQ(details.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(details.message(), status.error_message());
  return details;
}

template <typename T>
inline T Unpack(const google::rpc::Status& details, int index) {
  T out;
  EXPECT_LT(index, details.details_size());
  if (index >= details.details_size()) return out;
  EXPECT_TRUE(details.details(index).UnpackTo(&out))
      << "detail " << index << " is a " << details.details(index).type_url();
  return out;
}

inline bool HasDetails(const grpc::ClientContext& context) {
  auto trailers = context.GetServerTrailingMetadata();
  return trailers.find("grpc-status-details-bin") != trailers.end();
}

inline std::vector<std::string> Ids(const google::protobuf::RepeatedPtrField<user::User>& users) {
  std::vector<std::string> ids;
  for (const auto& user : users) ids.push_back(user.id());
  return ids;
}

// A unary call through the generic stub: raw bytes in and out.
inline grpc::Status GenericUnary(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& method, const std::string& request,
                                 std::string* response) {
  grpc::ClientContext context;
  Prepare(&context);
  return testing::GenericUnaryCall(channel, &context, method, request, response);
}

// One `understudy serve` per test suite. Tests of a suite share it, so they must not depend on
// each other: the stateful scenario has its own suite (and server).
class ServedUserService : public ::testing::Test {
 protected:
  static void StartServer() {
    server_.Start({"--proto", "proto/user.proto", "contracts/user_service"});
  }
  static void StopServer() { server_.Stop(); }

  void SetUp() override {
    ASSERT_TRUE(server_.Ready());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = user::UserService::NewStub(channel_);
  }

  grpc::Status GetUser(const std::string& id, user::GetUserResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    user::GetUserRequest request;
    request.set_user_id(id);
    return stub_->GetUser(&context, request, response);
  }

  inline static testing::SharedServe server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<user::UserService::Stub> stub_;
};

class UserServiceTest : public ServedUserService {
 protected:
  static void SetUpTestSuite() { StartServer(); }
  static void TearDownTestSuite() { StopServer(); }
};

}  // namespace user_service_testing
}  // namespace understudy

#endif  // UNDERSTUDY_TESTS_MOCKSERVER_USER_SERVICE_TEST_UTIL_H_
