// `understudy serve --proto proto/user.proto contracts/user_service`, called over a real channel
// with the generated C++ client of user.UserService. The expected values are those of
// contracts/user_service/*.json (see its README.md). The unary methods here; the streams, what every
// mock does and the stateful scenario in user_service_stream_test.cc.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
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
using ::testing::IsEmpty;
using user_service_testing::Details;
using user_service_testing::HasDetails;
using user_service_testing::Ids;
using user_service_testing::Prepare;
using user_service_testing::Time;
using user_service_testing::Unpack;
using user_service_testing::UserServiceTest;
using user_service_testing::Value;

// ---------------------------------------------------------------------------------------------
// GetUser (unary)

TEST_F(UserServiceTest, GetUserReturnsUserWithOrdersHeadersAndTrailers) {
  grpc::ClientContext context;
  Prepare(&context);
  user::GetUserRequest request;
  request.set_user_id("42");
  user::GetUserResponse response;
  grpc::Status status = stub_->GetUser(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();

  const user::User& u = response.user();
  EXPECT_EQ(u.id(), "42");
  EXPECT_EQ(u.name(), "Ada Lovelace");
  EXPECT_EQ(u.email(), "ada@example.com");
  EXPECT_EQ(u.status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(Time(u.created_at()), "2024-01-15T10:30:00Z");
  EXPECT_EQ(Time(u.updated_at()), "2024-02-01T09:00:00Z");
  ASSERT_EQ(u.orders_size(), 1);
  const user::Order& order = u.orders(0);
  EXPECT_EQ(order.id(), "ord-1001");
  EXPECT_EQ(order.user_id(), "42");
  EXPECT_DOUBLE_EQ(order.total(), 59.97);
  EXPECT_EQ(order.status(), "shipped");
  EXPECT_EQ(Time(order.created_at()), "2024-02-20T13:45:00Z");
  ASSERT_EQ(order.items_size(), 2);
  EXPECT_EQ(order.items(0).product_id(), "sku-123");
  EXPECT_EQ(order.items(0).name(), "Analytical Engine manual");
  EXPECT_DOUBLE_EQ(order.items(0).price(), 19.99);
  EXPECT_EQ(order.items(0).quantity(), 2);
  EXPECT_EQ(order.items(1).product_id(), "sku-456");
  EXPECT_EQ(order.items(1).name(), "Punch cards (100)");
  EXPECT_DOUBLE_EQ(order.items(1).price(), 19.99);
  EXPECT_EQ(order.items(1).quantity(), 1);

  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-served-by"), "understudy");
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-backend"), "users-db-1");
  EXPECT_FALSE(HasDetails(context));
}

TEST_F(UserServiceTest, GetUserSevenReturnsGraceHopper) {
  user::GetUserResponse response;
  grpc::Status status = GetUser("7", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), "7");
  EXPECT_EQ(response.user().name(), "Grace Hopper");
  EXPECT_EQ(response.user().email(), "grace@example.com");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_INACTIVE);
  EXPECT_EQ(Time(response.user().created_at()), "2023-11-02T08:15:00Z");
  EXPECT_THAT(response.user().orders(), IsEmpty());
}

TEST_F(UserServiceTest, GetMissingUserSendsErrorInfoAndTrailer) {
  grpc::ClientContext context;
  Prepare(&context);
  user::GetUserRequest request;
  request.set_user_id("404");
  user::GetUserResponse response;
  grpc::Status status = stub_->GetUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "User 404 not found");
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-backend"), "users-db-1");

  google::rpc::Status details = Details(context, status);
  EXPECT_EQ(details.code(), 5);
  ASSERT_EQ(details.details_size(), 1);
  auto info = Unpack<google::rpc::ErrorInfo>(details, 0);
  EXPECT_EQ(info.reason(), "USER_NOT_FOUND");
  EXPECT_EQ(info.domain(), "users.example.com");
  ASSERT_EQ(info.metadata().count("user_id"), 1u);
  EXPECT_EQ(info.metadata().at("user_id"), "404");
}

TEST_F(UserServiceTest, GetUnknownUserRendersTheIdIntoTheMessage) {
  grpc::ClientContext context;
  Prepare(&context);
  user::GetUserRequest request;
  request.set_user_id("12345");
  user::GetUserResponse response;
  grpc::Status status = stub_->GetUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "User 12345 not found");
  google::rpc::Status details = Details(context, status);
  auto info = Unpack<google::rpc::ErrorInfo>(details, 0);
  EXPECT_EQ(info.reason(), "USER_NOT_FOUND");
  EXPECT_THAT(info.metadata(), IsEmpty());
}

TEST_F(UserServiceTest, GetUserWithoutIdIsInvalidArgumentWithBadRequest) {
  grpc::ClientContext context;
  Prepare(&context);
  user::GetUserResponse response;
  grpc::Status status = stub_->GetUser(&context, user::GetUserRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "user_id is required");
  auto request = Unpack<google::rpc::BadRequest>(Details(context, status), 0);
  ASSERT_EQ(request.field_violations_size(), 1);
  EXPECT_EQ(request.field_violations(0).field(), "user_id");
  EXPECT_EQ(request.field_violations(0).description(), "must not be empty");
}

TEST_F(UserServiceTest, CallsWithoutCredentialsAreUnauthenticated) {
  auto expect_unauthenticated = [](grpc::ClientContext& context, const grpc::Status& status,
                                   const char* what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << what;
    EXPECT_EQ(status.error_message(), "missing or invalid authorization header") << what;
    EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "www-authenticate"),
              "Bearer realm=\"users\"")
        << what;
  };
  {
    grpc::ClientContext context;
    Prepare(&context, /*authenticated=*/false);
    user::GetUserRequest request;
    request.set_user_id("42");
    user::GetUserResponse response;
    expect_unauthenticated(context, stub_->GetUser(&context, request, &response), "GetUser");
    EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-served-by"), "<absent>");
  }
  {
    grpc::ClientContext context;
    Prepare(&context, /*authenticated=*/false);
    context.AddMetadata("authorization", "Basic dXNlcjpwYXNz");  // not a bearer token
    user::GetUserRequest request;
    request.set_user_id("42");
    user::GetUserResponse response;
    expect_unauthenticated(context, stub_->GetUser(&context, request, &response),
                           "GetUser with Basic");
  }
  {
    grpc::ClientContext context;
    Prepare(&context, /*authenticated=*/false);
    user::ListUsersResponse response;
    expect_unauthenticated(context, stub_->ListUsers(&context, {}, &response), "ListUsers");
  }
  {
    grpc::ClientContext context;
    Prepare(&context, /*authenticated=*/false);
    user::CreateUserRequest request;
    request.set_name("Ada");
    request.set_email("ada@example.com");
    user::CreateUserResponse response;
    expect_unauthenticated(context, stub_->CreateUser(&context, request, &response), "CreateUser");
  }
  {
    grpc::ClientContext context;
    Prepare(&context, /*authenticated=*/false);
    user::DeleteUserRequest request;
    request.set_user_id("7");
    user::DeleteUserResponse response;
    expect_unauthenticated(context, stub_->DeleteUser(&context, request, &response), "DeleteUser");
  }
}

TEST_F(UserServiceTest, SlowUserArrivesAfterItsDelay) {
  auto start = std::chrono::steady_clock::now();
  user::GetUserResponse response;
  grpc::Status status = GetUser("500", &response);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Barbara Liskov");
  EXPECT_GE(elapsed, std::chrono::milliseconds(50));
}

TEST_F(UserServiceTest, DeadlineShorterThanDelayIsExceededAndServerAnswersNextCall) {
  {
    grpc::ClientContext context;
    Prepare(&context, true, std::chrono::milliseconds(10));
    user::GetUserRequest request;
    request.set_user_id("500");
    user::GetUserResponse response;
    grpc::Status status = stub_->GetUser(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  }
  user::GetUserResponse response;
  grpc::Status status = GetUser("500", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), "500");
}

TEST_F(UserServiceTest, ConcurrentCallsAreAllAnswered) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 10;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kCallsPerThread; ++k) {
        user::GetUserResponse response;
        std::string id = (t + k) % 2 == 0 ? "42" : "500";
        if (GetUser(id, &response).ok() && response.user().id() == id) ++answered;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), kThreads * kCallsPerThread);
}

// ---------------------------------------------------------------------------------------------
// ListUsers (unary, matchers on numbers and enums)

TEST_F(UserServiceTest, ListActiveUsersWithinLimitBounds) {
  for (int limit : {3, 10, 100}) {
    grpc::ClientContext context;
    Prepare(&context);
    user::ListUsersRequest request;
    request.set_status(user::USER_STATUS_ACTIVE);
    request.set_limit(limit);
    user::ListUsersResponse response;
    grpc::Status status = stub_->ListUsers(&context, request, &response);
    ASSERT_TRUE(status.ok()) << "limit " << limit << ": " << status.error_message();
    EXPECT_THAT(Ids(response.users()), ElementsAre("42", "21", "58")) << "limit " << limit;
    EXPECT_EQ(response.total_count(), 3);
    EXPECT_EQ(response.users(1).name(), "Katherine Johnson");
    EXPECT_EQ(response.users(2).email(), "edsger@example.com");
    EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-total-count"), "3");
  }
}

TEST_F(UserServiceTest, ListActiveUsersPagesOfTwo) {
  user::ListUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);
  request.set_limit(2);
  {
    grpc::ClientContext context;
    Prepare(&context);
    user::ListUsersResponse response;
    ASSERT_TRUE(stub_->ListUsers(&context, request, &response).ok());
    EXPECT_THAT(Ids(response.users()), ElementsAre("42", "21"));
    EXPECT_EQ(response.total_count(), 3);
  }
  request.set_offset(2);
  {
    grpc::ClientContext context;
    Prepare(&context);
    user::ListUsersResponse response;
    ASSERT_TRUE(stub_->ListUsers(&context, request, &response).ok());
    EXPECT_THAT(Ids(response.users()), ElementsAre("58"));
    EXPECT_EQ(response.total_count(), 3);
  }
}

TEST_F(UserServiceTest, ListUsersNeedingReviewMatchesEitherStatus) {
  for (auto filter : {user::USER_STATUS_INACTIVE, user::USER_STATUS_SUSPENDED}) {
    grpc::ClientContext context;
    Prepare(&context);
    user::ListUsersRequest request;
    request.set_status(filter);
    user::ListUsersResponse response;
    grpc::Status status = stub_->ListUsers(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(Ids(response.users()), ElementsAre("7", "13"));
    EXPECT_EQ(response.users(1).status(), user::USER_STATUS_SUSPENDED);
    EXPECT_EQ(response.total_count(), 2);
  }
}

TEST_F(UserServiceTest, ListUsersRejectsLimitOverHundredWhateverTheStatus) {
  for (auto filter : {user::USER_STATUS_UNSPECIFIED, user::USER_STATUS_ACTIVE}) {
    grpc::ClientContext context;
    Prepare(&context);
    user::ListUsersRequest request;
    request.set_status(filter);
    request.set_limit(101);
    user::ListUsersResponse response;
    grpc::Status status = stub_->ListUsers(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "limit must be between 0 and 100");
    auto bad = Unpack<google::rpc::BadRequest>(Details(context, status), 0);
    ASSERT_EQ(bad.field_violations_size(), 1);
    EXPECT_EQ(bad.field_violations(0).field(), "limit");
  }
}

TEST_F(UserServiceTest, ListUsersFallsBackToEveryUser) {
  user::ListUsersRequest active_limit_one;  // too small for "list active users", not 2
  active_limit_one.set_status(user::USER_STATUS_ACTIVE);
  active_limit_one.set_limit(1);
  for (const auto& request : {user::ListUsersRequest(), active_limit_one}) {
    grpc::ClientContext context;
    Prepare(&context);
    user::ListUsersResponse response;
    grpc::Status status = stub_->ListUsers(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(Ids(response.users()), ElementsAre("42", "7", "13", "21", "58"));
    EXPECT_EQ(response.total_count(), 5);
    EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-total-count"), "5");
  }
}

// ---------------------------------------------------------------------------------------------
// CreateUser (unary, templates)

TEST_F(UserServiceTest, CreateUserEchoesNameAndEmail) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserRequest request;
  request.set_name("Margaret Hamilton");
  request.set_email("margaret@apollo.example");
  user::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), "101");
  EXPECT_EQ(response.user().name(), "Margaret Hamilton");
  EXPECT_EQ(response.user().email(), "margaret@apollo.example");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_ACTIVE);
  EXPECT_EQ(Time(response.user().created_at()), "2024-03-10T09:00:00Z");
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_THAT(response.user_ids(), ElementsAre("101"));
  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-served-by"), "understudy");
  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "location"), "/users/101");
}

TEST_F(UserServiceTest, CreateUserWithTakenEmailAlreadyExistsWithTemplatedDetails) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserRequest request;
  request.set_name("Bob");
  request.set_email("bob@taken.example");  // also a valid email: priority 1 wins
  user::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "A user with email bob@taken.example already exists");
  auto info = Unpack<google::rpc::ErrorInfo>(Details(context, status), 0);
  EXPECT_EQ(info.reason(), "EMAIL_TAKEN");
  EXPECT_EQ(info.domain(), "users.example.com");
  ASSERT_EQ(info.metadata().count("email"), 1u);
  EXPECT_EQ(info.metadata().at("email"), "bob@taken.example");
}

TEST_F(UserServiceTest, CreateUserWithMalformedEmailIsInvalid) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserRequest request;
  request.set_name("Bob");
  request.set_email("not-an-email");
  user::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "Invalid email address");
  auto bad = Unpack<google::rpc::BadRequest>(Details(context, status), 0);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "email");
  EXPECT_EQ(bad.field_violations(0).description(), "must be a valid email address");
}

TEST_F(UserServiceTest, CreateUserWithoutNameFallsBackToBothViolations) {
  grpc::ClientContext context;
  Prepare(&context);
  user::CreateUserRequest request;
  request.set_email("nameless@example.com");
  user::CreateUserResponse response;
  grpc::Status status = stub_->CreateUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "A name and a valid email address are required");
  auto bad = Unpack<google::rpc::BadRequest>(Details(context, status), 0);
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "name");
  EXPECT_EQ(bad.field_violations(1).field(), "email");
}

// ---------------------------------------------------------------------------------------------
// UpdateUser (metadata matching, FieldMask, no catch-all)

TEST_F(UserServiceTest, UpdateEmailEchoesEmailAndRequestId) {
  grpc::ClientContext context;
  Prepare(&context);
  context.AddMetadata("x-request-id", "req-abc-123");
  user::UpdateUserRequest request;
  request.set_user_id("42");
  request.set_email("ada@newmail.example");
  request.mutable_update_mask()->add_paths("name");
  request.mutable_update_mask()->add_paths("email");
  user::UpdateUserResponse response;
  grpc::Status status = stub_->UpdateUser(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().id(), "42");
  EXPECT_EQ(response.user().name(), "Ada Lovelace");
  EXPECT_EQ(response.user().email(), "ada@newmail.example");
  EXPECT_EQ(Time(response.user().updated_at()), "2024-03-01T12:00:00Z");
  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-request-id"), "req-abc-123");
}

TEST_F(UserServiceTest, DeactivateUserTwentyOne) {
  grpc::ClientContext context;
  Prepare(&context);
  user::UpdateUserRequest request;
  request.set_user_id("21");
  request.set_status(user::USER_STATUS_INACTIVE);
  request.mutable_update_mask()->add_paths("status");
  user::UpdateUserResponse response;
  grpc::Status status = stub_->UpdateUser(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user().name(), "Katherine Johnson");
  EXPECT_EQ(response.user().status(), user::USER_STATUS_INACTIVE);
  EXPECT_EQ(Time(response.user().updated_at()), "2024-03-02T08:30:00Z");
}

TEST_F(UserServiceTest, UpdateSuspendedUserFailsPrecondition) {
  grpc::ClientContext context;
  Prepare(&context);
  user::UpdateUserRequest request;
  request.set_user_id("13");
  request.set_name("Alan M. Turing");
  user::UpdateUserResponse response;
  grpc::Status status = stub_->UpdateUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "User 13 is suspended and cannot be updated");
  auto failure = Unpack<google::rpc::PreconditionFailure>(Details(context, status), 0);
  ASSERT_EQ(failure.violations_size(), 1);
  EXPECT_EQ(failure.violations(0).type(), "USER_SUSPENDED");
  EXPECT_EQ(failure.violations(0).subject(), "users/13");
  EXPECT_EQ(failure.violations(0).description(), "unsuspend the user first");
}

TEST_F(UserServiceTest, UnmatchedCallIsNotFoundNamingMethodAndClosestInteraction) {
  // Everything of "update email of user 42" but the x-request-id header.
  grpc::ClientContext context;
  Prepare(&context);
  user::UpdateUserRequest request;
  request.set_user_id("42");
  request.set_email("ada@newmail.example");
  request.mutable_update_mask()->add_paths("email");
  user::UpdateUserResponse response;
  grpc::Status status = stub_->UpdateUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("user.UserService/UpdateUser"));
  EXPECT_THAT(status.error_message(), HasSubstr("update email of user 42"));
  EXPECT_THAT(status.error_message(), HasSubstr("x-request-id"));
}

// ---------------------------------------------------------------------------------------------
// DeleteUser (the lifecycle of user 7 is in UserScenarioTest)

TEST_F(UserServiceTest, DeleteAdministratorIsDenied) {
  grpc::ClientContext context;
  Prepare(&context);
  user::DeleteUserRequest request;
  request.set_user_id("1");
  user::DeleteUserResponse response;
  grpc::Status status = stub_->DeleteUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "The administrator account cannot be deleted");
  EXPECT_FALSE(HasDetails(context));
}

TEST_F(UserServiceTest, DeleteUnknownUserIsNotFound) {
  grpc::ClientContext context;
  Prepare(&context);
  user::DeleteUserRequest request;
  request.set_user_id("99");
  user::DeleteUserResponse response;
  grpc::Status status = stub_->DeleteUser(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "User 99 not found");
}

}  // namespace
}  // namespace understudy
