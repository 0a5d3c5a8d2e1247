// The reference UserService, called through generated stubs: the unary methods, their errors and
// details, authentication, provider states and concurrent calls. Streams: user_streams_test.cc.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "examples/user_service/provider_states.h"
#include "examples/user_service/test_support.h"
#include "gmock/gmock.h"

namespace user_service::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Ids(const user::ListUsersResponse& response) {
  std::vector<std::string> ids;
  for (const user::User& u : response.users()) ids.push_back(u.id());
  return ids;
}

TEST_F(UserServerTest, GetUserReturnsUserWithOrdersAndHeaders) {
  auto context = Context();
  user::GetUserRequest request;
  request.set_user_id("42");
  user::GetUserResponse response;
  ASSERT_TRUE(stub_->GetUser(context.get(), request, &response).ok());
  const user::User& ada = response.user();
  EXPECT_EQ(ada.name(), "Ada Lovelace");
  EXPECT_EQ(ada.email(), "ada@example.com");
  EXPECT_EQ(ada.status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(ada.created_at().seconds(), 1705314600);  // 2024-01-15T10:30:00Z
  ASSERT_EQ(ada.orders_size(), 1);
  EXPECT_EQ(ada.orders(0).id(), "ord-1001");
  EXPECT_EQ(ada.orders(0).total(), 59.97);
  ASSERT_EQ(ada.orders(0).items_size(), 2);
  EXPECT_EQ(ada.orders(0).items(0).quantity(), 2);
  EXPECT_EQ(ada.orders(0).items(1).name(), "Punch cards (100)");
  EXPECT_EQ(Value(context->GetServerInitialMetadata(), "x-served-by"), "understudy");
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "x-backend"), "users-db-1");
}

TEST_F(UserServerTest, GetUserWithoutIdIsInvalidArgumentWithBadRequest) {
  auto context = Context();
  user::GetUserResponse response;
  grpc::Status status = stub_->GetUser(context.get(), user::GetUserRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "user_id is required");
  auto bad = Detail<google::rpc::BadRequest>(status);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "user_id");
}

TEST_F(UserServerTest, GetUnknownUserIsNotFoundWithErrorInfo) {
  auto context = Context();
  user::GetUserRequest request;
  request.set_user_id("404");
  user::GetUserResponse response;
  grpc::Status status = stub_->GetUser(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "User 404 not found");
  auto info = Detail<google::rpc::ErrorInfo>(status);
  EXPECT_EQ(info.reason(), "USER_NOT_FOUND");
  EXPECT_EQ(info.domain(), "users.example.com");
  EXPECT_EQ(info.metadata().at("user_id"), "404");
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "x-backend"), "users-db-1");
}

TEST_F(UserServerTest, ListUsersPagesAndFiltersWithTotalCount) {
  user::ListUsersRequest request;
  user::ListUsersResponse all;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), request, &all).ok());
  EXPECT_THAT(Ids(all), ElementsAre("42", "7", "13", "21", "58"));
  EXPECT_EQ(all.total_count(), 5);

  request.set_status(user::USER_STATUS_ACTIVE);
  request.set_limit(2);
  auto context = Context();
  user::ListUsersResponse first;
  ASSERT_TRUE(stub_->ListUsers(context.get(), request, &first).ok());
  EXPECT_THAT(Ids(first), ElementsAre("42", "21"));
  EXPECT_EQ(first.total_count(), 3);
  EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "x-total-count"), "3");

  request.set_offset(2);
  user::ListUsersResponse second;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), request, &second).ok());
  EXPECT_THAT(Ids(second), ElementsAre("58"));
  EXPECT_EQ(second.total_count(), 3);
}

TEST_F(UserServerTest, ListUsersRejectsLimitOver100) {
  user::ListUsersRequest request;
  request.set_limit(101);
  user::ListUsersResponse response;
  grpc::Status status = stub_->ListUsers(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "limit must be between 0 and 100");
  EXPECT_EQ(Detail<google::rpc::BadRequest>(status).field_violations(0).field(), "limit");
}

TEST_F(UserServerTest, CreateUserAssignsNextIdAndLocation) {
  auto context = Context();
  user::CreateUserRequest request;
  request.set_name("Barbara Liskov");
  request.set_email("liskov@example.com");
  user::CreateUserResponse response;
  ASSERT_TRUE(stub_->CreateUser(context.get(), request, &response).ok());
  EXPECT_EQ(response.user().id(), "101");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_THAT(response.user_ids(), ElementsAre("101"));
  EXPECT_EQ(response.user().created_at().seconds(), response.user().updated_at().seconds());
  EXPECT_GT(response.user().created_at().seconds(), 1700000000);
  EXPECT_EQ(Value(context->GetServerInitialMetadata(), "location"), "/users/101");
}

TEST_F(UserServerTest, CreateUserValidatesNameAndEmail) {
  user::CreateUserResponse response;
  user::CreateUserRequest request;
  grpc::Status empty = stub_->CreateUser(Context().get(), request, &response);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(empty.error_message(), "A name and a valid email address are required");
  EXPECT_EQ(Detail<google::rpc::BadRequest>(empty).field_violations_size(), 2);

  request.set_name("Eve");
  request.set_email("not-an-email");
  grpc::Status malformed = stub_->CreateUser(Context().get(), request, &response);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(malformed.error_message(), "Invalid email address");
  auto bad = Detail<google::rpc::BadRequest>(malformed);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "email");
  EXPECT_EQ(bad.field_violations(0).description(), "must be a valid email address");
}

TEST_F(UserServerTest, CreateUserWithTakenEmailIsAlreadyExists) {
  user::CreateUserRequest request;
  request.set_name("Ada Again");
  request.set_email("ada@example.com");
  user::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "A user with email ada@example.com already exists");
  auto info = Detail<google::rpc::ErrorInfo>(status);
  EXPECT_EQ(info.reason(), "EMAIL_TAKEN");
  EXPECT_EQ(info.metadata().at("email"), "ada@example.com");
}

TEST_F(UserServerTest, UpdateUserChangesMaskedFieldsAndEchoesRequestId) {
  auto context = Context();
  context->AddMetadata("x-request-id", "req-1a2b");
  user::UpdateUserRequest request;
  request.set_user_id("42");
  request.set_email("ada.lovelace@example.org");
  request.set_name("not applied: not in the mask");
  request.mutable_update_mask()->add_paths("email");
  user::UpdateUserResponse response;
  ASSERT_TRUE(stub_->UpdateUser(context.get(), request, &response).ok());
  EXPECT_EQ(response.user().email(), "ada.lovelace@example.org");
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  EXPECT_GT(response.user().updated_at().seconds(), response.user().created_at().seconds());
  EXPECT_EQ(Value(context->GetServerInitialMetadata(), "x-request-id"), "req-1a2b");

  user::GetUserRequest get;
  get.set_user_id("42");
  user::GetUserResponse got;
  ASSERT_TRUE(stub_->GetUser(Context().get(), get, &got).ok());
  EXPECT_EQ(got.user().email(), "ada.lovelace@example.org");
}

TEST_F(UserServerTest, UpdateSuspendedUserIsFailedPrecondition) {
  user::UpdateUserRequest request;
  request.set_user_id("13");
  request.set_name("Alan M. Turing");
  user::UpdateUserResponse response;
  grpc::Status status = stub_->UpdateUser(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "User 13 is suspended and cannot be updated");
  auto failure = Detail<google::rpc::PreconditionFailure>(status);
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).type(), "USER_SUSPENDED");
  EXPECT_EQ(failure.violations(0).subject(), "users/13");

  request.clear_name();  // unsuspending is allowed
  request.set_status(user::USER_STATUS_ACTIVE);
  ASSERT_TRUE(stub_->UpdateUser(Context().get(), request, &response).ok());
  EXPECT_EQ(response.user().status(), user::USER_STATUS_ACTIVE);
}

TEST_F(UserServerTest, DeleteIsSoftAndSecondDeleteIsNotFound) {
  user::DeleteUserRequest request;
  request.set_user_id("7");
  user::DeleteUserResponse response;
  ASSERT_TRUE(stub_->DeleteUser(Context().get(), request, &response).ok());
  EXPECT_TRUE(response.success());

  user::GetUserRequest get;
  get.set_user_id("7");
  user::GetUserResponse got;
  grpc::Status deleted = stub_->GetUser(Context().get(), get, &got);
  EXPECT_EQ(deleted.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(deleted.error_message(), "User 7 was deleted");
  EXPECT_EQ(Detail<google::rpc::ErrorInfo>(deleted).reason(), "USER_DELETED");

  grpc::Status again = stub_->DeleteUser(Context().get(), request, &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(again.error_message(), "User 7 not found");

  user::ListUsersResponse all;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), user::ListUsersRequest(), &all).ok());
  EXPECT_THAT(Ids(all), ElementsAre("42", "13", "21", "58"));
}

// user_service_fuzzer restores the example data only when this count moved since its last restore.
TEST_F(UserServerTest, ChangeCountMovesOnWritesOnly) {
  const int64_t before = server_->store()->ChangeCount();
  user::GetUserRequest get;
  get.set_user_id("42");
  user::GetUserResponse got;
  ASSERT_TRUE(stub_->GetUser(Context().get(), get, &got).ok());
  user::ListUsersResponse all;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), user::ListUsersRequest(), &all).ok());
  user::DeleteUserRequest refused;
  refused.set_user_id("1");
  user::DeleteUserResponse response;
  EXPECT_FALSE(stub_->DeleteUser(Context().get(), refused, &response).ok());
  EXPECT_EQ(server_->store()->ChangeCount(), before);

  user::DeleteUserRequest request;
  request.set_user_id("7");
  ASSERT_TRUE(stub_->DeleteUser(Context().get(), request, &response).ok());
  EXPECT_GT(server_->store()->ChangeCount(), before);
}

TEST_F(UserServerTest, DeleteAdministratorIsPermissionDenied) {
  user::DeleteUserRequest request;
  request.set_user_id("1");
  user::DeleteUserResponse response;
  grpc::Status status = stub_->DeleteUser(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "The administrator account cannot be deleted");
}

TEST_F(UserServerTest, CallsWithoutBearerTokenAreUnauthenticated) {
  for (const std::string authorization : {"", "Basic dXNlcjpwYXNz", "Bearer "}) {
    auto context = Context(authorization);
    user::DeleteUserRequest request;
    request.set_user_id("7");
    user::DeleteUserResponse response;
    grpc::Status status = stub_->DeleteUser(context.get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << authorization;
    EXPECT_EQ(status.error_message(), "missing or invalid authorization header");
    EXPECT_EQ(Value(context->GetServerTrailingMetadata(), "www-authenticate"),
              "Bearer realm=\"users\"");
    EXPECT_EQ(Value(context->GetServerInitialMetadata(), "x-served-by"), "<absent>");
  }
  user::GetUserRequest get;  // nothing was deleted
  get.set_user_id("7");
  user::GetUserResponse got;
  EXPECT_TRUE(stub_->GetUser(Context().get(), get, &got).ok());
}

TEST_F(UserServerTest, ConfiguredTokensRejectOtherTokens) {
  UserServerOptions options;
  options.tokens = {kToken};
  StartServer(options);
  user::GetUserRequest request;
  request.set_user_id("42");
  user::GetUserResponse response;
  grpc::Status wrong = stub_->GetUser(Context("Bearer wrong").get(), request, &response);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(stub_->GetUser(Context().get(), request, &response).ok());
}

TEST_F(UserServerTest, HealthServiceNeedsNoToken) {
  auto context = Context("");
  grpc::Slice empty("");  // an empty grpc.health.v1.HealthCheckRequest: the whole server
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::GenericStub generic(channel_);
  grpc::Status status;
  absl::Mutex mu;
  bool done = false;
  generic.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      absl::MutexLock lock(&mu);
                      status = std::move(s);
                      done = true;
                    });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&done));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(UserServerTest, ProviderStatesAppliedElsewhereAreSeenByTheRunningServer) {
  // As `user_service seed` does from another process: its own connection to the same file.
  auto seeder = UserStore::Open(db_);
  ASSERT_TRUE(seeder.ok()) << seeder.status();
  ASSERT_TRUE(ApplyProviderStates(seeder->get(), {"the example users exist", "user 500 exists",
                                                  "next user id is 900"})
                  .ok());
  user::GetUserRequest get;
  get.set_user_id("500");
  user::GetUserResponse got;
  ASSERT_TRUE(stub_->GetUser(Context().get(), get, &got).ok());
  EXPECT_EQ(got.user().name(), "Barbara Liskov");

  user::CreateUserRequest create;
  create.set_name("Frances Allen");
  create.set_email("frances@example.com");
  user::CreateUserResponse created;
  ASSERT_TRUE(stub_->CreateUser(Context().get(), create, &created).ok());
  EXPECT_EQ(created.user().id(), "900");

  ASSERT_TRUE(ApplyProviderStates(seeder->get(), {"the example users exist"}).ok());
  user::ListUsersResponse all;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), user::ListUsersRequest(), &all).ok());
  EXPECT_EQ(all.total_count(), 5);
}

TEST_F(UserServerTest, UnknownProviderStateIsNamedAndNothingIsApplied) {
  absl::Status status = ApplyProviderStates(server_->store(), {"user 500 exists", "the moon"});
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"the moon\""));
  auto user500 = server_->store()->GetUser("500", false);
  EXPECT_TRUE(absl::IsNotFound(user500.status()));
}

TEST_F(UserServerTest, ConcurrentCallsFromManyThreadsAllSucceed) {
  constexpr int kThreads = 8;
  constexpr int kUsersPerThread = 10;
  absl::Mutex mu;
  std::set<std::string> ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kUsersPerThread; ++i) {
        user::CreateUserRequest request;
        request.set_name(absl::StrCat("User ", t, "-", i));
        request.set_email(absl::StrCat("user", t, "-", i, "@example.com"));
        user::CreateUserResponse created;
        grpc::Status status = stub_->CreateUser(Context().get(), request, &created);
        ASSERT_TRUE(status.ok()) << status.error_message();
        user::GetUserRequest get;
        get.set_user_id(created.user().id());
        user::GetUserResponse got;
        ASSERT_TRUE(stub_->GetUser(Context().get(), get, &got).ok());
        EXPECT_EQ(got.user().email(), request.email());
        absl::MutexLock lock(&mu);
        ids.insert(created.user().id());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kUsersPerThread));
  user::ListUsersResponse all;
  ASSERT_TRUE(stub_->ListUsers(Context().get(), user::ListUsersRequest(), &all).ok());
  EXPECT_EQ(all.total_count(), 5 + kThreads * kUsersPerThread);
}

}  // namespace
}  // namespace user_service::testing
