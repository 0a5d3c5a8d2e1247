// The streaming methods of the reference UserService: StreamUsers (filter, bulk quota, deadline),
// CreateUserStream (all or nothing) and BidirectionalStream.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "examples/user_service/test_support.h"
#include "gmock/gmock.h"

namespace user_service::testing {
namespace {

using ::testing::ElementsAre;

// Reads the whole stream: the ids received, and the final status.
grpc::Status ReadAll(grpc::ClientReaderInterface<user::UserResponse>* reader,
                     std::vector<std::string>* ids) {
  user::UserResponse message;
  while (reader->Read(&message)) ids->push_back(message.user().id());
  return reader->Finish();
}

user::CreateUserRequest NewUser(const std::string& name, const std::string& email) {
  user::CreateUserRequest request;
  request.set_name(name);
  request.set_email(email);
  return request;
}

TEST_F(UserServerTest, StreamUsersSendsFilteredUsersInOrder) {
  auto context = Context();
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);
  std::vector<std::string> ids;
  grpc::Status status = ReadAll(stub_->StreamUsers(context.get(), request).get(), &ids);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(ids, ElementsAre("42", "21", "58"));
  EXPECT_EQ(Value(context->GetServerInitialMetadata(), "x-served-by"), "understudy");
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "x-stream-count"), "3");

  request.set_status(user::USER_STATUS_UNSPECIFIED);
  request.set_limit(4);
  ids.clear();
  ASSERT_TRUE(ReadAll(stub_->StreamUsers(Context().get(), request).get(), &ids).ok());
  EXPECT_THAT(ids, ElementsAre("42", "7", "13", "21"));
}

TEST_F(UserServerTest, StreamUsersBulkExportStopsAtQuota) {
  auto context = Context();
  user::StreamUsersRequest request;
  request.set_limit(1000);
  std::vector<std::string> ids;
  grpc::Status status = ReadAll(stub_->StreamUsers(context.get(), request).get(), &ids);
  EXPECT_THAT(ids, ElementsAre("42", "7"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "Stream quota exceeded: at most 2 users per call");
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "retry-after"), "30");
}

TEST_F(UserServerTest, StreamUsersStopsAtTheClientsDeadline) {
  UserServerOptions options;
  options.service.stream_interval = std::chrono::milliseconds(300);
  StartServer(options);
  auto context = Context(absl::StrCat("Bearer ", kToken), std::chrono::milliseconds(100));
  std::vector<std::string> ids;
  grpc::Status status =
      ReadAll(stub_->StreamUsers(context.get(), user::StreamUsersRequest()).get(), &ids);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(ids.empty());

  // Cancelled midway by the client: the server stops too, and keeps serving others.
  options.service.stream_interval = std::chrono::milliseconds(20);
  StartServer(options);
  auto cancelled = Context();
  auto reader = stub_->StreamUsers(cancelled.get(), user::StreamUsersRequest());
  user::UserResponse first;
  ASSERT_TRUE(reader->Read(&first));
  cancelled->TryCancel();
  while (reader->Read(&first)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  user::GetUserRequest get;
  get.set_user_id("42");
  user::GetUserResponse got;
  EXPECT_TRUE(stub_->GetUser(Context().get(), get, &got).ok());
}

TEST_F(UserServerTest, CreateUserStreamCreatesEveryUser) {
  auto context = Context();
  user::CreateUserResponse response;
  auto writer = stub_->CreateUserStream(context.get(), &response);
  ASSERT_TRUE(writer->Write(NewUser("Frances Allen", "frances@example.com")));
  ASSERT_TRUE(writer->Write(NewUser("John Backus", "john@example.com")));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.created_count(), 2);
  EXPECT_THAT(response.user_ids(), ElementsAre("101", "102"));
  EXPECT_EQ(response.user().name(), "John Backus");
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "x-created-count"), "2");
}

TEST_F(UserServerTest, CreateUserStreamIsAllOrNothing) {
  user::CreateUserResponse response;
  auto context = Context();
  auto writer = stub_->CreateUserStream(context.get(), &response);
  writer->Write(NewUser("Frances Allen", "frances@example.com"));
  writer->Write(NewUser("Nobody", "not-an-email"));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "Invalid email address in message 1");
  EXPECT_EQ(Detail<google::rpc::BadRequest>(status).field_violations(0).field(), "email");

  // A taken email in the second message: the first is not created either.
  auto taken_context = Context();
  auto taken = stub_->CreateUserStream(taken_context.get(), &response);
  taken->Write(NewUser("Frances Allen", "frances@example.com"));
  taken->Write(NewUser("Grace Again", "grace@example.com"));
  taken->WritesDone();
  EXPECT_EQ(taken->Finish().error_code(), grpc::StatusCode::ALREADY_EXISTS);

  user::ListUsersResponse all;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), user::ListUsersRequest(), &all).ok());
  EXPECT_EQ(all.total_count(), 5);
}

TEST_F(UserServerTest, CreateUserStreamWithoutMessagesIsInvalidArgument) {
  user::CreateUserResponse response;
  auto context = Context();
  auto writer = stub_->CreateUserStream(context.get(), &response);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "At least one user is required");
}

TEST_F(UserServerTest, BidirectionalStreamAnswersEachRequestAsItArrives) {
  auto context = Context();
  auto stream = stub_->BidirectionalStream(context.get());
  auto ask = [&](const std::string& id, const std::string& action, const std::string& user_id) {
    user::BidirectionalRequest request;
    request.set_request_id(id);
    request.set_action(action);
    request.set_user_id(user_id);
    EXPECT_TRUE(stream->Write(request));
    user::BidirectionalResponse response;
    EXPECT_TRUE(stream->Read(&response));  // answered before the next request is sent
    EXPECT_EQ(response.request_id(), id);
    return response;
  };
  user::BidirectionalResponse ada = ask("r1", "get", "42");
  EXPECT_EQ(ada.user().name(), "Ada Lovelace");
  EXPECT_EQ(ada.message(), "user found");
  EXPECT_EQ(ask("r2", "get", "7").user().name(), "Grace Hopper");
  EXPECT_EQ(ask("r3", "get", "999").message(), "user not found");
  EXPECT_EQ(ask("r4", "ping", "").message(), "pong");
  stream->WritesDone();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "x-handled"), "4");
}

TEST_F(UserServerTest, BidirectionalStreamRefusesDestructiveActions) {
  auto context = Context();
  auto stream = stub_->BidirectionalStream(context.get());
  user::BidirectionalRequest request;
  request.set_action("purge");
  request.set_user_id("42");
  stream->Write(request);
  stream->WritesDone();
  user::BidirectionalResponse response;
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "Destructive actions are not allowed over the stream");
}

TEST_F(UserServerTest, StreamsWithoutTokenAreUnauthenticated) {
  auto stream_context = Context("");
  std::vector<std::string> ids;
  grpc::Status stream =
      ReadAll(stub_->StreamUsers(stream_context.get(), user::StreamUsersRequest()).get(), &ids);
  EXPECT_EQ(stream.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ids.empty());

  auto bidi_context = Context("");
  auto bidi = stub_->BidirectionalStream(bidi_context.get());
  bidi->WritesDone();
  EXPECT_EQ(bidi->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Value(bidi_context->GetServerTrailingMetadata(), "www-authenticate"),
            "Bearer realm=\"users\"");
}

}  // namespace
}  // namespace user_service::testing
