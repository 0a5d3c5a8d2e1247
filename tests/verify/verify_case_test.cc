// VerifyCase against an embedded, in-process mock as the provider: how requests are built from
// interaction files, and how every difference of an answer is reported.
#include "verify/verify_case.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mockserver/mock_server.h"
#include "src/interaction_loader.h"
#include "src/value.h"
#include "verify/verifier.h"

namespace understudy {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using json = nlohmann::json;

std::string Source(const std::string& relative) {
  return std::string(UNDERSTUDY_SOURCE_DIR) + "/" + relative;
}

class VerifyCaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SchemaOptions options;
    options.proto_files = {Source("proto/user.proto")};
    auto schema = Schema::Load(options);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = std::shared_ptr<const Schema>(std::move(*schema));
  }

  // Serves `provider` (interactions) in process.
  void Serve(const json& provider) {
    MockServerOptions options;
    options.prebuilt_schema = schema_;
    options.listen = "";
    options.interaction_json = {json{{"interactions", provider}}.dump()};
    auto server = MockServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    mock_ = std::move(*server);
    stub_ = std::make_unique<grpc::GenericStub>(mock_->Channel());
  }

  // Plans `spec` (one interaction); problems go to `problems_`.
  std::unique_ptr<VerifyCase> Plan(const json& spec, const MetadataPairs& headers = {}) {
    interaction_ = CompileInteraction(spec, "contract.json", "/interactions/0", *schema_, &problems_);
    if (interaction_ == nullptr) return nullptr;
    return VerifyCase::Plan(*interaction_, *schema_, headers, &problems_);
  }

  std::vector<Difference> Verify(const json& contract, const json& provider,
                                 const MetadataPairs& headers = {}) {
    Serve(provider);
    auto c = Plan(contract, headers);
    EXPECT_NE(c, nullptr) << problems_.ToStatus();
    if (c == nullptr) return {{"", "not planned"}};
    return c->Run(stub_.get(), std::chrono::seconds(5));
  }

  std::shared_ptr<const Schema> schema_;
  std::unique_ptr<MockServer> mock_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::unique_ptr<Interaction> interaction_;
  Diagnostics problems_;
};

json GetUser(const json& request, const json& response, const std::string& name = "get") {
  return {{"name", name}, {"method", "user.UserService/GetUser"}, {"request", request},
          {"response", response}};
}

TEST_F(VerifyCaseTest, SendsExamplesOfRequestMatchersAndExpectsRenderedTemplates) {
  json contract = GetUser({{"body", {{"userId", {{"$regex", "[0-9]+"}, {"$example", "77"}}}}}},
                          {{"body", {{"user", {{"id", "{{request.body.userId}}"}}}}}});
  // The provider answers only the example id, and echoes it.
  json provider = json::array({GetUser({{"body", {{"userId", "77"}}}},
                                       {{"body", {{"user", {{"id", "77"}, {"name", "x"}}}}}})});
  EXPECT_THAT(Verify(contract, provider), IsEmpty());
}

TEST_F(VerifyCaseTest, ReportsEveryDifferentFieldNotJustTheFirst) {
  json contract = GetUser({{"body", {{"userId", "1"}}}},
                          {{"body", {{"user", {{"id", "1"}, {"name", "Ada"}, {"email", "a@x"}}}}}});
  json provider = json::array({GetUser({{"body", {{"userId", "1"}}}},
                                       {{"body", {{"user", {{"id", "1"}, {"name", "Bob"}}}}}})});
  // Fields in the order of the spec (JSON objects here list keys alphabetically).
  auto differences = Verify(contract, provider);
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(differences[0].pointer, "/response/body/user/email");
  EXPECT_EQ(differences[0].message, R"(expected "a@x", got unset)");
  EXPECT_EQ(differences[1].pointer, "/response/body/user/name");
  EXPECT_EQ(differences[1].message, R"(expected "Ada", got "Bob")");
}

TEST_F(VerifyCaseTest, ExactObjectsReportEachUnlistedField) {
  json contract = GetUser({{"body", {{"userId", "1"}}}},
                          {{"body", {{"user", {{"$exact", {{"id", "1"}}}}}}}});
  json provider = json::array({GetUser({{"body", {{"userId", "1"}}}},
                                       {{"body", {{"user", {{"id", "1"}, {"name", "Bob"}}}}}})});
  auto differences = Verify(contract, provider);
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].pointer, "/response/body/user/name");
  EXPECT_THAT(differences[0].message, HasSubstr("$exact does not list it"));
}

TEST_F(VerifyCaseTest, HeaderFlagIsSentUnlessTheInteractionWantsTheKeyAbsent) {
  json with_token = GetUser({{"metadata", {{"authorization", {{"$regex", "^Bearer .+"}}}}},
                             {"body", {{"userId", "1"}}}},
                            {{"body", {{"user", {{"id", "1"}}}}}}, "with");
  json without = GetUser({{"metadata", {{"authorization", {{"$absent", true}}}}},
                          {"body", {{"userId", "1"}}}},
                         {{"status", {{"code", "UNAUTHENTICATED"}}}}, "without");
  json provider = json::array({with_token, without});
  MetadataPairs headers = {{"authorization", "Bearer t"}};
  EXPECT_THAT(Verify(with_token, provider, headers), IsEmpty());
  EXPECT_THAT(Verify(without, provider, headers), IsEmpty());
}

TEST_F(VerifyCaseTest, AMatcherWithoutExampleCannotBePlayed) {
  auto c = Plan(GetUser({{"body", {{"userId", {{"$regex", "[0-9]+"}}}}}}, json::object()));
  EXPECT_EQ(c, nullptr);
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_EQ(problems_.items()[0].pointer, "/interactions/0/request/body/userId");
  EXPECT_THAT(problems_.items()[0].message, HasSubstr("$example"));
}

TEST_F(VerifyCaseTest, AnExampleThatItsOwnMatcherRejectsCannotBePlayed) {
  auto c = Plan(GetUser({{"body", {{"userId", {{"$regex", "[0-9]+"}, {"$example", "abc"}}}}}},
                        json::object()));
  EXPECT_EQ(c, nullptr);
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_THAT(problems_.items()[0].message, HasSubstr("does not match this interaction's own"));
}

TEST_F(VerifyCaseTest, StatusMessageAndDetailsAreCompared) {
  json error = {{"status",
                 {{"code", "NOT_FOUND"},
                  {"message", "User 9 not found"},
                  {"details", json::array({{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                            {"reason", "USER_NOT_FOUND"}}})}}}};
  json contract = GetUser({{"body", {{"userId", "9"}}}}, error);
  json served = error;
  served["status"]["message"] = "no such user";
  served["status"]["details"][0]["reason"] = "GONE";
  auto differences = Verify(contract, json::array({GetUser({{"body", {{"userId", "9"}}}}, served)}));
  ASSERT_EQ(differences.size(), 2u);
  EXPECT_EQ(differences[0].pointer, "/response/status/message");
  EXPECT_EQ(differences[1].pointer, "/response/status/details/0/reason");
}

TEST_F(VerifyCaseTest, ServerStreamReportsMissingExtraAndReorderedMessages) {
  auto stream = [](std::vector<std::string> ids) {
    json out = json::array();
    for (const auto& id : ids) out.push_back({{"body", {{"user", {{"id", id}}}}}});
    return json{{"name", "s"}, {"method", "user.UserService/StreamUsers"},
                {"request", {{"body", json::object()}}}, {"response", {{"stream", out}}}};
  };
  json contract = stream({"1", "2", "3"});
  EXPECT_THAT(Verify(contract, json::array({stream({"1", "2", "3"})})), IsEmpty());
  EXPECT_THAT(Verify(contract, json::array({stream({"1", "2"})})),
              ElementsAre(Field(&Difference::pointer, "/response/stream/2/body")));
  EXPECT_THAT(Verify(contract, json::array({stream({"1", "2", "3", "4"})})),
              ElementsAre(Field(&Difference::pointer, "/response/stream")));
  auto swapped = Verify(contract, json::array({stream({"1", "3", "2"})}));
  ASSERT_EQ(swapped.size(), 2u);
  EXPECT_EQ(swapped[0].pointer, "/response/stream/1/body");
  EXPECT_THAT(swapped[0].message, HasSubstr("out of order"));
}

TEST_F(VerifyCaseTest, BidiConversationComparesEachServerStep) {
  auto bidi = [](const std::string& reply) {
    return json{{"name", "b"},
                {"method", "user.UserService/BidirectionalStream"},
                {"conversation", json::array({{{"client", {{"action", "ping"}}}},
                                              {{"server", {{"message", reply}}}}})}};
  };
  EXPECT_THAT(Verify(bidi("pong"), json::array({bidi("pong")})), IsEmpty());
  EXPECT_THAT(Verify(bidi("pong"), json::array({bidi("pang")})),
              ElementsAre(Field(&Difference::pointer, "/conversation/1/server/message")));
}

TEST_F(VerifyCaseTest, MetadataGrpcWouldRefuseIsAProblemNotACrash) {
  EXPECT_EQ(Plan(GetUser({{"metadata", {{"x-note", "a\nb"}}}, {"body", {{"userId", "1"}}}},
                         json::object())),
            nullptr);
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_EQ(problems_.items()[0].pointer, "/interactions/0/request/metadata/x-note");
  EXPECT_THAT(MetadataProblem("x note", "v"), HasSubstr("may only hold"));
  EXPECT_THAT(MetadataProblem("grpc-timeout", "1S"), HasSubstr("reserved"));
  EXPECT_EQ(MetadataProblem("x-trace-bin", std::string("\0\1", 2)), "");
}

TEST_F(VerifyCaseTest, BinHeadersCompareAsBytesWhateverTheirBase64Padding) {
  json contract = GetUser({{"body", {{"userId", "1"}}}}, {{"headers", {{"x-trace-bin", "AQ"}}}});
  EXPECT_THAT(Verify(contract, json::array({contract})), IsEmpty());
}

TEST_F(VerifyCaseTest, BidiHeadersAreRenderedFromTheFirstClientMessage) {
  json bidi = {{"name", "b"},
               {"method", "user.UserService/BidirectionalStream"},
               {"response", {{"headers", {{"x-first", "{{request.body.requestId}}"}}}}},
               {"conversation", json::array({{{"client", {{"requestId", "a"}}}},
                                             {{"server", {{"message", "1"}}}},
                                             {{"client", {{"requestId", "b"}}}},
                                             {{"server", {{"message", "2"}}}}})}};
  EXPECT_THAT(Verify(bidi, json::array({bidi})), IsEmpty());
}

TEST_F(VerifyCaseTest, AStatusMessageThatIsNotUtf8IsShownNotFatal) {
  json contract = GetUser({{"body", {{"userId", "1"}}}},
                          {{"status", {{"code", "NOT_FOUND"}, {"message", "caf\xc3\xa9"}}}});
  json served = GetUser({{"body", {{"userId", "1"}}}},
                        {{"status", {{"code", "NOT_FOUND"}, {"message", "caf\xc3\xa8"}}}});
  auto differences = Verify(contract, json::array({served}));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].pointer, "/response/status/message");
  EXPECT_EQ(Quote(std::string("a\xff")), "\"a\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace understudy
