// `understudy serve --proto proto/user.proto contracts/user_service`, called over a real channel
// with the generated C++ client of user.UserService. The expected values are those of
// contracts/user_service/*.json (see its README.md).
#include <google/protobuf/util/time_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kAuthorization[] = "Bearer test-token";

// Every call gets a deadline, so that a broken server fails a test instead of hanging it.
void Prepare(grpc::ClientContext* context, bool authenticated = true,
             std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  if (authenticated) context->AddMetadata("authorization", kAuthorization);
  context->set_deadline(std::chrono::system_clock::now() + deadline);
}

// The first value of `key`, or "<absent>".
std::string Value(const Metadata& metadata, const std::string& key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return "<absent>";
  return std::string(it->second.data(), it->second.size());
}

std::string Time(const google::protobuf::Timestamp& timestamp) {
  return TimeUtil::ToString(timestamp);
}

// The google.rpc.Status sent in the `grpc-status-details-bin` trailer; checks that the client
// library saw the same bytes.
google::rpc::Status Details(const grpc::ClientContext& context, const grpc::Status& status) {
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
T Unpack(const google::rpc::Status& details, int index) {
  T out;
  EXPECT_LT(index, details.details_size());
  if (index >= details.details_size()) return out;
  EXPECT_TRUE(details.details(index).UnpackTo(&out))
      << "detail " << index << " is a " << details.details(index).type_url();
  return out;
}

bool HasDetails(const grpc::ClientContext& context) {
  auto trailers = context.GetServerTrailingMetadata();
  return trailers.find("grpc-status-details-bin") != trailers.end();
}

std::vector<std::string> Ids(const google::protobuf::RepeatedPtrField<user::User>& users) {
  std::vector<std::string> ids;
  for (const auto& user : users) ids.push_back(user.id());
  return ids;
}

// A unary call through the generic stub: raw bytes in and out.
grpc::Status GenericUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& request, std::string* response) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  Prepare(&context);
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (status.ok() && response != nullptr) {
    std::vector<grpc::Slice> slices;
    if (out.Dump(&slices).ok()) {
      response->clear();
      for (const auto& s : slices)
        response->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return status;
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

  static testing::SharedServe server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<user::UserService::Stub> stub_;
};

testing::SharedServe ServedUserService::server_;

class UserServiceTest : public ServedUserService {
 protected:
  static void SetUpTestSuite() { StartServer(); }
  static void TearDownTestSuite() { StopServer(); }
};

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
