// UserDirectory against the embedded mock: each test starts its own MockServer of the
// UserService (a few milliseconds), serving the contracts in contracts/user_service plus the
// inline interactions below, and points a UserDirectory at it.
//
// Copy this file to test your own client: replace the proto, the contracts and the client.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <understudy/mock_server.h>
#include <understudy/testing.h>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "examples/user_client/user_directory.h"
#include "examples/user_client/user_session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace user_client {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kGetUser[] = "user.UserService/GetUser";
constexpr char kListUsers[] = "user.UserService/ListUsers";

// Stubs for the error paths the contracts do not cover, written as a test would: inline, next to
// the tests that use them.
constexpr char kFlakyBackend[] = R"json({"interactions": [
  {
    "name": "user 900 while the backend restarts",
    "method": "user.UserService/GetUser",
    "scenario": "backend restart", "whenState": "Started", "setState": "recovered",
    "request": {"body": {"userId": "900"}},
    "response": {"status": {"code": "UNAVAILABLE", "message": "backend restarting"}}
  },
  {
    "name": "user 900 once the backend is back",
    "method": "user.UserService/GetUser",
    "scenario": "backend restart", "whenState": "recovered",
    "request": {"body": {"userId": "900"}},
    "response": {"body": {"user": {"id": "900", "name": "Frances Allen",
                                   "status": "USER_STATUS_ACTIVE"}}}
  },
  {
    "name": "user 901 never available",
    "method": "user.UserService/GetUser",
    "request": {"body": {"userId": "901"}},
    "response": {"status": {"code": "UNAVAILABLE", "message": "backend down"}}
  },
  {
    "name": "user 902 answers too late",
    "method": "user.UserService/GetUser",
    "request": {"body": {"userId": "902"}},
    "response": {"delayMs": 10000, "body": {"user": {"id": "902"}}}
  }
]})json";

class UserDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    understudy::MockServerOptions options;
    options.schema.proto_files = {USER_CLIENT_PROTO};
    options.interaction_paths = {USER_CLIENT_CONTRACTS};
    options.interaction_json = {kFlakyBackend};
    auto mock = understudy::MockServer::Start(options);
    ASSERT_TRUE(mock.ok()) << mock.status();
    mock_ = std::move(*mock);
  }

  // A directory over the mock, authenticated, with retries quick enough for a test.
  std::unique_ptr<UserDirectory> Directory(UserDirectoryOptions options = Options()) {
    return std::make_unique<UserDirectory>(mock_->Channel(), options);
  }
  static UserDirectoryOptions Options() {
    UserDirectoryOptions options;
    options.authorization = "Bearer example-token";
    options.initial_backoff = std::chrono::milliseconds(1);
    return options;
  }

  // The calls the mock has answered so far (its journal).
  size_t CountOf(const std::string& method) const { return mock_->Calls(method).size(); }

  std::unique_ptr<understudy::MockServer> mock_;
};

std::vector<std::string> Ids(const std::vector<user::User>& users) {
  std::vector<std::string> ids;
  for (const user::User& user : users) ids.push_back(user.id());
  return ids;
}

// --- Unary: GetUser, its cache and its errors.

TEST_F(UserDirectoryTest, GetUserReturnsTheContractUser) {
  auto ada = Directory()->GetUser("42");
  ASSERT_TRUE(ada.ok()) << ada.status();
  EXPECT_EQ(ada->name(), "Ada Lovelace");
  EXPECT_EQ(ada->status(), user::USER_STATUS_ACTIVE);
  ASSERT_EQ(ada->orders_size(), 1);
  EXPECT_EQ(ada->orders(0).id(), "ord-1001");
}

TEST_F(UserDirectoryTest, GetUserAnswersRepeatsFromTheCache) {
  auto directory = Directory();
  ASSERT_TRUE(directory->GetUser("42").ok());
  ASSERT_TRUE(directory->GetUser("42").ok());
  EXPECT_EQ(CountOf(kGetUser), 1);
  EXPECT_EQ(directory->CachedUsers(), 1u);

  directory->Forget("42");
  ASSERT_TRUE(directory->GetUser("42").ok());
  EXPECT_EQ(CountOf(kGetUser), 2);
}

TEST_F(UserDirectoryTest, GetUserReportsNotFoundAndDoesNotCacheIt) {
  auto directory = Directory();
  auto missing = directory->GetUser("404");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "User 404 not found");

  EXPECT_EQ(directory->GetUser("404").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CountOf(kGetUser), 2);  // not retried, not cached
  EXPECT_EQ(directory->CachedUsers(), 0u);
}

TEST_F(UserDirectoryTest, GetUserWithoutCredentialsIsUnauthenticated) {
  UserDirectoryOptions options = Options();
  options.authorization.clear();
  EXPECT_EQ(Directory(options)->GetUser("42").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(UserDirectoryTest, GetUserRetriesUnavailableUntilTheServiceAnswers) {
  auto frances = Directory()->GetUser("900");  // UNAVAILABLE, then the user (a scenario)
  ASSERT_TRUE(frances.ok()) << frances.status();
  EXPECT_EQ(frances->name(), "Frances Allen");
  // Verify the calls themselves: the same request twice, answered by the two scenario steps.
  using understudy::testing::Answered;
  using understudy::testing::RequestPartiallyEquals;
  EXPECT_THAT(mock_->Calls(kGetUser),
              ElementsAre(AllOf(RequestPartiallyEquals(R"({"userId": "900"})"),
                                Answered("user 900 while the backend restarts")),
                          AllOf(RequestPartiallyEquals(R"({"userId": "900"})"),
                                Answered("user 900 once the backend is back"))));
  understudy::testing::ExpectNoUnmatchedCalls(*mock_);
}

TEST_F(UserDirectoryTest, GetUserGivesUpAfterMaxAttempts) {
  UserDirectoryOptions options = Options();
  options.max_attempts = 3;
  auto down = Directory(options)->GetUser("901");  // always UNAVAILABLE
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down.status().message(), "backend down");
  EXPECT_EQ(CountOf(kGetUser), 3);
}

TEST_F(UserDirectoryTest, GetUserFailsWithDeadlineExceededAndDoesNotRetry) {
  UserDirectoryOptions options = Options();
  options.deadline = std::chrono::milliseconds(100);  // the mock waits 10 s before answering
  auto start = std::chrono::steady_clock::now();
  auto slow = Directory(options)->GetUser("902");
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(mock_->WaitForCalls(kGetUser, 1).size(), 1);
}

// --- Unary, repeated: ListUsers page by page.

TEST_F(UserDirectoryTest, ListAllUsersPagesThroughEveryPage) {
  UserDirectoryOptions options = Options();
  options.page_size = 2;  // the contracts answer 42, 21 at offset 0 and 58 at offset 2
  auto active = Directory(options)->ListAllUsers(user::USER_STATUS_ACTIVE);
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_THAT(Ids(*active), ElementsAre("42", "21", "58"));
  EXPECT_EQ(CountOf(kListUsers), 2);
}

TEST_F(UserDirectoryTest, ListAllUsersNeedsOnePageWhenItHoldsEveryone) {
  auto all = Directory()->ListAllUsers();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Ids(*all), ElementsAre("42", "7", "13", "21", "58"));
  EXPECT_EQ(CountOf(kListUsers), 1);
}

TEST_F(UserDirectoryTest, ListAllUsersReturnsTheServiceError) {
  UserDirectoryOptions options = Options();
  options.page_size = 500;
  auto rejected = Directory(options)->ListAllUsers();
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.status().message(), HasSubstr("limit must be between 0 and 100"));
}

// --- Server streaming: StreamUsers.

TEST_F(UserDirectoryTest, StreamUsersCollectsEveryMessage) {
  user::StreamUsersRequest request;
  request.set_status(user::USER_STATUS_ACTIVE);
  auto active = Directory()->StreamUsers(request);
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_THAT(Ids(*active), ElementsAre("42", "21", "58"));
}

TEST_F(UserDirectoryTest, StreamUsersSeesTheUsersSentBeforeAnError) {
  user::StreamUsersRequest request;
  request.set_limit(1000);  // the contract sends two users, then RESOURCE_EXHAUSTED
  std::vector<user::User> seen;
  absl::Status status =
      Directory()->StreamUsers(request, [&seen](const user::User& user) { seen.push_back(user); });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Ids(seen), ElementsAre("42", "7"));
}

// --- Client streaming: CreateUsers.

user::CreateUserRequest NewUser(const std::string& name, const std::string& email) {
  user::CreateUserRequest request;
  request.set_name(name);
  request.set_email(email);
  return request;
}

TEST_F(UserDirectoryTest, CreateUsersSendsEveryUserOverOneStream) {
  auto created = Directory()->CreateUsers(
      {NewUser("Radia Perlman", "radia@example.com"), NewUser("Niklaus Wirth", "nik@example.com")});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->created_count(), 2);
  EXPECT_THAT(created->user_ids(), ElementsAre("201", "202"));
  EXPECT_EQ(created->user().name(), "Niklaus Wirth");  // the last user sent
}

TEST_F(UserDirectoryTest, CreateUsersReturnsInvalidArgumentForAMalformedEmail) {
  auto rejected = Directory()->CreateUsers({NewUser("Nobody", "not-an-email")});
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.status().message(), HasSubstr("Invalid email address"));
}

// --- Bidirectional streaming: a session.

TEST_F(UserDirectoryTest, SessionAnswersEachRequestInTurn) {
  auto session = Directory()->OpenSession();
  auto ada = session->Get("42");
  ASSERT_TRUE(ada.ok()) << ada.status();
  EXPECT_EQ(ada->request_id(), "r1");
  EXPECT_EQ(ada->user().name(), "Ada Lovelace");
  auto grace = session->Get("7");
  ASSERT_TRUE(grace.ok()) << grace.status();
  EXPECT_EQ(grace->request_id(), "r2");
  EXPECT_EQ(grace->user().name(), "Grace Hopper");
  auto pong = session->Ping();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->message(), "pong");
  EXPECT_TRUE(session->Close().ok());
}

TEST_F(UserDirectoryTest, SessionEndsWithTheServiceErrorForARefusedAction) {
  auto session = Directory()->OpenSession();
  auto refused = session->Send("delete", "42");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  // The call has ended: later requests and Close() report the same status.
  EXPECT_EQ(session->Get("42").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(session->Close().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(UserDirectoryTest, SessionClosedEarlyIsCancelledWithoutError) {
  auto session = Directory()->OpenSession();
  ASSERT_TRUE(session->Get("42").ok());
  session.reset();  // abandons the conversation: the call is cancelled, nothing hangs
  EXPECT_EQ(mock_->WaitForCalls("user.UserService/BidirectionalStream", 1).size(), 1);
}

}  // namespace
}  // namespace user_client
