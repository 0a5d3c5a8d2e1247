// The service fuzzer against a service with planted bugs (buggy_service.proto): the encoding,
// the harness in process (findings as values), the mutator, and the fuzz target as a process (a
// finding prints the FINDING line and exits non-zero, a clean input exits 0).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fuzz/service_fuzzer.h"
#include "fuzz/testing/buggy_service.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace understudy::fuzz {
namespace {

using ::testing::HasSubstr;
using ::understudy::fuzztest::Request;

enum Method { kCheck = 0, kCollect = 1, kWatch = 2, kChat = 3 };

std::string Bytes(const std::string& name, const std::string& tag, int value = 0,
                  bool stall = false) {
  Request request;
  request.set_name(name);
  request.mutable_inner()->set_tag(tag);
  request.mutable_inner()->set_value(value);
  request.set_stall(stall);
  return request.SerializeAsString();
}

ServiceCall Call(int method, std::vector<std::string> messages) {
  ServiceCall call;
  call.method = method;
  call.messages = std::move(messages);
  return call;
}

ServiceInput Input(std::vector<ServiceCall> calls) {
  ServiceInput input;
  input.calls = std::move(calls);
  return input;
}

std::atomic<int> resets{0};

ServiceHarness& Harness() {
  static ServiceHarness* harness = [] {
    auto started = ServiceHarness::Start(fuzztest::BuggyFuzzer(&resets));
    EXPECT_TRUE(started.ok()) << started.status();
    return started->release();
  }();
  return *harness;
}

TEST(ServiceInput, EncodeRoundTrips) {
  ServiceCall first = Call(3, {"", std::string("a\\b\0c", 5), std::string(300, '\\')});
  first.default_metadata = false;
  first.metadata = {{1, "x"}, {0, ""}, {1, "\\"}};
  ServiceInput input = Input({first, Call(0, {}), Call(299, {std::string(4096, 'z')})});
  std::string bytes = input.Encode(300, 2);
  ServiceInput back =
      ServiceInput::Decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 300, 2);
  ASSERT_EQ(back.calls.size(), 3u);
  EXPECT_EQ(back.calls[0], first);
  EXPECT_EQ(back.calls[1], input.calls[1]);
  EXPECT_EQ(back.calls[2], input.calls[2]);
}

TEST(ServiceInput, AnyBytesDecodeWithinTheLimits) {
  std::minstd_rand rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? '\\' : rng());
    auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    ServiceInput input = ServiceInput::Decode(data, bytes.size(), 5, 3);
    ASSERT_GE(input.calls.size(), 1u);
    ASSERT_LE(input.calls.size(), static_cast<size_t>(kMaxServiceCalls));
    for (const auto& call : input.calls) {
      ASSERT_LT(call.method, 5);
      for (const auto& [key, value] : call.metadata) ASSERT_LT(key, 3);
    }
    std::string again = input.Encode(5, 3);
    ServiceInput twice = ServiceInput::Decode(reinterpret_cast<const uint8_t*>(again.data()),
                                              again.size(), 5, 3);
    ASSERT_EQ(twice.calls, input.calls);
  }
}

TEST(ServiceHarness, MethodsComeFromTheGeneratedDescriptors) {
  ASSERT_EQ(Harness().methods().size(), 4u);
  EXPECT_EQ(Harness().methods()[kCollect]->full_name(), "understudy.fuzztest.BuggyService.Collect");
  EXPECT_THAT(Harness().metadata_keys(), ::testing::ElementsAre("authorization", "x-trace-bin"));
}

TEST(ServiceHarness, RefusesAServiceThatIsNotLinked) {
  ServiceFuzzer f = fuzztest::BuggyFuzzer();
  f.services = {"no.Such"};
  EXPECT_TRUE(absl::IsNotFound(ServiceHarness::Start(f).status()));
}

TEST(ServiceHarness, CleanCallsOfEveryKindAreNoFinding) {
  Request watch;
  watch.add_items()->set_tag("one");
  watch.add_items()->set_tag("two");
  RunResult result = Harness().Run(Input({Call(kCheck, {Bytes("ada", "fine")}),
                                          Call(kCollect, {Bytes("a", ""), Bytes("b", "")}),
                                          Call(kWatch, {watch.SerializeAsString()}),
                                          Call(kChat, {Bytes("x", ""), Bytes("y", "", 7)})}));
  EXPECT_FALSE(result.finding.has_value()) << result.finding->report;
  ASSERT_EQ(result.calls.size(), 4u);
  for (const auto& call : result.calls) EXPECT_EQ(call.code, grpc::StatusCode::OK) << call.method;
  EXPECT_EQ(result.calls[kWatch].responses, 2);
  EXPECT_EQ(result.calls[kChat].responses, 2);
}

TEST(ServiceHarness, InternalForANestedFieldIsAFinding) {
  RunResult result = Harness().Run(Input({Call(kCheck, {Bytes("ada", "boom")})}));
  ASSERT_TRUE(result.finding.has_value());
  EXPECT_EQ(result.finding->method, "understudy.fuzztest.BuggyService/Check");
  EXPECT_EQ(result.finding->what, "INTERNAL");
  EXPECT_THAT(result.finding->report,
              HasSubstr("FINDING understudy.fuzztest.BuggyService/Check INTERNAL\n"));
  EXPECT_THAT(result.finding->report, HasSubstr("\"boom\""));
  EXPECT_THAT(result.finding->report, HasSubstr(R"(request: {"name":"ada","inner":{"tag":"boom"}})"));
}

TEST(ServiceHarness, StatusesNotListedAreNoFinding) {
  RunResult result = Harness().Run(Input({Call(kCheck, {Bytes("invalid", "")})}));
  EXPECT_FALSE(result.finding.has_value());
  EXPECT_EQ(result.calls.at(0).code, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ServiceHarness, DefaultMetadataIsSentUnlessLeftOut) {
  ServiceCall call = Call(kCheck, {Bytes("ada", "boom")});
  call.default_metadata = false;
  RunResult result = Harness().Run(Input({call}));
  EXPECT_FALSE(result.finding.has_value());
  EXPECT_EQ(result.calls.at(0).code, grpc::StatusCode::UNAUTHENTICATED);
  call.metadata = {{0, "Bearer t"}};  // the key sent by hand
  EXPECT_TRUE(Harness().Run(Input({call})).finding.has_value());
}

TEST(ServiceHarness, ClientStreamingBugIsAFinding) {
  EXPECT_FALSE(Harness().Run(Input({Call(kCollect, {Bytes("", "", 7)})})).finding.has_value());
  RunResult result =
      Harness().Run(Input({Call(kCollect, {Bytes("", "", 1), Bytes("", "", 7), Bytes("", "")})}));
  ASSERT_TRUE(result.finding.has_value());
  EXPECT_EQ(result.finding->what, "UNKNOWN");
  EXPECT_THAT(result.finding->report, HasSubstr(R"(request: {"inner":{"value":7}})"));
}

TEST(ServiceHarness, BidiStreamingBugIsAFindingAfterTheAnswersBeforeIt) {
  RunResult result = Harness().Run(
      Input({Call(kChat, {Bytes("a", ""), Bytes("b", ""), Bytes("c", "", -1), Bytes("d", "")})}));
  ASSERT_TRUE(result.finding.has_value());
  EXPECT_EQ(result.finding->what, "INTERNAL");
  EXPECT_EQ(result.calls.at(0).responses, 2);
}

TEST(ServiceHarness, AStreamStillRunningAtItsDeadlineIsAFinding) {
  RunResult result = Harness().Run(Input({Call(kWatch, {Bytes("", "", 0, true)})}));
  ASSERT_TRUE(result.finding.has_value());
  EXPECT_EQ(result.finding->what, "deadline overrun");
  EXPECT_THAT(result.finding->report,
              HasSubstr("FINDING understudy.fuzztest.BuggyService/Watch deadline overrun\n"));
  EXPECT_GE(result.calls.at(0).elapsed.count(), 300);
}

TEST(ServiceHarness, UnaryMethodsGetOneRequestAndUndecodableBytesAreSentEmpty) {
  // Extra messages of a unary call are not sent (the server would refuse the call), and bytes
  // that are no Request arrive as an empty one.
  RunResult result =
      Harness().Run(Input({Call(kCheck, {Bytes("ada", ""), Bytes("x", "boom")}),
                           Call(kCheck, {std::string("\xff\xff\xff", 3)}), Call(kCheck, {})}));
  EXPECT_FALSE(result.finding.has_value()) << result.finding->report;
  for (const auto& call : result.calls) EXPECT_EQ(call.code, grpc::StatusCode::OK);
}

TEST(ServiceHarness, StopsAtTheFirstFindingAndResetsBeforeEveryInput) {
  int before = resets.load();
  RunResult result = Harness().Run(Input({Call(kCheck, {Bytes("a", "")}),
                                          Call(kCheck, {Bytes("b", "boom")}),
                                          Call(kCheck, {Bytes("c", "")})}));
  EXPECT_EQ(result.calls.size(), 2u);
  EXPECT_THAT(result.finding->report, HasSubstr("call 2 of 3"));
  Harness().Run(Input({Call(kCheck, {})}));
  EXPECT_EQ(resets.load(), before + 2);
}

TEST(ServiceHarness, MutationsStayDecodableAndChangeTheRequest) {
  // From a clean Check, most mutations change its request (a field of it or of its sub-message);
  // every input stays within max_size and decodes to methods that exist.
  std::string seed = Harness().Encode(Input({Call(kCheck, {Bytes("ada", "boo")})}));
  std::vector<uint8_t> data(seed.begin(), seed.end());
  data.resize(4096);
  size_t size = seed.size();
  int changed_requests = 0;
  for (unsigned i = 0; i < 3000; ++i) {
    std::vector<uint8_t> copy(data.begin(), data.begin() + size);
    copy.resize(4096);
    size_t n = Harness().Mutate(copy.data(), size, copy.size(), i);
    ASSERT_LE(n, copy.size());
    ServiceInput input = Harness().Decode(copy.data(), n);
    for (const auto& call : input.calls) ASSERT_LT(call.method, 4);
    if (input.calls[0].method == kCheck && !input.calls[0].messages.empty()) {
      Request request;
      if (request.ParseFromString(input.calls[0].messages[0]) &&
          request.SerializeAsString() != Bytes("ada", "boo")) {
        ++changed_requests;
      }
    }
  }
  EXPECT_GT(changed_requests, 1000);
}

// The fuzz target as a process on one input file: its exit status and what it printed.
struct Replay {
  int status;
  std::string output;
};

Replay RunTarget(const ServiceInput& input) {
  std::string path = ::testing::TempDir() + "service_fuzzer_input_" + std::to_string(getpid());
  std::ofstream(path, std::ios::binary) << Harness().Encode(input);
  std::string command = std::string(BUGGY_SERVICE_FUZZER) + " " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  Replay out{-1, ""};
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.output.append(buffer, n);
  out.status = pclose(pipe);
  std::remove(path.c_str());
  return out;
}

TEST(ServiceFuzzerTarget, ACleanInputPasses) {
  Replay replay = RunTarget(Input({Call(kCheck, {Bytes("ada", "fine")})}));
  EXPECT_EQ(replay.status, 0) << replay.output;
  EXPECT_THAT(replay.output, ::testing::Not(HasSubstr("FINDING")));
}

TEST(ServiceFuzzerTarget, AReproducerPrintsTheFindingAndFails) {
  Replay replay = RunTarget(Input({Call(kCheck, {Bytes("ada", "boom")})}));
  EXPECT_NE(replay.status, 0);
  EXPECT_THAT(replay.output,
              HasSubstr("FINDING understudy.fuzztest.BuggyService/Check INTERNAL\n"
                        "  status: INTERNAL \"boom\""));
}

TEST(ServiceFuzzerTarget, AStreamingReproducerFails) {
  Replay replay = RunTarget(Input({Call(kChat, {Bytes("a", ""), Bytes("b", "", -1)})}));
  EXPECT_NE(replay.status, 0);
  EXPECT_THAT(replay.output, HasSubstr("FINDING understudy.fuzztest.BuggyService/Chat INTERNAL"));
  replay = RunTarget(Input({Call(kWatch, {Bytes("", "", 0, true)})}));
  EXPECT_NE(replay.status, 0);
  EXPECT_THAT(replay.output, HasSubstr("FINDING understudy.fuzztest.BuggyService/Watch deadline overrun"));
}

}  // namespace
}  // namespace understudy::fuzz
