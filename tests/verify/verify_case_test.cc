// VerifyCase against an embedded, in-process mock as the provider: how requests are built from
// interaction files, and how every difference of an answer is reported.
#include "verify/verify_case.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "mockserver/mock_server.h"
#include "src/interaction_loader.h"
#include "src/value.h"
#include "verify/report.h"
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

// A -bin header template sends the rendered bytes; the verifier expects those bytes too.
TEST_F(VerifyCaseTest, BinHeaderTemplatesExpectTheRenderedBytes) {
  json contract = GetUser({{"metadata", {{"x-in-bin", "AP8K"}}}, {"body", {{"userId", "1"}}}},
                          {{"headers", {{"x-echo-bin", "{{request.metadata.x-in-bin}}"}}},
                           {"trailers", {{"x-last-bin", "{{request.metadata.x-in-bin}}"}}}});
  EXPECT_THAT(Verify(contract, json::array({contract})), IsEmpty());
  json other = GetUser({{"body", {{"userId", "1"}}}},
                       {{"headers", {{"x-echo-bin", "AAAA"}}}, {"trailers", {{"x-last-bin", "AP8K"}}}});
  EXPECT_THAT(Verify(contract, json::array({other})),
              ElementsAre(Field(&Difference::pointer, "/response/headers/x-echo-bin")));
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
  EXPECT_EQ(Quote(std::string("a\xff\xc3\xa9\n")), "\"a\\xFF\xc3\xa9\\n\"");
}

// A server stream without `stream` is the empty stream (what the mock sends): a server that
// sends messages there does not keep the contract.
TEST_F(VerifyCaseTest, ServerStreamWithoutStreamExpectsNoMessages) {
  json contract = {{"name", "s"}, {"method", "user.UserService/StreamUsers"},
                   {"request", {{"body", json::object()}}}, {"response", json::object()}};
  EXPECT_THAT(Verify(contract, json::array({contract})), IsEmpty());
  json sends = contract;
  sends["response"]["stream"] = json::array();
  for (const char* id : {"1", "2", "3"}) {
    sends["response"]["stream"].push_back({{"body", {{"user", {{"id", id}}}}}});
  }
  auto differences = Verify(contract, json::array({sends}));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].pointer, "/response/stream");
  EXPECT_THAT(differences[0].message, HasSubstr("unexpected message 0 (expected 0)"));
}

// An endless stream (here: one whose next message comes after a minute) is read one message past
// what is expected, then cancelled; the extra message is the difference, not a deadline.
TEST_F(VerifyCaseTest, StreamsAreReadOneMessagePastTheExpectedThenCancelled) {
  auto users = [](int n, int last_delay_ms) {
    json out = json::array();
    for (int i = 0; i < n; ++i) out.push_back({{"body", {{"user", {{"id", std::to_string(i)}}}}}});
    out.back()["delayMs"] = last_delay_ms;
    return json{{"name", "s"}, {"method", "user.UserService/StreamUsers"},
                {"request", {{"body", json::object()}}}, {"response", {{"stream", out}}}};
  };
  auto differences = Verify(users(1, 0), json::array({users(3, 60000)}));
  ASSERT_EQ(differences.size(), 1u) << differences[0].message;
  EXPECT_EQ(differences[0].pointer, "/response/stream");
  EXPECT_THAT(differences[0].message, HasSubstr("unexpected message 1 (expected 1)"));
  EXPECT_THAT(differences[0].message, HasSubstr("cancelled the call"));

  auto bidi = [](std::vector<std::pair<std::string, int>> replies) {
    json steps = json::array({{{"client", {{"action", "ping"}}}}});
    for (const auto& [reply, delay] : replies) {
      steps.push_back({{"server", {{"message", reply}}}, {"delayMs", delay}});
    }
    return json{{"name", "b"}, {"method", "user.UserService/BidirectionalStream"},
                {"conversation", steps}};
  };
  differences = Verify(bidi({{"pong", 0}}),
                       json::array({bidi({{"pong", 0}, {"more", 0}, {"late", 60000}})}));
  ASSERT_EQ(differences.size(), 1u) << differences[0].message;
  EXPECT_EQ(differences[0].pointer, "/conversation");
  EXPECT_THAT(differences[0].message, HasSubstr("unexpected message 1 (expected 1)"));
}

// The JSON report takes expected and actual from here, never by splitting the message text.
TEST_F(VerifyCaseTest, ValueDifferencesCarryExpectedAndActualApart) {
  json contract = GetUser({{"body", {{"userId", "1"}}}},
                          {{"body", {{"user", {{"name", "a, got b"}, {"id", "1"}}}}}});
  json served = GetUser({{"body", {{"userId", "1"}}}},
                        {{"body", {{"user", {{"name", "c, got d"}, {"id", "1"}}}}}});
  auto differences = Verify(contract, json::array({served}));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].pointer, "/response/body/user/name");
  EXPECT_EQ(differences[0].expected, "\"a, got b\"");
  EXPECT_EQ(differences[0].actual, "\"c, got d\"");
  json wrong_code = GetUser({{"body", {{"userId", "1"}}}}, {{"status", {{"code", "NOT_FOUND"}}}});
  differences = Verify(contract, json::array({wrong_code}));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].expected, "OK");
  EXPECT_EQ(differences[0].actual, "NOT_FOUND");
}

// One differing byte in a long value: its lengths, the offset and a short window, not the value.
TEST_F(VerifyCaseTest, ALongValueDifferenceIsSummarisedAroundItsFirstDifference) {
  std::string name(500000, 'a'), other = name;
  other[300000] = 'b';
  json contract = GetUser({{"body", {{"userId", "1"}}}}, {{"body", {{"user", {{"name", name}}}}}});
  json served = GetUser({{"body", {{"userId", "1"}}}}, {{"body", {{"user", {{"name", other}}}}}});
  auto differences = Verify(contract, json::array({served}));
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_LT(differences[0].message.size(), 600u) << differences[0].message.substr(0, 2000);
  EXPECT_THAT(differences[0].expected,
              HasSubstr("500000 bytes of text, first difference at byte 300000"));
  EXPECT_THAT(differences[0].actual, HasSubstr("ab"));
  EXPECT_LE(differences[0].expected.size(), 2 * kShownValueBytes);
  EXPECT_LE(differences[0].actual.size(), 2 * kShownValueBytes);

  std::string bytes(100000, '\0'), changed = bytes;
  changed[70001] = '\x01';
  std::string expected, actual;
  SummarizeDifference(bytes, changed, true, &expected, &actual);
  EXPECT_THAT(expected, HasSubstr("100000 bytes, first difference at byte 70001"));
  EXPECT_THAT(actual, HasSubstr("AAAB"));  // base64 of 00 00 01 ... in whole groups
  EXPECT_LE(actual.size(), 2 * kShownValueBytes);
}

// Reports hold any bytes a name, a path or a server put in them, escaped and never dropped.
TEST_F(VerifyCaseTest, ReportsAreValidXmlAndJsonForAnyBytes) {
  json contract = GetUser({{"body", {{"userId", "1"}}}}, json::object());
  ASSERT_NE(Plan(contract), nullptr) << problems_.ToStatus();
  interaction_->name = "name \xef\xbf\xbe\xef\xbf\xbf \x01 \xff <&>";
  interaction_->file = "contracts/caf\xff.json";
  CaseResult result;
  result.interaction = interaction_.get();
  result.differences.push_back({"/response/status/message",
                                std::string("expected \"x\", got \"\xef\xbf\xbf\x1b\0\xc3\"", 25),
                                "\"x\"", std::string("\"\xef\xbf\xbf\x1b\0\xc3\"", 9)});
  const std::string dir = ::testing::TempDir();
  const std::string xml = dir + "/any_bytes_report.xml", report = dir + "/any_bytes_report.json";
  ASSERT_TRUE(WriteJUnit({result}, "127.0.0.1:1 \xfe", 0.5, xml).ok());
  ASSERT_TRUE(WriteJsonReport({result}, "127.0.0.1:1 \xfe", 0.5, report).ok());
  const std::string parse = "/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; "
                            "d = m.parse(sys.argv[1]); "
                            "print(d.getElementsByTagName(\"testcase\")[0].getAttribute(\"name\"))' ";
  EXPECT_EQ(std::system((parse + xml + " > " + xml + ".name").c_str()), 0) << "not valid XML";
  std::ifstream name_in(xml + ".name");
  std::string shown((std::istreambuf_iterator<char>(name_in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(shown, "name \\uFFFE\\uFFFF \\u0001 \\xFF <&>\n");

  std::ifstream in(report);
  json parsed = json::parse(in, nullptr, /*allow_exceptions=*/false);  // strict about UTF-8
  ASSERT_FALSE(parsed.is_discarded()) << "not valid JSON";
  const json& entry = parsed["interactions"][0];
  EXPECT_EQ(entry["file"], "contracts/caf\\xFF.json");
  EXPECT_EQ(entry["name"], "name \xef\xbf\xbe\xef\xbf\xbf \x01 \\xFF <&>");
  EXPECT_EQ(entry["differences"][0]["actual"], std::string("\"\xef\xbf\xbf\x1b\0\\xC3\"", 12));
  EXPECT_EQ(parsed["target"], "127.0.0.1:1 \\xFE");
}

}  // namespace
}  // namespace understudy
