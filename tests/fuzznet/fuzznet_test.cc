// The pieces of `understudy fuzz` that decide what a finding is and how its file reads: message
// shapes, outcome keys, the per-method cap on findings and the interaction files of each RPC kind.
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzznet/call_player.h"
#include "fuzznet/finding.h"
#include "fuzznet/fuzzer.h"
#include "fuzznet/request_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/schema.h"

namespace understudy::fuzznet {
namespace {

using json = nlohmann::json;

TEST(MessageShape, BlursWhatVariesFromCallToCall) {
  EXPECT_EQ(MessageShape("user 42 not found"), "user # not found");
  EXPECT_EQ(MessageShape("no user \"ada\" in 'main'"), "no user \"*\" in \"*\"");
  EXPECT_EQ(MessageShape("request 123e4567-e89b-12d3-a456-426614174000 failed"),
            "request <uuid> failed");
  EXPECT_EQ(MessageShape("bad pointer 0x7ffde4a0 and token deadbeefcafe"),
            "bad pointer <hex> and token <hex>");
}

TEST(MessageShape, MessagesThatEchoQuotedRequestDataHaveOneShape) {
  EXPECT_EQ(MessageShape("cannot parse \"a{b\": bad"), MessageShape("cannot parse \"\": bad"));
}

TEST(MessageShape, CutsLongMessages) {
  EXPECT_LE(MessageShape(std::string(10000, 'x')).size(), 120u);
}

TEST(MessageShape, KeepsShortWordsAndHexLikeWords) {
  EXPECT_EQ(MessageShape("bad face"), "bad face");  // hex letters, but short words
}

TEST(FindingLimiter, OneShapeIsOneFinding) {
  FindingLimiter limiter;
  EXPECT_TRUE(limiter.Admit("s/M", "INTERNAL", "boom #"));
  EXPECT_FALSE(limiter.Admit("s/M", "INTERNAL", "boom #"));
  EXPECT_EQ(limiter.size(), 1u);
}

TEST(FindingLimiter, CapsShapesPerMethodAndStatus) {
  FindingLimiter limiter(3);
  int admitted = 0;
  for (int i = 0; i < 100; ++i) {
    admitted += limiter.Admit("s/M", "INTERNAL", "cannot index user n" + std::string(i, 'a'));
  }
  EXPECT_EQ(admitted, 3);
  EXPECT_FALSE(limiter.WouldAdmit("s/M", "INTERNAL", "something else"));
  EXPECT_TRUE(limiter.WouldAdmit("s/M", "UNKNOWN", "something else")) << "another code";
  EXPECT_TRUE(limiter.Admit("s/Other", "INTERNAL", "cannot index user n")) << "another method";
}

TEST(ExpectedStatus, DigitsMatchAnyDigits) {
  json status = ExpectedStatus(13, "user 42 failed after 3.5 s (x+y)");
  EXPECT_EQ(status.at("code"), "INTERNAL");
  EXPECT_EQ(status.at("message").at("$example"), "user 42 failed after 3.5 s (x+y)");
  EXPECT_EQ(status.at("message").at("$regex"),
            "user\\ \\d+\\ failed\\ after\\ \\d+\\.\\d+\\ s\\ \\(x\\+y\\)");
}

TEST(ExpectedStatus, LiteralWithoutDigitsAndNothingForNonUtf8OrTemplates) {
  EXPECT_EQ(ExpectedStatus(13, "division by zero"),
            json({{"code", "INTERNAL"}, {"message", "division by zero"}}));
  EXPECT_EQ(ExpectedStatus(2, "bad \xff byte"), json({{"code", "UNKNOWN"}}));
  EXPECT_EQ(ExpectedStatus(2, "{{request.body.id}}"), json({{"code", "UNKNOWN"}}));
}

TEST(LongDeadline, AtLeastTenSecondsAndTenTimesTheDeadline) {
  EXPECT_EQ(LongDeadline(std::chrono::milliseconds(100)), std::chrono::seconds(10));
  EXPECT_EQ(LongDeadline(std::chrono::milliseconds(3000)), std::chrono::seconds(30));
}

class FindingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SchemaOptions options;
    options.proto_files = {std::string(UNDERSTUDY_SOURCE_DIR) + "/proto/user.proto"};
    auto schema = Schema::Load(options);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = std::shared_ptr<const Schema>(std::move(*schema));
  }

  FuzzRequest Request(const std::string& method, const std::vector<std::string>& messages) {
    FuzzRequest request;
    request.method = schema_->FindMethod(method);
    EXPECT_NE(request.method, nullptr) << method;
    for (const auto& text : messages) {
      auto message = schema_->NewMessage(request.method->input_type());
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, message.get()).ok()) << text;
      request.messages.push_back(std::move(message));
      request.json.push_back(text);
    }
    return request;
  }

  std::shared_ptr<const Schema> schema_;
};

TEST_F(FindingFileTest, BidiCallListsClientStepsThenOneStepPerServerMessage) {
  FuzzRequest request = Request("user.UserService/BidirectionalStream",
                                {R"({"requestId":"1","action":"ping"})", R"({"action":"get"})"});
  CallOutcome outcome;
  outcome.code = grpc::StatusCode::INTERNAL;
  outcome.message = "lost request 7";
  outcome.responses = 1;
  std::string note;
  json file = FindingFile(*schema_, request, outcome, false, "d", "0123abcd", &note);

  EXPECT_TRUE(note.empty()) << note;
  const json& interaction = file.at("interactions").at(0);
  EXPECT_EQ(interaction.at("name"), "fuzz: UserService/BidirectionalStream INTERNAL 0123abcd");
  EXPECT_EQ(interaction.at("conversation"),
            json::parse(R"([{"client": {"requestId": "1", "action": "ping"}},
                            {"client": {"action": "get"}}, {"server": {}}])"));
  EXPECT_EQ(interaction.at("response").at("status").at("message").at("$regex"),
            "lost\\ request\\ \\d+");
  EXPECT_TRUE(CheckReplayable(*schema_, file, "finding").ok());
}

TEST_F(FindingFileTest, ServerStreamingCallWritesTheBodyAndTheStatus) {
  FuzzRequest request = Request("user.UserService/StreamUsers", {R"({"limit":-1})"});
  CallOutcome outcome;
  outcome.code = grpc::StatusCode::UNKNOWN;
  outcome.responses = 2;
  std::string note;
  json file = FindingFile(*schema_, request, outcome, false, "d", "00000001", &note);

  EXPECT_TRUE(note.empty()) << note;
  const json& interaction = file.at("interactions").at(0);
  EXPECT_EQ(interaction.at("request"), json::parse(R"({"body": {"limit": -1}})"));
  EXPECT_EQ(interaction.at("response"), json::parse(R"({"status": {"code": "UNKNOWN"}})"));
  EXPECT_TRUE(CheckReplayable(*schema_, file, "finding").ok());
}

TEST_F(FindingFileTest, CrashExpectsUnavailableWithoutMessage) {
  FuzzRequest request = Request("user.UserService/GetUser", {R"({"userId":"1"})"});
  CallOutcome outcome;
  outcome.code = grpc::StatusCode::UNAVAILABLE;
  outcome.message = "Socket closed";
  std::string note;
  json file = FindingFile(*schema_, request, outcome, true, "d", "00000002", &note);
  EXPECT_EQ(file.at("interactions").at(0).at("response"),
            json::parse(R"({"status": {"code": "UNAVAILABLE"}})"));
}

TEST_F(FindingFileTest, OutcomeHashTellsAnswersApart) {
  const auto* method = schema_->FindMethod("user.UserService/GetUser");
  CallOutcome a, b, c;
  a.code = b.code = grpc::StatusCode::NOT_FOUND;
  a.message = "user 1 not found";
  b.message = "user 2 not found";
  c.code = grpc::StatusCode::OK;
  c.responses = 1;
  EXPECT_EQ(OutcomeHash(method, a, *schema_), OutcomeHash(method, b, *schema_));
  EXPECT_NE(OutcomeHash(method, a, *schema_), OutcomeHash(method, c, *schema_));
  EXPECT_EQ(OutcomeKey(method, a, *schema_), "user.UserService.GetUser 5 user # not found");
}

TEST_F(FindingFileTest, GeneratorKeepsRequestsSmallAndPrintable) {
  const auto* method = schema_->FindMethod("user.UserService/UpdateUser");
  RequestCorpus corpus(schema_.get(), {method});
  RequestGenerator generator(schema_.get(), &corpus, 5);
  int made = 0;
  for (int i = 0; i < 2000; ++i) {
    FuzzRequest request;
    if (!generator.Next(method, &request)) continue;
    ++made;
    size_t bytes = 0;
    for (const auto& m : request.messages) bytes += m->ByteSizeLong();
    ASSERT_LE(bytes, kMaxRequestBytes);
    ASSERT_TRUE(json::accept(request.json.at(0))) << request.json.at(0);
    corpus.Add(request, generator.rng());
  }
  EXPECT_GT(made, 1900) << "mutants of well-known types are brought into range, not dropped";
}

}  // namespace
}  // namespace understudy::fuzznet
