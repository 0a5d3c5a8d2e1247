// mockserver/testing.h: gmock matchers over recorded calls pass and fail as a test expects, and
// their failure messages list the recorded calls.
#include "mockserver/testing.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::understudy::testing::Answered;
using ::understudy::testing::CallTo;
using ::understudy::testing::ExpectNoUnmatchedCalls;
using ::understudy::testing::HasMetadata;
using ::understudy::testing::HasStatus;
using ::understudy::testing::RequestPartiallyEquals;
using ::understudy::testing::StreamPartiallyEquals;
using ::understudy::testing::Unmatched;

constexpr char kInteractions[] = R"({"interactions": [
  {"name": "user 42", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "42"}},
   "response": {"body": {"user": {"id": "42", "name": "Ada"}}}},
  {"name": "user 7", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "7"}},
   "response": {"body": {"user": {"id": "7", "name": "Grace"}}}},
  {"name": "create any", "method": "user.UserService/CreateUserStream",
   "response": {"body": {"createdCount": 2}}}
]})";

class MockTesting : public ::testing::Test {
 protected:
  void SetUp() override {
    MockServerOptions options;
    options.schema.proto_files = {(fs::path(UNDERSTUDY_SOURCE_DIR) / "proto/user.proto").string()};
    options.interaction_json = {kInteractions};
    options.listen = "";  // in-process is enough here
    auto started = MockServer::Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    mock_ = std::move(*started);
    stub_ = user::UserService::NewStub(mock_->Channel());
  }

  grpc::StatusCode GetUser(const std::string& id) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer token-1");
    user::GetUserRequest request;
    request.set_user_id(id);
    user::GetUserResponse response;
    return stub_->GetUser(&context, request, &response).error_code();
  }

  void CreateUsers(const std::vector<std::string>& names) {
    grpc::ClientContext context;
    user::CreateUserResponse response;
    auto writer = stub_->CreateUserStream(&context, &response);
    for (const auto& name : names) {
      user::CreateUserRequest request;
      request.set_name(name);
      request.set_email(name + "@example.com");
      writer->Write(request);
    }
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }

  std::unique_ptr<MockServer> mock_;
  std::unique_ptr<user::UserService::Stub> stub_;
};

TEST_F(MockTesting, MatchersReadNaturallyWithGmock) {
  ASSERT_EQ(GetUser("42"), grpc::StatusCode::OK);
  ASSERT_EQ(GetUser("7"), grpc::StatusCode::OK);
  ASSERT_EQ(GetUser("42"), grpc::StatusCode::OK);
  CreateUsers({"ada", "alan"});

  EXPECT_THAT(mock_->Calls("user.UserService/GetUser"),
              ElementsAre(RequestPartiallyEquals(R"({"userId": "42"})"),
                          RequestPartiallyEquals(R"({"userId": {"$regex": "[0-9]"}})"),
                          AllOf(Answered("user 42"), HasStatus(grpc::StatusCode::OK))));
  EXPECT_THAT(mock_->Calls(), SizeIs(4));
  EXPECT_THAT(mock_->Calls(), Contains(CallTo("user.UserService/GetUser")).Times(3));
  EXPECT_THAT(mock_->Calls(), Contains(Answered("user 42")).Times(2));
  EXPECT_THAT(mock_->Calls(), Contains(HasMetadata("authorization", StartsWith("Bearer "))));
  EXPECT_THAT(mock_->Calls(), Contains(HasMetadata("authorization", "Bearer token-1")));
  EXPECT_THAT(mock_->Calls(), Not(Contains(Unmatched())));
  EXPECT_THAT(mock_->Calls("user.UserService/CreateUserStream"),
              ElementsAre(AllOf(StreamPartiallyEquals(R"([{"name": "ada"}, {"name": "alan"}])"),
                                Not(HasMetadata("authorization")))));
  ExpectNoUnmatchedCalls(*mock_);
}

TEST_F(MockTesting, MatchersExplainAMismatch) {
  ASSERT_EQ(GetUser("42"), grpc::StatusCode::OK);
  RecordedCall call = mock_->Calls().at(0);

  EXPECT_TRUE(::testing::Matches(RequestPartiallyEquals(R"({"userId": "42"})"))(call));
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(RequestPartiallyEquals(R"({"userId": "43"})"), call,
                                             &listener));
  EXPECT_THAT(listener.str(), HasSubstr("request /userId"));
  EXPECT_THAT(listener.str(), HasSubstr("43"));

  ::testing::StringMatchResultListener wrong_method;
  EXPECT_FALSE(
      ::testing::ExplainMatchResult(CallTo("user.UserService/DeleteUser"), call, &wrong_method));
  EXPECT_EQ(wrong_method.str(), "is a call to user.UserService/GetUser");

  EXPECT_FALSE(::testing::Matches(Answered("user 7"))(call));
  EXPECT_FALSE(::testing::Matches(Unmatched())(call));
  EXPECT_FALSE(::testing::Matches(HasMetadata("authorization", "Bearer other"))(call));
  EXPECT_FALSE(::testing::Matches(StreamPartiallyEquals(R"([{"userId": "42"}, {}])"))(call));
}

TEST_F(MockTesting, FailureMessagesListTheRecordedCalls) {
  ASSERT_EQ(GetUser("42"), grpc::StatusCode::OK);
  ASSERT_EQ(GetUser("9"), grpc::StatusCode::NOT_FOUND);

  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(mock_->Calls(), Contains(CallTo("user.UserService/DeleteUser"))),
      R"(#1 user.UserService/GetUser {"userId":"42"} metadata {authorization: Bearer token-1} )"
      R"(-> OK, answered by "user 42" (<inline 0>))");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(mock_->Calls(), Contains(CallTo("user.UserService/GetUser")).Times(3)),
      R"(#2 user.UserService/GetUser {"userId":"9"})");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(mock_->Calls("user.UserService/GetUser"),
                  ElementsAre(RequestPartiallyEquals(R"({"userId": "42"})"),
                              RequestPartiallyEquals(R"({"userId": "7"})"))),
      "NOT_FOUND, unmatched: no interaction matched user.UserService/GetUser; closest is");
}

TEST_F(MockTesting, ExpectNoUnmatchedCallsListsTheMisses) {
  ASSERT_EQ(GetUser("42"), grpc::StatusCode::OK);
  ASSERT_EQ(GetUser("9"), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(mock_->UnmatchedCalls(),
              ElementsAre(AllOf(Unmatched(), HasStatus(grpc::StatusCode::NOT_FOUND))));

  EXPECT_NONFATAL_FAILURE(ExpectNoUnmatchedCalls(*mock_),
                          "1 call to the mock matched no interaction:\n"
                          "  #2 user.UserService/GetUser {\"userId\":\"9\"}\n"
                          "    NOT_FOUND: no interaction matched user.UserService/GetUser; "
                          "closest is \"user");
  mock_->ClearJournal();
  ExpectNoUnmatchedCalls(*mock_);
}

TEST_F(MockTesting, AnInvalidSpecFailsTheTest) {
  ASSERT_EQ(GetUser("42"), grpc::StatusCode::OK);
  RecordedCall call = mock_->Calls().at(0);
  bool matched = true;
  EXPECT_NONFATAL_FAILURE(
      matched = ::testing::Matches(RequestPartiallyEquals(R"({"userid": "42"})"))(call),
      R"(<spec>: /userid: no field "userid" in user.GetUserRequest (did you mean "userId"?))");
  EXPECT_FALSE(matched);
  EXPECT_NONFATAL_FAILURE(::testing::Matches(RequestPartiallyEquals("{"))(call), "invalid JSON");
  // Once per matcher, not once per call it is tried on.
  ASSERT_EQ(GetUser("7"), grpc::StatusCode::OK);
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(mock_->Calls(), Not(Contains(RequestPartiallyEquals(R"({"nope": 1})")))),
      R"(<spec>: /nope: no field "nope")");
}

}  // namespace
}  // namespace understudy
