// The journal of an embedded MockServer: every RPC kind frame by frame, misses, the ring bound,
// concurrent calls, and recorded calls outliving the mock.
#include "mockserver/journal.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mockserver/mock_server.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kEveryKind[] = R"({"interactions": [
  {"name": "unary 42", "method": "user.UserService/GetUser",
   "request": {"body": {"userId": "42"}},
   "response": {"body": {"user": {"id": "42", "name": "Ada"}}}},
  {"name": "two users", "method": "user.UserService/StreamUsers",
   "response": {"stream": [{"body": {"user": {"id": "1"}}}, {"body": {"user": {"id": "2"}}}]}},
  {"name": "create a then b", "method": "user.UserService/CreateUserStream",
   "request": {"stream": [{"name": "a"}, {"name": "b"}]},
   "response": {"body": {"createdCount": 2}}},
  {"name": "ping twice", "method": "user.UserService/BidirectionalStream",
   "conversation": [{"client": {"action": "ping"}}, {"server": {"message": "pong"}},
                    {"client": {"action": "ping"}}, {"server": {"message": "pong"}}]}
]})";

// Answers GetUser for any id.
constexpr char kAnyUser[] = R"({"interactions": [
  {"name": "any user", "method": "user.UserService/GetUser",
   "response": {"body": {"user": {"id": "{{request.body.userId}}"}}}}]})";

MockServerOptions Inline(const std::string& json) {
  MockServerOptions options;
  options.schema.proto_files = {(fs::path(UNDERSTUDY_SOURCE_DIR) / "proto/user.proto").string()};
  options.interaction_json = {json};
  return options;
}

grpc::Status GetUser(user::UserService::Stub& stub, const std::string& id) {
  grpc::ClientContext context;
  context.AddMetadata("x-test", "journal");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  user::GetUserRequest request;
  request.set_user_id(id);
  user::GetUserResponse response;
  return stub.GetUser(&context, request, &response);
}

TEST(Journal, RecordsEveryRpcKindFrameByFrame) {
  auto mock = MockServer::Start(Inline(kEveryKind));
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto stub = user::UserService::NewStub((*mock)->Channel());

  ASSERT_TRUE(GetUser(*stub, "42").ok());
  {
    grpc::ClientContext context;
    user::StreamUsersRequest request;
    request.set_limit(2);
    auto reader = stub->StreamUsers(&context, request);
    user::UserResponse response;
    int received = 0;
    while (reader->Read(&response)) ++received;
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(received, 2);
  }
  {
    grpc::ClientContext context;
    user::CreateUserResponse response;
    auto writer = stub->CreateUserStream(&context, &response);
    user::CreateUserRequest request;
    request.set_name("a");
    ASSERT_TRUE(writer->Write(request));
    request.set_name("b");
    ASSERT_TRUE(writer->Write(request));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  {
    grpc::ClientContext context;
    auto stream = stub->BidirectionalStream(&context);
    user::BidirectionalRequest request;
    request.set_action("ping");
    user::BidirectionalResponse response;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(stream->Write(request));
      ASSERT_TRUE(stream->Read(&response));
    }
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
  }

  std::vector<RecordedCall> calls = (*mock)->Calls();
  ASSERT_EQ(calls.size(), 4u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].sequence, i + 1);
    EXPECT_EQ(calls[i].code, grpc::StatusCode::OK) << calls[i].DebugString();
    EXPECT_FALSE(calls[i].unmatched());
    EXPECT_EQ(calls[i].interaction_file, "<inline 0>");
    EXPECT_LE(calls[i].start, calls[i].end);
    for (const auto& message : calls[i].requests) {
      EXPECT_LE(calls[i].start, message.received);
      EXPECT_LE(message.received, calls[i].end);
    }
  }

  const RecordedCall& unary = calls[0];
  EXPECT_EQ(unary.method, "user.UserService/GetUser");
  EXPECT_EQ(unary.interaction, "unary 42");
  ASSERT_EQ(unary.requests.size(), 1u);
  EXPECT_EQ(unary.requests[0].Json(), R"({"userId":"42"})");
  EXPECT_EQ(unary.RequestAs<user::GetUserRequest>().user_id(), "42");
  EXPECT_THAT(unary.metadata, ::testing::Contains(Pair("x-test", "journal")));
  ASSERT_NE(unary.FindMetadata("x-test"), nullptr);
  EXPECT_EQ(unary.messages_sent, 1);

  const RecordedCall& server_stream = calls[1];
  EXPECT_EQ(server_stream.interaction, "two users");
  EXPECT_EQ(server_stream.RequestJson(), R"({"limit":2})");
  EXPECT_EQ(server_stream.messages_sent, 2);

  const RecordedCall& client_stream = calls[2];
  EXPECT_EQ(client_stream.interaction, "create a then b");
  ASSERT_EQ(client_stream.requests.size(), 2u);
  EXPECT_EQ(client_stream.requests[0].Json(), R"({"name":"a"})");
  EXPECT_EQ(client_stream.requests[1].Json(), R"({"name":"b"})");
  EXPECT_LE(client_stream.requests[0].received, client_stream.requests[1].received);
  EXPECT_EQ(client_stream.RequestJson(), R"([{"name":"a"},{"name":"b"}])");
  EXPECT_EQ(client_stream.messages_sent, 1);

  const RecordedCall& bidi = calls[3];
  EXPECT_EQ(bidi.method, "user.UserService/BidirectionalStream");
  EXPECT_EQ(bidi.interaction, "ping twice");
  ASSERT_EQ(bidi.requests.size(), 2u);
  EXPECT_LE(bidi.requests[0].received, bidi.requests[1].received);
  EXPECT_EQ(bidi.messages_sent, 2);

  EXPECT_EQ((*mock)->Calls("user.UserService/CreateUserStream").size(), 1u);
  EXPECT_EQ((*mock)->Calls("/user.UserService/CreateUserStream").size(), 1u);
  EXPECT_TRUE((*mock)->Calls("user.UserService/DeleteUser").empty());
  EXPECT_TRUE((*mock)->UnmatchedCalls().empty());
}

TEST(Journal, RecordsWhyACallMissed) {
  auto mock = MockServer::Start(Inline(kEveryKind));
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto stub = user::UserService::NewStub((*mock)->Channel());
  ASSERT_EQ(GetUser(*stub, "43").error_code(), grpc::StatusCode::NOT_FOUND);
  {
    // The conversation is chosen on the first message, then the second one diverges.
    grpc::ClientContext context;
    auto stream = stub->BidirectionalStream(&context);
    user::BidirectionalRequest request;
    request.set_action("ping");
    user::BidirectionalResponse response;
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    request.set_action("get");
    stream->Write(request);
    stream->WritesDone();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }

  std::vector<RecordedCall> unmatched = (*mock)->UnmatchedCalls();
  ASSERT_EQ(unmatched.size(), 2u);
  EXPECT_EQ(unmatched[0].code, grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(unmatched[0].interaction.empty());
  EXPECT_THAT(unmatched[0].miss, HasSubstr("closest is \"unary 42\" (<inline 0>)"));
  EXPECT_THAT(unmatched[0].miss, HasSubstr("userId"));
  EXPECT_THAT(unmatched[0].DebugString(),
              HasSubstr(R"(user.UserService/GetUser {"userId":"43"} metadata {x-test: journal})"));
  EXPECT_EQ(unmatched[1].interaction, "ping twice");
  EXPECT_THAT(unmatched[1].miss, HasSubstr("client message 1 does not match"));
}

TEST(Journal, KeepsOnlyTheMostRecentCalls) {
  MockServerOptions options = Inline(kAnyUser);
  options.journal_size = 10;
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto stub = user::UserService::NewStub((*mock)->Channel());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(GetUser(*stub, std::to_string(i)).ok());

  std::vector<RecordedCall> calls = (*mock)->Calls();
  ASSERT_EQ(calls.size(), 10u);
  for (size_t k = 0; k < calls.size(); ++k) {
    EXPECT_EQ(calls[k].sequence, 16 + k);
    EXPECT_EQ(calls[k].RequestAs<user::GetUserRequest>().user_id(), std::to_string(15 + k));
  }

  (*mock)->ClearJournal();
  EXPECT_TRUE((*mock)->Calls().empty());
  ASSERT_TRUE(GetUser(*stub, "x").ok());
  ASSERT_EQ((*mock)->Calls().size(), 1u);
  EXPECT_EQ((*mock)->Calls()[0].sequence, 26u);  // numbering goes on
}

TEST(Journal, ByteBudgetKeepsOnlyTheMostRecentCallsThatFit) {
  MockServerOptions options = Inline(kAnyUser);
  options.journal_bytes = 64 << 10;
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto stub = user::UserService::NewStub((*mock)->Channel());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(GetUser(*stub, std::to_string(i) + std::string(4000, '.')).ok());
  }
  std::vector<RecordedCall> calls = (*mock)->Calls();
  ASSERT_GT(calls.size(), 5u);
  ASSERT_LT(calls.size(), 17u);  // 16 calls of 4 KB are the budget, before their overhead
  int64_t bytes = 0;
  for (const auto& call : calls) bytes += call.bytes;
  EXPECT_LE(bytes, 64 << 10);
  EXPECT_EQ(calls.back().sequence, 40u);
  EXPECT_EQ(calls.back().RequestAs<user::GetUserRequest>().user_id().substr(0, 3), "39.");
}

TEST(Journal, CallLargerThanTheWholeBudgetIsKeptWithoutItsMessages) {
  MockServerOptions options = Inline(kAnyUser);
  options.journal_bytes = 16 << 10;
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto stub = user::UserService::NewStub((*mock)->Channel());
  ASSERT_TRUE(GetUser(*stub, "small").ok());
  ASSERT_TRUE(GetUser(*stub, std::string(100000, 'x')).ok());
  std::vector<RecordedCall> calls = (*mock)->Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].requests.size(), 1u);
  EXPECT_TRUE(calls[1].requests.empty());
  EXPECT_EQ(calls[1].requests_dropped, 1u);
  EXPECT_EQ(calls[1].interaction, "any user");
  EXPECT_LT(calls[1].bytes, 16 << 10);
}

// An observer of the embedding test sees every call's messages read-only, and may keep them:
// they stay valid (with their schema) after the journal and the mock are gone.
class KeepingObserver final : public CallObserver {
 public:
  void OnCallDone(const Record& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& message : *record.requests) kept_.push_back(message);
  }
  std::vector<std::shared_ptr<const google::protobuf::Message>> kept() {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_;
  }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<const google::protobuf::Message>> kept_;
};

TEST(Journal, ObserverKeepsTheMessagesTheJournalKeeps) {
  KeepingObserver observer;
  std::vector<RecordedCall> calls;
  {
    MockServerOptions options = Inline(kEveryKind);
    options.observer = &observer;
    auto mock = MockServer::Start(options);
    ASSERT_TRUE(mock.ok()) << mock.status();
    auto stub = user::UserService::NewStub((*mock)->Channel());
    ASSERT_TRUE(GetUser(*stub, "42").ok());
    calls = (*mock)->WaitForCalls("user.UserService/GetUser", 1, std::chrono::seconds(5));
  }
  ASSERT_EQ(calls.size(), 1u);
  auto kept = observer.kept();
  ASSERT_EQ(kept.size(), 1u);
  ASSERT_EQ(calls[0].requests.size(), 1u);
  EXPECT_EQ(kept[0].get(), calls[0].requests[0].message.get());  // shared, not copied
  EXPECT_EQ(kept[0]->ShortDebugString(), "user_id: \"42\"");
  EXPECT_EQ(calls[0].requests[0].Json(), R"({"userId":"42"})");
}

TEST(Journal, SizeZeroRecordsNothing) {
  MockServerOptions options = Inline(kAnyUser);
  options.journal_size = 0;
  auto mock = MockServer::Start(options);
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto stub = user::UserService::NewStub((*mock)->Channel());
  ASSERT_TRUE(GetUser(*stub, "1").ok());
  EXPECT_TRUE((*mock)->Calls().empty());
}

TEST(Journal, RecordsEveryConcurrentCall) {
  auto mock = MockServer::Start(Inline(kAnyUser));
  ASSERT_TRUE(mock.ok()) << mock.status();
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = user::UserService::NewStub((*mock)->Channel());
      for (int i = 0; i < kCallsPerThread; ++i) {
        if (!GetUser(*stub, std::to_string(t * 1000 + i)).ok()) ++failed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);

  std::vector<RecordedCall> calls = (*mock)->Calls();
  ASSERT_EQ(calls.size(), static_cast<size_t>(kThreads * kCallsPerThread));
  std::set<std::string> ids;
  std::set<uint64_t> sequences;
  for (const auto& call : calls) {
    ids.insert(call.RequestAs<user::GetUserRequest>().user_id());
    sequences.insert(call.sequence);
  }
  EXPECT_EQ(ids.size(), calls.size());
  EXPECT_EQ(sequences.size(), calls.size());
  EXPECT_EQ(*sequences.rbegin(), calls.size());
  EXPECT_TRUE(std::is_sorted(calls.begin(), calls.end(),
                             [](const auto& a, const auto& b) { return a.sequence < b.sequence; }));
}

TEST(Journal, RecordedCallsOutliveTheMock) {
  std::vector<RecordedCall> calls;
  {
    auto mock = MockServer::Start(Inline(kEveryKind));
    ASSERT_TRUE(mock.ok()) << mock.status();
    auto stub = user::UserService::NewStub((*mock)->Channel());
    ASSERT_TRUE(GetUser(*stub, "42").ok());
    calls = (*mock)->Calls();
  }
  ASSERT_EQ(calls.size(), 1u);
  // The messages are of the mock's run-time schema, which the record keeps alive.
  EXPECT_EQ(calls[0].requests[0].Json(), R"({"userId":"42"})");
  EXPECT_TRUE(calls[0].RequestMatches(R"({"userId": {"$regex": "4."}})", nullptr).value());
}

}  // namespace
}  // namespace understudy
