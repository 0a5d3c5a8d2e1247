// `understudy serve --proto proto/user.proto contracts/user_service`: the streaming methods, what
// every mock does whatever its contracts, and the stateful scenario of user 7 (see
// user_service_test.cc for the unary methods).
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/mockserver/user_service_test_util.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using user_service_testing::Details;
using user_service_testing::GenericUnary;
using user_service_testing::Prepare;
using user_service_testing::ServedUserService;
using user_service_testing::Time;
using user_service_testing::Unpack;
using user_service_testing::UserServiceTest;
using user_service_testing::Value;

// ---------------------------------------------------------------------------------------------
// StreamUsers (server streaming)

TEST_F(UserServiceTest, StreamActiveUsersSendsEveryMessageInOrder) {
  grpc::ClientContext context;
  Prepare(&context);
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);
  auto reader = stub_->StreamUsers(&context, request);
  reader->WaitForInitialMetadata();
  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-served-by"), "understudy");
  std::vector<user::User> users;
  user::UserResponse message;
  while (reader->Read(&message)) users.push_back(message.user());
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].id(), "42");
  EXPECT_EQ(users[0].name(), "Ada Lovelace");
  EXPECT_EQ(users[1].id(), "21");
  EXPECT_EQ(users[1].email(), "katherine@example.com");
  EXPECT_EQ(users[2].id(), "58");
  EXPECT_EQ(Time(users[2].created_at()), "2024-03-01T07:00:00Z");
  for (const auto& u : users) EXPECT_EQ(u.status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-stream-count"), "3");
}

TEST_F(UserServiceTest, StreamEndsWithResourceExhaustedAfterTwoUsers) {
  grpc::ClientContext context;
  Prepare(&context);
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);  // "until quota" has priority 1
  request.set_limit(1000);
  auto reader = stub_->StreamUsers(&context, request);
  std::vector<std::string> ids;
  user::UserResponse message;
  while (reader->Read(&message)) ids.push_back(message.user().id());
  grpc::Status status = reader->Finish();
  EXPECT_THAT(ids, ElementsAre("42", "7"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "Stream quota exceeded: at most 2 users per call");
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "retry-after"), "30");
}

TEST_F(UserServiceTest, UnmatchedServerStreamIsNotFound) {
  grpc::ClientContext context;
  Prepare(&context);
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_SUSPENDED);
  auto reader = stub_->StreamUsers(&context, request);
  user::UserResponse message;
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("user.UserService/StreamUsers"));
}

TEST_F(UserServiceTest, CancelledStreamLeavesServerHealthy) {
  {
    grpc::ClientContext context;
    Prepare(&context);
    user::StreamUsersRequest request;
    request.set_status(user::USER_STATUS_ACTIVE);
    auto reader = stub_->StreamUsers(&context, request);
    user::UserResponse message;
    ASSERT_TRUE(reader->Read(&message));
    EXPECT_EQ(message.user().id(), "42");
    context.TryCancel();
    while (reader->Read(&message)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The same stream again, to the end, and a unary call.
  grpc::ClientContext context;
  Prepare(&context);
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);
  auto reader = stub_->StreamUsers(&context, request);
  std::vector<std::string> ids;
  user::UserResponse message;
  while (reader->Read(&message)) ids.push_back(message.user().id());
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_THAT(ids, ElementsAre("42", "21", "58"));
  user::GetUserResponse response;
  EXPECT_TRUE(GetUser("42", &response).ok());
}

// ---------------------------------------------------------------------------------------------
// CreateUserStream (client streaming)

TEST_F(UserServiceTest, BulkCreateTwoUsersAnswersWithTheLast) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserResponse response;
  auto writer = stub_->CreateUserStream(&context, &response);
  user::CreateUserRequest first;
  first.set_name("Ada Lovelace");
  first.set_email("ada@example.com");
  user::CreateUserRequest second;
  second.set_name("Grace Hopper");
  second.set_email("grace@navy.example");
  second.set_status(user::USER_STATUS_INACTIVE);
  ASSERT_TRUE(writer->Write(first));
  ASSERT_TRUE(writer->Write(second));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), "202");
  EXPECT_EQ(response.user().name(), "Grace Hopper");
  EXPECT_EQ(response.user().email(), "grace@navy.example");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(Time(response.user().created_at()), "2024-03-10T09:00:01Z");
  EXPECT_EQ(response.created_count(), 2);
  EXPECT_THAT(response.user_ids(), ElementsAre("201", "202"));
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-created-count"), "2");
}

TEST_F(UserServiceTest, BulkCreateWithMalformedEmailIsInvalid) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserResponse response;
  auto writer = stub_->CreateUserStream(&context, &response);
  user::CreateUserRequest request;
  request.set_name("Bob");
  request.set_email("bob-at-example.com");
  ASSERT_TRUE(writer->Write(request));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "Invalid email address in message 0");
  auto bad = Unpack<google::rpc::BadRequest>(Details(context, status), 0);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "email");
}

TEST_F(UserServiceTest, EmptyBulkCreateIsInvalid) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserResponse response;
  auto writer = stub_->CreateUserStream(&context, &response);
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "At least one user is required");
}

TEST_F(UserServiceTest, BulkCreateOfThreeUsersMatchesNothing) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserResponse response;
  auto writer = stub_->CreateUserStream(&context, &response);
  for (const char* name : {"a", "b", "c"}) {
    user::CreateUserRequest request;
    request.set_name(name);
    request.set_email(std::string(name) + "@example.com");
    ASSERT_TRUE(writer->Write(request));
  }
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("user.UserService/CreateUserStream"));
}

// ---------------------------------------------------------------------------------------------
// BidirectionalStream

user::BidirectionalRequest BidiRequest(const std::string& id, const std::string& action,
                                       const std::string& user_id) {
  user::BidirectionalRequest request;
  request.set_request_id(id);
  request.set_action(action);
  request.set_user_id(user_id);
  return request;
}

TEST_F(UserServiceTest, BidiStreamFollowsTheConversation) {
  grpc::ClientContext context;
  Prepare(&context);
  auto stream = stub_->BidirectionalStream(&context);
  user::BidirectionalResponse response;

  ASSERT_TRUE(stream->Write(BidiRequest("r1", "get", "42")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "r1");
  EXPECT_EQ(response.user().id(), "42");
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(response.message(), "user found");
  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-served-by"), "understudy");

  ASSERT_TRUE(stream->Write(BidiRequest("r2", "lookup", "7")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "r2");
  EXPECT_EQ(response.user().name(), "Grace Hopper");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_INACTIVE);

  ASSERT_TRUE(stream->Write(BidiRequest("anything", "ping", "")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.message(), "pong");
  EXPECT_EQ(response.request_id(), "");
  EXPECT_FALSE(response.has_user());

  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-handled"), "3");
}

TEST_F(UserServiceTest, BidiSecondMessageThatDoesNotMatchIsNotFound) {
  grpc::ClientContext context;
  Prepare(&context);
  auto stream = stub_->BidirectionalStream(&context);
  user::BidirectionalResponse response;
  ASSERT_TRUE(stream->Write(BidiRequest("r1", "get", "42")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "r1");
  stream->Write(BidiRequest("r2", "get", "99"));  // the conversation wants user 7
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("look up two users over one stream"));
  EXPECT_THAT(status.error_message(), HasSubstr("userId"));
}

TEST_F(UserServiceTest, BidiDestructiveActionIsDenied) {
  grpc::ClientContext context;
  Prepare(&context);
  auto stream = stub_->BidirectionalStream(&context);
  user::BidirectionalResponse response;
  stream->Write(BidiRequest("r1", "purge", "42"));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "Destructive actions are not allowed over the stream");
}

TEST_F(UserServiceTest, BidiClosedBeforeTheConversationEndsIsNotFound) {
  grpc::ClientContext context;
  Prepare(&context);
  auto stream = stub_->BidirectionalStream(&context);
  user::BidirectionalResponse response;
  ASSERT_TRUE(stream->Write(BidiRequest("r1", "get", "42")));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("look up two users over one stream"));
}

// FORMAT ("Choosing an interaction"): when the best interaction needs a client message first, the
// first message chooses among every conversation whose first client step takes it, including one
// that starts with server steps; that one then sends its server steps and takes the message.
TEST(UserServiceBidiChoice, ServerFirstConversationTakesAMessageTheHigherClientFirstOneRefuses) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_user_service_test_bidi_choice";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "bidi.json") << R"({"interactions": [
      {"name": "lookup", "method": "user.UserService/BidirectionalStream", "priority": 5,
       "conversation": [{"client": {"action": "get"}}, {"server": {"message": "found"}}]},
      {"name": "greeting", "method": "user.UserService/BidirectionalStream",
       "conversation": [{"server": {"message": "hello"}}, {"client": {"action": "ping"}},
                        {"server": {"message": "pong"}}]}]})";
  auto serve =
      testing::ServeProcess::Start({"--proto", "proto/user.proto", (dir / "bidi.json").string()});
  ASSERT_TRUE(serve.ok()) << serve.status();
  auto stub = user::UserService::NewStub(
      grpc::CreateChannel((*serve)->address(), grpc::InsecureChannelCredentials()));
  {
    // "lookup" ranks first and wants "get": the server waits, and "ping" goes to "greeting".
    grpc::ClientContext context;
    Prepare(&context);
    auto stream = stub->BidirectionalStream(&context);
    user::BidirectionalResponse response;
    ASSERT_TRUE(stream->Write(BidiRequest("r1", "ping", "")));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.message(), "hello");
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.message(), "pong");
    ASSERT_TRUE(stream->WritesDone());
    EXPECT_FALSE(stream->Read(&response));
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  }
  {
    // A message "greeting" does not take goes to "lookup" as before.
    grpc::ClientContext context;
    Prepare(&context);
    auto stream = stub->BidirectionalStream(&context);
    user::BidirectionalResponse response;
    ASSERT_TRUE(stream->Write(BidiRequest("r2", "get", "42")));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.message(), "found");
    ASSERT_TRUE(stream->WritesDone());
    EXPECT_FALSE(stream->Read(&response));
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  }
  {
    // Neither takes "purge".
    grpc::ClientContext context;
    Prepare(&context);
    auto stream = stub->BidirectionalStream(&context);
    user::BidirectionalResponse response;
    stream->Write(BidiRequest("r3", "purge", "42"));
    EXPECT_FALSE(stream->Read(&response));
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  }
  stub.reset();
  EXPECT_EQ((*serve)->Stop(), 0) << (*serve)->err();
}

// ---------------------------------------------------------------------------------------------
// What every mock does, whatever its contracts

TEST_F(UserServiceTest, MethodNotInSchemaIsUnimplemented) {
  for (const char* method : {"/user.UserService/GetUsr", "/billing.Invoices/Send"}) {
    grpc::Status status = GenericUnary(channel_, method, "", nullptr);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << method;
  }
}

TEST_F(UserServiceTest, UndecodableRequestIsInvalidArgumentAndServerStaysUp) {
  grpc::Status status =
      GenericUnary(channel_, "/user.UserService/GetUser", "\xff\xff\xff", nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("user.GetUserRequest"));

  user::GetUserResponse response;
  grpc::Status next = GetUser("42", &response);
  ASSERT_TRUE(next.ok()) << next.error_message();
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
}

TEST_F(UserServiceTest, HealthCheckIsServing) {
  // grpc.health.v1.HealthCheckRequest{} is empty; HealthCheckResponse{status: SERVING} is
  // field 1, varint 1.
  std::string response;
  grpc::Status status = GenericUnary(channel_, "/grpc.health.v1.Health/Check", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));

  // HealthCheckRequest{service: "user.UserService"}: field 1, length-delimited.
  std::string service = "user.UserService";
  std::string request = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  status = GenericUnary(channel_, "/grpc.health.v1.Health/Check", request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response, std::string("\x08\x01", 2));
}

// ---------------------------------------------------------------------------------------------
// The scenario "user 7 lifecycle": its own server, since it changes the mock's state.

class UserScenarioTest : public ServedUserService {
 protected:
  static void SetUpTestSuite() { StartServer(); }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(UserScenarioTest, DeletingUserSevenChangesWhatTheMockAnswers) {
  user::GetUserResponse got;
  grpc::Status status = GetUser("7", &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.user().name(), "Grace Hopper");

  user::DeleteUserRequest request;
  request.set_user_id("7");
  {
    grpc::ClientContext context;
    Prepare(&context);
    user::DeleteUserResponse response;
    status = stub_->DeleteUser(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.success());
  }
  {
    grpc::ClientContext context;
    Prepare(&context);
    user::GetUserRequest get;
    get.set_user_id("7");
    status = stub_->GetUser(&context, get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), "User 7 was deleted");
    auto info = Unpack<google::rpc::ErrorInfo>(Details(context, status), 0);
    EXPECT_EQ(info.reason(), "USER_DELETED");
    EXPECT_EQ(info.metadata().at("user_id"), "7");
  }
  {
    grpc::ClientContext context;
    Prepare(&context);
    user::DeleteUserResponse response;
    status = stub_->DeleteUser(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), "User 7 not found");
  }
  // Users outside the scenario are unaffected.
  status = GetUser("42", &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.user().name(), "Ada Lovelace");
}

}  // namespace
}  // namespace understudy
