// The mock's bounds (message size, messages per call, calls in flight) and what a client that
// cancels, vanishes or runs out of time leaves behind: nothing. Real gRPC calls to an embedded
// MockServer over loopback TCP.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mockserver/mock_server.h"
#include "tests/mockserver/serve_process.h"
#include "user.grpc.pb.h"

namespace understudy {
namespace {

using ::testing::HasSubstr;

constexpr char kInteractions[] = R"({"interactions": [
  {"name": "any user", "method": "user.UserService/GetUser",
   "request": {"body": {}}, "response": {"body": {"user": {"id": "1"}}}},
  {"name": "slow user", "method": "user.UserService/GetUser", "priority": 1,
   "request": {"body": {"userId": "slow"}},
   "response": {"delayMs": 1500, "body": {"user": {"id": "slow"}}}},
  {"name": "slowest user", "method": "user.UserService/GetUser", "priority": 1,
   "request": {"body": {"userId": "slowest"}},
   "response": {"delayMs": 4000, "body": {"user": {"id": "slowest"}}}},
  {"name": "big user", "method": "user.UserService/GetUser", "priority": 1,
   "request": {"body": {"userId": "big"}},
   "response": {"body": {"user": {"id": "big", "name": "BIG_NAME"}}}},
  {"name": "bulk create", "method": "user.UserService/CreateUserStream",
   "request": {}, "response": {"body": {"createdCount": 1}}},
  {"name": "slow stream", "method": "user.UserService/StreamUsers",
   "request": {"body": {}},
   "response": {"stream": [{"body": {"user": {"id": "1"}}},
                           {"body": {"user": {"id": "2"}}, "delayMs": 30000}]}}
]})";

std::string Interactions() {
  std::string text = kInteractions;
  text.replace(text.find("BIG_NAME"), 8, std::string(2000, 'x'));
  return text;
}

std::unique_ptr<MockServer> StartMock(void (*configure)(MockServerOptions*) = nullptr) {
  MockServerOptions options;
  options.schema.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
  options.interaction_json = {Interactions()};
  if (configure != nullptr) configure(&options);
  auto mock = MockServer::Start(options);
  EXPECT_TRUE(mock.ok()) << mock.status();
  return mock.ok() ? std::move(*mock) : nullptr;
}

grpc::Status GetUser(const std::shared_ptr<grpc::Channel>& channel, const std::string& id,
                     std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto stub = user::UserService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  user::GetUserRequest request;
  request.set_user_id(id);
  user::GetUserResponse response;
  return stub->GetUser(&context, request, &response);
}

// Waits (up to 10 s) until the mock serves no call; the count it saw last.
int64_t SettledCallsInFlight(const MockServer& mock) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (mock.CallsInFlight() != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return mock.CallsInFlight();
}

TEST(Limits, MessageOverTheDefaultFourMebibytesIsResourceExhausted) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  grpc::Status status = GetUser(mock->Channel(), std::string(5 << 20, 'a'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_TRUE(GetUser(mock->Channel(), "1").ok());
}

TEST(Limits, MaxMessageBytesBoundsRequestsAndResponses) {
  auto mock = StartMock([](MockServerOptions* options) { options->max_message_bytes = 1024; });
  ASSERT_NE(mock, nullptr);
  grpc::Status request = GetUser(mock->Channel(), std::string(2048, 'a'));
  EXPECT_EQ(request.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << request.error_message();
  // The "big user" answer is over 2,000 bytes: the mock may not send it.
  grpc::Status response = GetUser(mock->Channel(), "big");
  EXPECT_EQ(response.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << response.error_message();
  EXPECT_TRUE(GetUser(mock->Channel(), std::string(512, 'a')).ok());
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
}

TEST(Limits, MoreClientMessagesThanMaxStreamMessagesIsResourceExhausted) {
  auto mock =
      StartMock([](MockServerOptions* options) { options->limits.max_stream_messages = 3; });
  ASSERT_NE(mock, nullptr);
  auto stub = user::UserService::NewStub(mock->Channel());
  auto send = [&](int messages) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    user::CreateUserResponse response;
    auto writer = stub->CreateUserStream(&context, &response);
    user::CreateUserRequest request;
    request.set_name("n");
    for (int i = 0; i < messages && writer->Write(request); ++i) {
    }
    writer->WritesDone();
    return writer->Finish();
  };
  EXPECT_TRUE(send(3).ok());
  grpc::Status status = send(50);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("more than 3 messages on one call to user.UserService/CreateUserStream"));
  EXPECT_TRUE(send(1).ok());
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
}

// A client stream of `messages` CreateUserRequests whose names are `bytes` long, half-closed
// when `finish`; its writer, to finish later otherwise.
struct BulkCreate {
  grpc::ClientContext context;
  user::CreateUserResponse response;
  std::unique_ptr<grpc::ClientWriter<user::CreateUserRequest>> writer;

  BulkCreate(user::UserService::Stub* stub, int messages, size_t bytes) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    writer = stub->CreateUserStream(&context, &response);
    user::CreateUserRequest request;
    request.set_name(std::string(bytes, 'n'));
    for (int i = 0; i < messages && writer->Write(request); ++i) {
    }
  }
  grpc::Status Finish() {
    writer->WritesDone();
    return writer->Finish();
  }
};

TEST(Limits, RequestBytesOfOneCallBeyondTheBoundAreResourceExhausted) {
  auto mock = StartMock(
      [](MockServerOptions* options) { options->limits.max_call_request_bytes = 100000; });
  ASSERT_NE(mock, nullptr);
  auto stub = user::UserService::NewStub(mock->Channel());
  EXPECT_TRUE(BulkCreate(stub.get(), 9, 10000).Finish().ok());
  grpc::Status status = BulkCreate(stub.get(), 20, 10000).Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("more than 100000 request bytes on one call to "
                        "user.UserService/CreateUserStream (--max-call-request-bytes)"));
  EXPECT_TRUE(BulkCreate(stub.get(), 1, 10000).Finish().ok());
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
}

// A bidirectional call that answers each of three client messages, then waits for a fourth:
// when its third answer arrives, the server holds its three messages.
constexpr char kHoldingConversation[] = R"({"interactions": [{"name": "hold three",
  "method": "user.UserService/BidirectionalStream",
  "conversation": [{"client": {}}, {"server": {"message": "1"}}, {"client": {}},
                   {"server": {"message": "2"}}, {"client": {}}, {"server": {"message": "3"}},
                   {"client": {"action": "never sent"}}]}]})";

TEST(Limits, RequestBytesHeldByAllCallsInFlightAreBounded) {
  auto mock = StartMock([](MockServerOptions* options) {
    options->limits.max_held_request_bytes = 1000000;
    options->interaction_json.push_back(kHoldingConversation);
  });
  ASSERT_NE(mock, nullptr);
  auto stub = user::UserService::NewStub(mock->Channel());
  grpc::ClientContext holder_context;
  holder_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto holder = stub->BidirectionalStream(&holder_context);
  user::BidirectionalRequest big;
  big.set_request_id(std::string(300000, 'r'));
  user::BidirectionalResponse answer;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(holder->Write(big));
    ASSERT_TRUE(holder->Read(&answer));
  }
  // 900 KB held: another call's 200 KB would pass the bound.
  grpc::Status refused = BulkCreate(stub.get(), 2, 100000).Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("the calls in flight already hold 900"));
  EXPECT_THAT(refused.error_message(), HasSubstr("(--max-held-request-bytes); try again later"));
  EXPECT_TRUE(BulkCreate(stub.get(), 1, 50000).Finish().ok());  // what fits is served
  holder->WritesDone();
  EXPECT_EQ(holder->Finish().error_code(), grpc::StatusCode::NOT_FOUND);  // the 4th never came
  // What a finished call held is given back.
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
  EXPECT_TRUE(BulkCreate(stub.get(), 3, 300000).Finish().ok());
}

// A channel of its own (gRPC shares connections between equal channels otherwise).
std::shared_ptr<grpc::Channel> OwnChannel(const MockServer& mock, int id) {
  grpc::ChannelArguments args;
  args.SetInt("understudy.test.channel_id", id);
  return grpc::CreateCustomChannel(mock.address(), grpc::InsecureChannelCredentials(), args);
}

TEST(Limits, ConnectionsBeyondMaxConnectionsAreClosedAndAcceptingGoesOn) {
  auto mock = StartMock([](MockServerOptions* options) { options->max_connections = 2; });
  ASSERT_NE(mock, nullptr);
  auto first = OwnChannel(*mock, 1);
  auto second = OwnChannel(*mock, 2);
  EXPECT_TRUE(GetUser(first, "1").ok());
  EXPECT_TRUE(GetUser(second, "1").ok());
  auto third = OwnChannel(*mock, 3);
  grpc::Status refused = GetUser(third, "1", std::chrono::seconds(2));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  // One connection gone, a new one is served (the client retries until its deadline). The
  // refused channel goes first: it would otherwise retry and take the freed place.
  third.reset();
  first.reset();
  auto stub = user::UserService::NewStub(OwnChannel(*mock, 4));
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  user::GetUserRequest request;
  user::GetUserResponse response;
  grpc::Status served = stub->GetUser(&context, request, &response);
  EXPECT_TRUE(served.ok()) << served.error_message();
}

TEST(Limits, BoundedListenerRefusesAPortOutOfRange) {
  MockServerOptions options;
  options.schema.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
  options.listen = "127.0.0.1:99999";
  options.max_connections = 10;
  auto mock = MockServer::Start(options);
  ASSERT_FALSE(mock.ok());
  EXPECT_THAT(mock.status().message(), HasSubstr("cannot listen on 127.0.0.1:99999"));
}

grpc::Status CompressedGetUser(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = user::UserService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  user::GetUserRequest request;
  request.set_user_id(std::string(1000, 'a'));  // large enough that gRPC compresses it
  user::GetUserResponse response;
  return stub->GetUser(&context, request, &response);
}

TEST(Limits, CompressedRequestIsUnimplementedUnlessAcceptCompressed) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  grpc::Status refused = CompressedGetUser(mock->Channel());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNIMPLEMENTED) << refused.error_message();
  EXPECT_TRUE(GetUser(mock->Channel(), "1").ok());
  auto accepting = StartMock([](MockServerOptions* options) { options->accept_compressed = true; });
  ASSERT_NE(accepting, nullptr);
  grpc::Status served = CompressedGetUser(accepting->Channel());
  EXPECT_TRUE(served.ok()) << served.error_message();
}

TEST(Limits, CallsBeyondMaxConcurrentCallsAreRefusedUntilOthersFinish) {
  auto mock =
      StartMock([](MockServerOptions* options) { options->limits.max_concurrent_calls = 2; });
  ASSERT_NE(mock, nullptr);
  std::vector<std::thread> slow;
  std::vector<grpc::Status> slow_status(2);
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back([&, i] { slow_status[i] = GetUser(mock->Channel(), "slow"); });
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (mock->CallsInFlight() < 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(mock->CallsInFlight(), 2);
  grpc::Status refused = GetUser(mock->Channel(), "1");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max-concurrent-calls"));
  for (auto& thread : slow) thread.join();
  for (const auto& status : slow_status) EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(GetUser(mock->Channel(), "1").ok());
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
}

TEST(ServeFlags, MaxConnectionsAndAcceptCompressedReachTheServer) {
  const std::string file = ::testing::TempDir() + "/understudy_limits_test.json";
  std::ofstream(file) << Interactions();
  auto serve = testing::ServeProcess::Start(
      {"--proto", "proto/user.proto", "--max-connections", "1", "--accept-compressed", file});
  ASSERT_TRUE(serve.ok()) << serve.status();
  grpc::ChannelArguments first_args, second_args;
  first_args.SetInt("understudy.test.channel_id", 1);
  second_args.SetInt("understudy.test.channel_id", 2);
  auto first = grpc::CreateCustomChannel((*serve)->address(), grpc::InsecureChannelCredentials(),
                                         first_args);
  auto second = grpc::CreateCustomChannel((*serve)->address(),
                                          grpc::InsecureChannelCredentials(), second_args);
  grpc::Status compressed = CompressedGetUser(first);  // served: --accept-compressed
  EXPECT_TRUE(compressed.ok()) << compressed.error_message();
  grpc::Status refused = GetUser(second, "1", std::chrono::seconds(2));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST(ServeFlags, LimitFlagsBoundTheServedCalls) {
  const std::string file = ::testing::TempDir() + "/understudy_limits_test.json";
  std::ofstream(file) << Interactions();
  auto serve = testing::ServeProcess::Start(
      {"--proto", "proto/user.proto", "--max-stream-messages", "2", "--max-message-size", "1024",
       "--max-concurrent-calls", "1", file});
  ASSERT_TRUE(serve.ok()) << serve.status();
  auto call = [&](const std::string& method, const std::string& data) {
    return testing::RunUnderstudy({"call", "--proto", "proto/user.proto", "--timeout", "10",
                                   (*serve)->address(), method, "-d", data});
  };
  testing::RunResult three = call("user.UserService/CreateUserStream", "{}{}{}");
  EXPECT_EQ(three.exit_code, 1) << three.err;
  EXPECT_THAT(three.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(three.err, HasSubstr("more than 2 messages"));
  testing::RunResult big = call("user.UserService/GetUser", R"({"userId": ")" +
                                                                std::string(2048, 'a') + R"("})");
  EXPECT_EQ(big.exit_code, 1) << big.err;
  EXPECT_THAT(big.err, HasSubstr("RESOURCE_EXHAUSTED"));
  // One slow call in flight: the next one is refused until it ends. Each call is a process of its
  // own, so a quick call may still reach the server before the slow one does and get the slow
  // one refused instead: that round proves nothing about the slow call, and is run again.
  testing::RunResult refused, slow;
  for (int round = 0; round < 5; ++round) {
    auto slow_call = std::async(std::launch::async, [&] {
      return call("user.UserService/GetUser", R"({"userId": "slowest"})");
    });
    refused = {};
    for (int i = 0; i < 100 && refused.err.find("RESOURCE_EXHAUSTED") == std::string::npos; ++i) {
      refused = call("user.UserService/GetUser", "{}");
      if (slow_call.wait_for(std::chrono::seconds(0)) == std::future_status::ready) break;
    }
    slow = slow_call.get();
    if (slow.err.find("--max-concurrent-calls") == std::string::npos) break;
  }
  EXPECT_THAT(refused.err, HasSubstr("--max-concurrent-calls"));
  EXPECT_EQ(slow.exit_code, 0) << slow.err;
  EXPECT_EQ(call("user.UserService/CreateUserStream", "{}{}").exit_code, 0);
  EXPECT_EQ((*serve)->Stop(), 0);
}

TEST(ServeFlags, SigtermEndsCallsThatOutlastTheGracePeriodAndExitsZero) {
  const std::string file = ::testing::TempDir() + "/understudy_limits_grace.json";
  std::ofstream(file) << Interactions();
  auto serve =
      testing::ServeProcess::Start({"--proto", "proto/user.proto", "--grace-ms", "300", file});
  ASSERT_TRUE(serve.ok()) << serve.status();
  auto stub = user::UserService::NewStub(
      grpc::CreateChannel((*serve)->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = stub->StreamUsers(&context, user::StreamUsersRequest());
  user::UserResponse message;
  ASSERT_TRUE(reader->Read(&message));  // the next message would wait 30 s
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*serve)->Stop(SIGTERM, std::chrono::seconds(20)), 0) << (*serve)->err();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_NE(reader->Finish().error_code(), grpc::StatusCode::OK);
  EXPECT_THAT((*serve)->err(), HasSubstr("received SIGTERM"));
}

TEST(Leftovers, DeadlineDuringADelayLeavesNoCallBehind) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  for (int i = 0; i < 5; ++i) {
    grpc::Status status = GetUser(mock->Channel(), "slow", std::chrono::milliseconds(50));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
  EXPECT_TRUE(GetUser(mock->Channel(), "1").ok());
}

TEST(Leftovers, ClientThatCancelsMidStreamLeavesNoCallBehind) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  auto stub = user::UserService::NewStub(mock->Channel());
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    auto reader = stub->StreamUsers(&context, user::StreamUsersRequest());
    user::UserResponse message;
    ASSERT_TRUE(reader->Read(&message));  // the second message waits 30 s
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
}

TEST(Leftovers, ClientStreamCancelledBeforeItsEndLeavesNoCallBehind) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  auto stub = user::UserService::NewStub(mock->Channel());
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    user::CreateUserResponse response;
    auto writer = stub->CreateUserStream(&context, &response);
    ASSERT_TRUE(writer->Write(user::CreateUserRequest()));
    context.TryCancel();  // no WritesDone
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
}

TEST(Leftovers, ClientProcessKilledMidStreamLeavesNoCallBehind) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  for (int i = 0; i < 3; ++i) {
    // `understudy call` prints the stream's first message, then waits 30 s for the second: it
    // is killed there, and its connection goes with it.
    auto client = testing::ChildProcess::Spawn(
        testing::UnderstudyBinary(),
        {"call", "--proto", "proto/user.proto", "--compact", mock->address(),
         "user.UserService/StreamUsers", "-d", "{}"},
        testing::SourceDir());
    ASSERT_TRUE(client.ok()) << client.status();
    auto line = (*client)->WaitForLine("{", std::chrono::seconds(20));
    ASSERT_TRUE(line.ok()) << line.status() << (*client)->err();
    EXPECT_EQ(mock->CallsInFlight(), 1);
    (*client)->Signal(SIGKILL);
    EXPECT_EQ((*client)->WaitForExit(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  EXPECT_EQ(SettledCallsInFlight(*mock), 0);
  EXPECT_TRUE(GetUser(mock->Channel(), "1").ok());
}

TEST(Leftovers, ShutdownWithAGraceCancelsCallsThatOutlastIt) {
  auto mock = StartMock();
  ASSERT_NE(mock, nullptr);
  auto stub = user::UserService::NewStub(mock->Channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = stub->StreamUsers(&context, user::StreamUsersRequest());
  user::UserResponse message;
  ASSERT_TRUE(reader->Read(&message));
  auto start = std::chrono::steady_clock::now();
  mock->Shutdown(std::chrono::milliseconds(200));
  mock->Wait();
  // Not the 30 s the stream's next message waits for.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_NE(reader->Finish().error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(mock->CallsInFlight(), 0);
}

}  // namespace
}  // namespace understudy
