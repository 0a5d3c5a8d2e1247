#include "src/selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using ::testing::HasSubstr;
using testing_util::ParseMessage;
using testing_util::UserSchema;

// Calls made against one set of interactions (in one file, "f.json").
class Calls {
 public:
  explicit Calls(const std::string& interactions) {
    auto set = InteractionSet::LoadSources(
        UserSchema(), {{"f.json", absl::StrCat(R"({"interactions": [)", interactions, "]}")}});
    EXPECT_TRUE(set.ok()) << set.status();
    if (set.ok()) set_ = *set;
  }
  bool loaded() const { return set_ != nullptr; }
  const InteractionSet& set() const { return *set_; }

  // The name of the interaction chosen for a call with `body` (JSON) and `metadata`, or "" on a
  // miss (the explanation then in miss()).
  std::string Unary(const std::string& method, const std::string& body,
                    const MetadataView& metadata = {}) {
    const auto* m = set_->schema().FindMethod(method);
    EXPECT_NE(m, nullptr) << method;
    if (m == nullptr) return "<no method>";
    auto message = ParseMessage(set_->schema(), m->input_type()->full_name(), body);
    Request request;
    request.metadata = &metadata;
    request.body = message.get();
    return Name(Select(*set_, m, request, SelectStage::kWhole, &miss_));
  }

  std::string ClientStream(const std::vector<std::string>& bodies) {
    const auto* m = set_->schema().FindMethod("user.UserService/CreateUserStream");
    std::vector<std::unique_ptr<google::protobuf::Message>> stream;
    for (const auto& body : bodies) {
      stream.push_back(ParseMessage(set_->schema(), "user.CreateUserRequest", body));
    }
    MetadataView metadata;
    Request request;
    request.metadata = &metadata;
    request.stream = &stream;
    return Name(Select(*set_, m, request, SelectStage::kWhole, &miss_));
  }

  // A bidi call at `stage`; `body` is the first client message (kBidiFirstMessage).
  std::string Bidi(SelectStage stage, const std::string& body = "") {
    const auto* m = set_->schema().FindMethod("user.UserService/BidirectionalStream");
    std::unique_ptr<google::protobuf::Message> message;
    if (!body.empty()) message = ParseMessage(set_->schema(), "user.BidirectionalRequest", body);
    MetadataView metadata;
    Request request;
    request.metadata = &metadata;
    request.body = message.get();
    miss_.clear();
    return Name(Select(*set_, m, request, stage, &miss_));
  }

  const std::string& miss() const { return miss_; }

 private:
  static std::string Name(const Interaction* i) { return i == nullptr ? "" : i->name; }
  std::shared_ptr<InteractionSet> set_;
  std::string miss_;
};

std::string GetUser(const std::string& name, const std::string& body,
                    const std::string& extra = "") {
  return absl::StrCat(R"({"name": ")", name, R"(", "method": "user.UserService/GetUser", )", extra,
                      extra.empty() ? "" : ", ", R"("request": {"body": )", body, "}}");
}

TEST(Selector, PriorityBeatsSpecificity) {
  Calls calls(absl::StrCat(GetUser("specific", R"({"userId": "42"})"), ",",
                           GetUser("urgent catch-all", "{}", R"("priority": 1)")));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "urgent catch-all");
}

TEST(Selector, SpecificityBeatsLoadOrder) {
  Calls calls(absl::StrCat(
      GetUser("catch-all", "{}"), ",", GetUser("one field", R"({"userId": {"$regex": "4."}})"), ",",
      GetUser("two constraints", R"({"userId": {"$regex": "4.", "$contains": "2"}})")));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "two constraints");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "41"})"), "one field");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "7"})"), "catch-all");
}

TEST(Selector, LoadOrderBreaksTies) {
  Calls calls(absl::StrCat(GetUser("first", R"({"userId": "42"})"), ",",
                           GetUser("second", R"({"userId": {"$regex": "42"}})")));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "first");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "first");
}

TEST(Selector, TimesExhaustsThenFallsThrough) {
  Calls calls(absl::StrCat(GetUser("twice", R"({"userId": "42"})", R"("times": 2)"), ",",
                           GetUser("once", "{}", R"("times": 1)")));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "twice");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "twice");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "once");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "42"})"), "");
  EXPECT_THAT(calls.miss(), HasSubstr("already served"));
  EXPECT_EQ(calls.set().interactions()[0]->served.load(), 2);
  EXPECT_EQ(calls.set().interactions()[1]->served.load(), 1);
}

TEST(Selector, ScenarioStatesTransition) {
  Calls calls(absl::StrCat(
      GetUser("before", "{}",
              R"("scenario": "signup", "whenState": "Started", "setState": "Created")"),
      ",", GetUser("after", "{}", R"("scenario": "signup", "whenState": "Created")"), ",",
      GetUser("reset", R"({"userId": "reset"})",
              R"("scenario": "signup", "setState": "Started", "priority": 9)")));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.set().scenarios().Get("signup"), "Started");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}"), "before");
  EXPECT_EQ(calls.set().scenarios().Get("signup"), "Created");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}"), "after");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}"), "after");  // no setState: it stays
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "reset"})"), "reset");
  EXPECT_EQ(calls.set().scenarios().Get("signup"), "Started");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}"), "before");
}

TEST(Selector, ScenarioMissNamesTheState) {
  Calls calls(GetUser("later", "{}", R"("scenario": "s", "whenState": "Done")"));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}"), "");
  EXPECT_THAT(calls.miss(),
              HasSubstr("whenState: scenario \"s\" is in state \"Started\", not \"Done\""));
}

TEST(Selector, MetadataKeysAreRequired) {
  Calls calls(absl::StrCat(
      R"({"name": "authorized", "method": "user.UserService/GetUser",
          "request": {"metadata": {"authorization": {"$regex": "Bearer .+"}, "x-tenant": "acme"}}})"));
  ASSERT_TRUE(calls.loaded());
  const char* method = "user.UserService/GetUser";
  EXPECT_EQ(calls.Unary(method, "{}",
                        {{"authorization", "Bearer t"}, {"x-tenant", "acme"}, {"x-other", "1"}}),
            "authorized");
  EXPECT_EQ(calls.Unary(method, "{}", {{"x-tenant", "acme"}}), "");
  EXPECT_THAT(calls.miss(), HasSubstr("metadata \"authorization\": missing"));
  EXPECT_EQ(calls.Unary(method, "{}", {{"authorization", "Basic t"}, {"x-tenant", "acme"}}), "");
  EXPECT_THAT(calls.miss(), HasSubstr("metadata \"authorization\""));
  EXPECT_THAT(calls.miss(), HasSubstr("does not match"));
  EXPECT_EQ(calls.Unary(method, "{}", {{"authorization", "Bearer t"}, {"x-tenant", "other"}}), "");
  EXPECT_THAT(calls.miss(), HasSubstr("metadata \"x-tenant\""));
}

TEST(Selector, BinaryMetadataMatchesItsBase64Form) {
  // SPEC: "-bin keys hold base64" in a file; the transport hands the decoded bytes over.
  Calls calls(R"({"name": "traced", "method": "user.UserService/GetUser",
                  "request": {"metadata": {"x-trace-bin": "AQID"}}})");
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}",
                        {{"x-trace-bin", absl::string_view("\x01\x02\x03", 3)}}),
            "traced")
      << calls.miss();
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}",
                        {{"x-trace-bin", absl::string_view("\x01\x02\x04", 3)}}),
            "");
}

TEST(Selector, BinaryMetadataLiteralMayOmitPadding) {
  // FORMAT: -bin values are base64, padded or not; "AQ" and "AQ==" both name the byte 0x01.
  for (const char* literal : {"AQ", "AQ=="}) {
    Calls calls(absl::StrCat(R"({"name": "traced", "method": "user.UserService/GetUser",
                                 "request": {"metadata": {"x-trace-bin": ")",
                             literal, R"("}}})"));
    ASSERT_TRUE(calls.loaded()) << literal;
    EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}",
                          {{"x-trace-bin", absl::string_view("\x01", 1)}}),
              "traced")
        << literal << ": " << calls.miss();
    EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}",
                          {{"x-trace-bin", absl::string_view("\x02", 1)}}),
              "")
        << literal;
  }
  // The URL-safe alphabet without padding, as for bytes fields: "-_8" is "+/8=", 0xfb 0xff.
  Calls url_safe(R"({"name": "url safe", "method": "user.UserService/GetUser",
                     "request": {"metadata": {"x-trace-bin": "-_8"}}})");
  ASSERT_TRUE(url_safe.loaded());
  EXPECT_EQ(url_safe.Unary("user.UserService/GetUser", "{}",
                           {{"x-trace-bin", absl::string_view("\xfb\xff", 2)}}),
            "url safe")
      << url_safe.miss();
}

TEST(Selector, BinaryMetadataMatchersSeePaddedBase64) {
  Calls calls(R"({"name": "regex", "method": "user.UserService/GetUser",
                  "request": {"metadata": {"x-trace-bin": {"$regex": "AQ=="}}}})");
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}",
                        {{"x-trace-bin", absl::string_view("\x01", 1)}}),
            "regex")
      << calls.miss();
}

TEST(Selector, AnyMetadataMayBeMissing) {
  Calls calls(R"({"name": "optional", "method": "user.UserService/GetUser",
                  "request": {"metadata": {"x-trace": {"$any": true}}}})");
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", "{}"), "optional");
}

TEST(Selector, MissNamesTheMethodAndTheClosestInteraction) {
  Calls calls(absl::StrCat(GetUser("get user 42", R"({"userId": "42"})"), ",",
                           R"({"name": "list", "method": "user.UserService/ListUsers"})", ",",
                           GetUser("needs auth", R"({"userId": "7"})")));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "43"})"), "");
  EXPECT_THAT(calls.miss(), HasSubstr("user.UserService/GetUser"));
  EXPECT_THAT(calls.miss(), HasSubstr("\"get user 42\" (f.json)"));
  EXPECT_THAT(calls.miss(), HasSubstr("/userId"));
  EXPECT_THAT(calls.miss(), HasSubstr("expected \"42\", got \"43\""));
  EXPECT_EQ(calls.miss(),
            "no interaction matched user.UserService/GetUser; closest is \"get user 42\" "
            "(f.json): body/userId: expected \"42\", got \"43\"");
}

TEST(Selector, MissPrefersTheInteractionMeetingMostConstraints) {
  Calls calls(absl::StrCat(
      R"({"name": "limit only", "method": "user.UserService/ListUsers", "priority": 5,
          "request": {"body": {"limit": 99}}},)",
      R"({"name": "three of four", "method": "user.UserService/ListUsers",
          "request": {"body": {"limit": 10, "offset": 20, "status": "USER_STATUS_ACTIVE"},
                      "metadata": {"x-a": "b"}}})"));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/ListUsers",
                        R"({"limit": 10, "offset": 20, "status": "USER_STATUS_ACTIVE"})"),
            "");
  EXPECT_THAT(calls.miss(), HasSubstr("\"three of four\""));
  EXPECT_THAT(calls.miss(), HasSubstr("metadata \"x-a\": missing"));
}

TEST(Selector, MethodWithoutInteractions) {
  Calls calls(GetUser("only", "{}"));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Unary("user.UserService/DeleteUser", R"({"userId": "1"})"), "");
  EXPECT_THAT(calls.miss(), HasSubstr("user.UserService/DeleteUser"));
}

// --- client streaming -----------------------------------------------------------------------

TEST(Selector, ClientStreamMatchesLengthAndEveryElement) {
  Calls calls(R"({"name": "two users", "method": "user.UserService/CreateUserStream",
                  "request": {"stream": [{"name": "Ada"}, {"name": {"$regex": "G.*"}}]}},
                 {"name": "no messages", "method": "user.UserService/CreateUserStream",
                  "priority": -1, "request": {"stream": []}},
                 {"name": "anything", "method": "user.UserService/CreateUserStream",
                  "priority": -2})");
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.ClientStream({R"({"name": "Ada"})", R"({"name": "Grace"})"}), "two users");
  EXPECT_EQ(calls.ClientStream({}), "no messages");
  EXPECT_EQ(calls.ClientStream({R"({"name": "Ada"})"}), "anything");
  EXPECT_EQ(calls.ClientStream({R"({"name": "Ada"})", R"({"name": "Barbara"})"}), "anything");
}

TEST(Selector, ClientStreamMissExplainsTheElement) {
  Calls calls(R"({"name": "two users", "method": "user.UserService/CreateUserStream",
                  "request": {"stream": [{"name": "Ada"}, {"name": {"$regex": "G.*"}}]}})");
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.ClientStream({R"({"name": "Ada"})", R"({"name": "Barbara"})"}), "");
  EXPECT_THAT(calls.miss(), HasSubstr("stream/1/name: \"Barbara\" does not match /G.*/"));
  EXPECT_EQ(calls.ClientStream({R"({"name": "Ada"})"}), "");
  EXPECT_THAT(calls.miss(), HasSubstr("stream: expected 2 client messages, got 1"));
}

// --- bidirectional streaming ----------------------------------------------------------------

const char kServerFirst[] =
    R"({"name": "server first", "method": "user.UserService/BidirectionalStream",
    "conversation": [{"server": {"message": "hello"}}, {"client": {"action": "ping"}}]})";
const char kClientFirst[] =
    R"({"name": "client first", "method": "user.UserService/BidirectionalStream",
    "conversation": [{"client": {"action": "ping"}}, {"server": {"message": "pong"}}]})";
const char kClientGet[] =
    R"({"name": "client get", "method": "user.UserService/BidirectionalStream",
    "conversation": [{"client": {"action": "get", "userId": {"$regex": "[0-9]+"}}},
                     {"server": {"message": "found"}}]})";

TEST(Selector, BidiStartChoosesOnlyServerFirstConversations) {
  Calls server_first(kServerFirst);
  ASSERT_TRUE(server_first.loaded());
  EXPECT_EQ(server_first.Bidi(SelectStage::kBidiStart), "server first");

  Calls client_first(kClientFirst);
  ASSERT_TRUE(client_first.loaded());
  EXPECT_EQ(client_first.Bidi(SelectStage::kBidiStart), "");
  EXPECT_EQ(client_first.miss(), "");  // not a miss: wait for the first message
  EXPECT_EQ(client_first.set().interactions()[0]->served.load(), 0);
}

TEST(Selector, BidiStartWaitsWhenAClientFirstConversationRanksHigher) {
  // The client-first conversation is more specific: the server must not start the other one.
  Calls calls(absl::StrCat(kServerFirst, ",", kClientGet));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiStart), "");
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "get", "userId": "1"})"),
            "client get");
  // With a higher priority the server-first conversation starts at once.
  std::string urgent = kServerFirst;
  urgent.insert(1, R"("priority": 1, )");
  Calls urgent_calls(absl::StrCat(urgent, ",", kClientGet));
  ASSERT_TRUE(urgent_calls.loaded());
  EXPECT_EQ(urgent_calls.Bidi(SelectStage::kBidiStart), "server first");
}

TEST(Selector, BidiFirstMessageMatchesTheFirstClientStep) {
  Calls calls(absl::StrCat(kClientFirst, ",", kClientGet, ",", kServerFirst));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "ping"})"), "client first");
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "get", "userId": "42"})"),
            "client get");
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "get", "userId": "x"})"), "");
  EXPECT_THAT(calls.miss(), HasSubstr("user.UserService/BidirectionalStream"));
  EXPECT_THAT(calls.miss(), HasSubstr("conversation/0/client"));
}

// FORMAT: the first client message chooses, in rank order, among the interactions whose first
// client step (wherever it stands) matches it: a server-first conversation ranked below a
// client-first one that does not take the message still gets the call.
TEST(Selector, BidiFirstMessageMayChooseAServerFirstConversation) {
  Calls calls(absl::StrCat(kClientGet, ",", kServerFirst));
  ASSERT_TRUE(calls.loaded());
  // "client get" ranks higher (more specific), so the call waits for the first message.
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiStart), "");
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "ping"})"), "server first")
      << calls.miss();
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "get", "userId": "7"})"),
            "client get");
  // A conversation without client steps takes any first message.
  Calls silent(absl::StrCat(kClientGet, ",",
                            R"({"name": "silent", "method": "user.UserService/BidirectionalStream",
                                "conversation": [{"server": {"message": "bye"}}]})"));
  ASSERT_TRUE(silent.loaded());
  EXPECT_EQ(silent.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "ping"})"), "silent")
      << silent.miss();
}

TEST(Selector, BidiFirstMessageRanksClientFirstAndServerFirstTogether) {
  // Both take {"action": "ping"}; the priority decides, whoever speaks first.
  std::string urgent_server = kServerFirst;
  urgent_server.insert(1, R"("priority": 1, )");
  std::string low_server = kServerFirst;
  low_server.insert(1, R"("priority": -1, )");
  Calls server_wins(absl::StrCat(kClientFirst, ",", urgent_server));
  ASSERT_TRUE(server_wins.loaded());
  EXPECT_EQ(server_wins.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "ping"})"),
            "server first");
  Calls client_wins(absl::StrCat(low_server, ",", kClientFirst));
  ASSERT_TRUE(client_wins.loaded());
  EXPECT_EQ(client_wins.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "ping"})"),
            "client first");
  EXPECT_EQ(client_wins.set().interactions()[0]->served.load(), 0);
}

TEST(Selector, BidiFirstMessageSkipsAServerFirstConversationItDoesNotMatch) {
  Calls calls(absl::StrCat(kServerFirst, ",", kClientGet));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "get", "userId": "1"})"),
            "client get");
  EXPECT_EQ(calls.set().interactions()[0]->served.load(), 0);
  Calls only_server_first(kServerFirst);
  ASSERT_TRUE(only_server_first.loaded());
  EXPECT_EQ(only_server_first.Bidi(SelectStage::kBidiFirstMessage, R"({"action": "get"})"), "");
  EXPECT_THAT(only_server_first.miss(), HasSubstr("conversation/1/client"));
  EXPECT_THAT(only_server_first.miss(), HasSubstr("expected \"ping\", got \"get\""));
}

TEST(Selector, BidiWithoutClientMessages) {
  Calls calls(absl::StrCat(kClientFirst, ",",
                           R"({"name": "silent", "method": "user.UserService/BidirectionalStream",
                               "priority": -1, "conversation": [{"server": {"message": "bye"}}]})"));
  ASSERT_TRUE(calls.loaded());
  EXPECT_EQ(calls.Bidi(SelectStage::kBidiNoMessage), "silent");
  Calls only_client(kClientFirst);
  ASSERT_TRUE(only_client.loaded());
  EXPECT_EQ(only_client.Bidi(SelectStage::kBidiNoMessage), "");
  EXPECT_THAT(only_client.miss(), HasSubstr("expects client messages, got none"));
}

TEST(Selector, MatchStepExplainsAMismatch) {
  Calls calls(kClientGet);
  ASSERT_TRUE(calls.loaded());
  const ConversationStep& step = calls.set().interactions()[0]->conversation[0];
  auto good = ParseMessage(calls.set().schema(), "user.BidirectionalRequest",
                           R"({"action": "get", "userId": "7"})");
  auto bad =
      ParseMessage(calls.set().schema(), "user.BidirectionalRequest", R"({"action": "ping"})");
  std::string why;
  EXPECT_TRUE(MatchStep(step, *good, &why));
  EXPECT_FALSE(MatchStep(step, *bad, &why));
  EXPECT_EQ(why, "/action: expected \"get\", got \"ping\"");
}

// --- the index ------------------------------------------------------------------------------

// 2000 literal interactions on userId, and unindexed $regex ones around them.
std::string ManyUsers() {
  std::string all = GetUser("early regex u7", R"({"userId": {"$regex": "u7"}})");
  for (int i = 0; i < 2000; ++i) {
    absl::StrAppend(
        &all, ",",
        GetUser(absl::StrCat("literal u", i), absl::StrCat(R"({"userId": "u)", i, "\"}")));
  }
  absl::StrAppend(
      &all, ",",
      GetUser("urgent regex u15x", R"({"userId": {"$regex": "u15[0-9]"}})", R"("priority": 5)"));
  absl::StrAppend(&all, ",", GetUser("late regex u8", R"({"userId": {"$regex": "u8"}})"));
  absl::StrAppend(
      &all, ",", GetUser("specific regex u9", R"({"userId": {"$regex": "u9", "$contains": "9"}})"));
  absl::StrAppend(&all, ",",
                  GetUser("fallback", R"({"userId": {"$regex": "u.*"}})", R"("priority": -1)"));
  absl::StrAppend(&all, ",",
                  GetUser("limited u3", R"({"userId": "u3"})", R"("priority": 2, "times": 1)"));
  return all;
}

TEST(Selector, IndexChoosesTheRightLiteralAmongThousands) {
  Calls calls(ManyUsers());
  ASSERT_TRUE(calls.loaded());
  const auto* m =
      calls.set().ForMethod(calls.set().schema().FindMethod("user.UserService/GetUser"));
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->indexes.size(), 1u);  // the index is in use
  for (int id : {0, 1, 42, 999, 1234, 1999}) {
    EXPECT_EQ(calls.Unary("user.UserService/GetUser", absl::StrCat(R"({"userId": "u)", id, "\"}")),
              absl::StrCat("literal u", id))
        << id;
  }
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "u2000"})"), "fallback");
  EXPECT_EQ(calls.Unary("user.UserService/GetUser", R"({"userId": "nobody"})"), "");
  EXPECT_THAT(calls.miss(), HasSubstr("user.UserService/GetUser"));
}

TEST(Selector, IndexRanksUnindexedCandidatesWithTheBucket) {
  Calls calls(ManyUsers());
  ASSERT_TRUE(calls.loaded());
  const char* method = "user.UserService/GetUser";
  // A higher-priority regex outside the index beats the indexed literal.
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u150"})"), "urgent regex u15x");
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u1500"})"), "literal u1500");
  // Same priority and specificity: the earlier loaded wins, indexed or not.
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u7"})"), "early regex u7");
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u8"})"), "literal u8");
  // More specific beats the literal even when loaded later.
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u9"})"), "specific regex u9");
}

TEST(Selector, IndexFallsThroughAnExhaustedLiteral) {
  Calls calls(ManyUsers());
  ASSERT_TRUE(calls.loaded());
  const char* method = "user.UserService/GetUser";
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u3"})"), "limited u3");
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u3"})"), "literal u3");
  EXPECT_EQ(calls.Unary(method, R"({"userId": "u3"})"), "literal u3");
}

TEST(Selector, IndexAgreesWithAFullScan) {
  // The same interactions with and without an index (fewer than 8 per method are not indexed)
  // choose the same for every request.
  std::vector<std::string> specs = {R"({"userId": "a"})",
                                    R"({"userId": "b"})",
                                    R"({"userId": {"$regex": "[ab]"}})",
                                    R"({"userId": ""})",
                                    R"({"userId": {"$absent": true}})",
                                    R"({})"};
  std::string small, big;
  for (size_t k = 0; k < specs.size(); ++k) {
    absl::StrAppend(&small, k ? "," : "", GetUser(absl::StrCat("s", k), specs[k]));
    absl::StrAppend(&big, k ? "," : "", GetUser(absl::StrCat("s", k), specs[k]));
  }
  for (int i = 0; i < 20; ++i) {
    absl::StrAppend(&big, ",",
                    GetUser(absl::StrCat("pad", i), absl::StrCat(R"({"userId": "pad)", i, "\"}")),
                    ", ", GetUser(absl::StrCat("never", i), R"({"userId": {"$regex": "never"}})"));
  }
  Calls scan(small), indexed(big);
  ASSERT_TRUE(scan.loaded() && indexed.loaded());
  const auto* m =
      indexed.set().ForMethod(indexed.set().schema().FindMethod("user.UserService/GetUser"));
  ASSERT_NE(m, nullptr);
  ASSERT_FALSE(m->indexes.empty());
  for (const char* body :
       {R"({"userId": "a"})", R"({"userId": "b"})", R"({})", R"({"userId": "c"})"}) {
    EXPECT_EQ(indexed.Unary("user.UserService/GetUser", body),
              scan.Unary("user.UserService/GetUser", body))
        << body;
  }
}

// Many threads choosing at once (run under ThreadSanitizer too): `times` is never overrun and
// every scenario transition is seen by exactly one call.
TEST(SelectorConcurrency, TimesIsNeverOverrun) {
  Calls calls(absl::StrCat(GetUser("limited", "{}", R"("times": 100, "priority": 1)"), ",",
                           GetUser("fallback", "{}", "")));
  ASSERT_TRUE(calls.loaded());
  const auto* method = calls.set().schema().FindMethod("user.UserService/GetUser");
  auto body = ParseMessage(calls.set().schema(), "user.GetUserRequest", "{}");
  std::atomic<int> limited{0}, fallback{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      MetadataView metadata;
      Request request;
      request.metadata = &metadata;
      request.body = body.get();
      for (int i = 0; i < 200; ++i) {
        std::string miss;
        const Interaction* chosen = Select(calls.set(), method, request, SelectStage::kWhole, &miss);
        ASSERT_NE(chosen, nullptr) << miss;
        (chosen->name == "limited" ? limited : fallback)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(limited.load(), 100);
  EXPECT_EQ(fallback.load(), 8 * 200 - 100);
  EXPECT_EQ(calls.set().interactions()[0]->served.load(), 100);
}

TEST(SelectorConcurrency, EachTransitionIsTakenByOneCall) {
  Calls calls(absl::StrCat(
      GetUser("open", "{}", R"("scenario": "door", "whenState": "Started", "setState": "Open")"),
      ",",
      GetUser("close", "{}", R"("scenario": "door", "whenState": "Open", "setState": "Started")")));
  ASSERT_TRUE(calls.loaded());
  const auto* method = calls.set().schema().FindMethod("user.UserService/GetUser");
  auto body = ParseMessage(calls.set().schema(), "user.GetUserRequest", "{}");
  std::atomic<int> opened{0}, closed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      MetadataView metadata;
      Request request;
      request.metadata = &metadata;
      request.body = body.get();
      for (int i = 0; i < 200; ++i) {
        const Interaction* chosen = Select(calls.set(), method, request, SelectStage::kWhole, nullptr);
        ASSERT_NE(chosen, nullptr);  // one of the two always matches the current state
        (chosen->name == "open" ? opened : closed)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // The state alternates, so opens and closes differ by the final state alone.
  EXPECT_EQ(opened.load() + closed.load(), 8 * 200);
  EXPECT_EQ(opened.load() - closed.load(),
            calls.set().scenarios().Get("door") == "Open" ? 1 : 0);
}

}  // namespace
}  // namespace understudy
