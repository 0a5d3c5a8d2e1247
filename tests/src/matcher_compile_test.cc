// Matchers of interaction specs: compile errors and their diagnostics.
#include "src/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "src/value.h"
#include "tests/src/matcher_test_util.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using testing_util::CompileSpec;
using testing_util::InventorySchema;
using testing_util::ParseMessage;
using testing_util::UserSchema;
using testing_util::kAdjust;
using testing_util::kGetUser;
using testing_util::kItem;
using testing_util::kListUsers;

// --- compile errors -------------------------------------------------------------------------

// Compiles a spec that must fail; returns its single diagnostic.
Diagnostic CompileError(const Schema& schema, const std::string& type, const std::string& spec) {
  auto compiled = CompileSpec(schema, type, json::parse(spec));
  EXPECT_EQ(compiled.matcher, nullptr) << spec;
  EXPECT_EQ(compiled.diagnostics.size(), 1u) << compiled.Errors();
  if (compiled.diagnostics.empty()) return {};
  return compiled.diagnostics.items()[0];
}

TEST(MatcherCompile, UnknownFieldSuggestsTheClosest) {
  Diagnostic d = CompileError(*UserSchema(), kGetUser, R"({"userid": "42"})");
  EXPECT_EQ(d.file, "test.json");
  EXPECT_EQ(d.pointer, "/body/userid");
  EXPECT_EQ(d.message, "no field \"userid\" in user.GetUserRequest (did you mean \"userId\"?)");
  Diagnostic nested =
      CompileError(*UserSchema(), "user.GetUserResponse", R"({"user": {"orders": [{"totl": 1}]}})");
  EXPECT_EQ(nested.pointer, "/body/user/orders/0/totl");
  EXPECT_THAT(nested.message, HasSubstr("did you mean \"total\"?"));
}

TEST(MatcherCompile, UnknownMatcherSuggestsTheClosest) {
  Diagnostic d = CompileError(*UserSchema(), kGetUser, R"({"userId": {"$regexp": "x"}})");
  EXPECT_EQ(d.pointer, "/body/userId/$regexp");
  EXPECT_EQ(d.message, "unknown matcher \"$regexp\" (did you mean \"$regex\"?)");
}

TEST(MatcherCompile, UnknownEnumValueSuggestsTheClosest) {
  Diagnostic d = CompileError(*UserSchema(), kListUsers, R"({"status": "USER_STATUS_ACTIV"})");
  EXPECT_EQ(d.pointer, "/body/status");
  EXPECT_THAT(d.message, HasSubstr("\"USER_STATUS_ACTIV\""));
  EXPECT_THAT(d.message, HasSubstr("user.UserStatus"));
  EXPECT_THAT(d.message, HasSubstr("did you mean \"USER_STATUS_ACTIVE\"?"));
}

TEST(MatcherCompile, WrongTypeNamesTheFieldAndTheValue) {
  Diagnostic d = CompileError(*UserSchema(), kListUsers, R"({"limit": "ten"})");
  EXPECT_EQ(d.pointer, "/body/limit");
  EXPECT_THAT(d.message, HasSubstr("\"ten\""));
  EXPECT_THAT(d.message, HasSubstr("int32"));
  EXPECT_THAT(d.message, HasSubstr("user.ListUsersRequest.limit"));
  EXPECT_EQ(CompileError(*UserSchema(), kListUsers, R"({"limit": 3000000000})").pointer,
            "/body/limit");
  EXPECT_EQ(CompileError(*UserSchema(), kListUsers, R"({"limit": 1.5})").pointer, "/body/limit");
  EXPECT_THAT(CompileError(*UserSchema(), kGetUser, R"({"userId": 42})").message,
              HasSubstr("expected a string"));
  EXPECT_EQ(CompileError(*InventorySchema(), kItem, R"({"tags": "a"})").pointer, "/body/tags");
  EXPECT_EQ(CompileError(*InventorySchema(), kItem, R"({"price": "5 EUR"})").pointer,
            "/body/price");
  EXPECT_EQ(CompileError(*InventorySchema(), kItem, R"({"updatedAt": "yesterday"})").pointer,
            "/body/updatedAt");
  EXPECT_EQ(CompileError(*InventorySchema(), kAdjust, R"({"signature": "not base64!"})").pointer,
            "/body/signature");
  EXPECT_EQ(CompileError(*InventorySchema(), kItem, R"({"totalSold": "-1"})").pointer,
            "/body/totalSold");
}

TEST(MatcherCompile, EnumNumberOutOfRangeIsAnError) {
  // 2^32 + 1 is no enum number; it must not wrap around to 1 (USER_STATUS_ACTIVE).
  auto compiled = CompileSpec(*UserSchema(), kListUsers, json::parse(R"({"status": 4294967297})"));
  EXPECT_EQ(compiled.matcher, nullptr) << "compiled to a matcher";
  if (compiled.matcher != nullptr) {
    auto active = ParseMessage(*UserSchema(), kListUsers, R"({"status": "USER_STATUS_ACTIVE"})");
    EXPECT_FALSE(compiled.matcher->Matches(Node::OfMessage(active.get()), nullptr))
        << "4294967297 matches USER_STATUS_ACTIVE";
  }
}

TEST(MatcherCompile, IntegerLiteralOutOfRangeIsAnError) {
  // 1e20 is beyond int64; it must not become INT64_MIN.
  auto compiled = CompileSpec(*InventorySchema(), kItem, json::parse(R"({"quantity": 1e20})"));
  EXPECT_EQ(compiled.matcher, nullptr) << "compiled to a matcher";
  if (compiled.matcher != nullptr) {
    auto min = ParseMessage(*InventorySchema(), kItem, R"({"quantity": "-9223372036854775808"})");
    EXPECT_FALSE(compiled.matcher->Matches(Node::OfMessage(min.get()), nullptr))
        << "1e20 matches -9223372036854775808";
  }
  EXPECT_EQ(CompileError(*UserSchema(), kListUsers, R"({"limit": 1e10})").pointer, "/body/limit");
}

TEST(MatcherCompile, BadRegexGivesRe2sReason) {
  Diagnostic d = CompileError(*UserSchema(), kGetUser, R"({"userId": {"$regex": "(unclosed"}})");
  EXPECT_EQ(d.pointer, "/body/userId/$regex");
  EXPECT_THAT(d.message, HasSubstr("(unclosed"));
  EXPECT_THAT(d.message, HasSubstr("missing )"));
  // Perl lookaheads are not RE2.
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"j({"userId": {"$regex": "a(?=b)"}})j").pointer,
            "/body/userId/$regex");
}

TEST(MatcherCompile, MinItemsOnANonArray) {
  Diagnostic d = CompileError(*UserSchema(), kGetUser, R"({"userId": {"$minItems": 1}})");
  EXPECT_EQ(d.pointer, "/body/userId/$minItems");
  EXPECT_THAT(d.message, HasSubstr("applies to arrays"));
  EXPECT_EQ(CompileError(*InventorySchema(), kItem, R"({"tags": {"$maxItems": -1}})").pointer,
            "/body/tags/$maxItems");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$each": "x"}})").pointer,
            "/body/userId/$each");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$unordered": ["x"]}})").pointer,
            "/body/userId/$unordered");
}

TEST(MatcherCompile, MixedDollarAndPlainKeys) {
  Diagnostic d =
      CompileError(*UserSchema(), "user.GetUserResponse", R"({"user": {"$any": true, "id": "1"}})");
  EXPECT_EQ(d.pointer, "/body/user/id");
  EXPECT_THAT(d.message, HasSubstr("$eq"));
}

TEST(MatcherCompile, BadMatcherArguments) {
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$type": "text"}})").pointer,
            "/body/userId/$type");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$any": false}})").pointer,
            "/body/userId/$any");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$absent": 1}})").pointer,
            "/body/userId/$absent");
  EXPECT_EQ(CompileError(*UserSchema(), kListUsers, R"({"limit": {"$gt": "many"}})").pointer,
            "/body/limit/$gt");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$oneOf": []}})").pointer,
            "/body/userId/$oneOf");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"userId": {"$regex": 5}})").pointer,
            "/body/userId/$regex");
  EXPECT_EQ(CompileError(*UserSchema(), kGetUser, R"({"$exact": "x"})").pointer, "/body/$exact");
  // An error inside an alternative points into it.
  EXPECT_EQ(CompileError(*UserSchema(), kListUsers,
                         R"({"status": {"$oneOf": ["USER_STATUS_ACTIVE", "NOPE"]}})")
                .pointer,
            "/body/status/$oneOf/1");
}

TEST(MatcherCompile, EveryErrorOfASpecIsReported) {
  auto compiled = CompileSpec(*UserSchema(), kListUsers,
                              json::parse(R"({"limt": 1, "status": "NOPE", "offset": "x"})"));
  EXPECT_EQ(compiled.matcher, nullptr);
  ASSERT_EQ(compiled.diagnostics.size(), 3u) << compiled.Errors();
}

TEST(MatcherCompile, DeepNestingIsRefusedWithoutCrashing) {
  json spec = "42";
  for (int i = 0; i < 100; ++i) spec = json{{"$oneOf", json::array({spec})}};
  auto compiled = CompileSpec(*UserSchema(), kGetUser, json{{"userId", spec}});
  EXPECT_EQ(compiled.matcher, nullptr);
  EXPECT_THAT(compiled.Errors(), HasSubstr("nested deeper than"));
}

TEST(MatcherCompile, ExampleOfResponseMatchers) {
  Diagnostics diagnostics;
  MatcherCompiler compiler(UserSchema().get(), "test.json", &diagnostics);
  json example = compiler.ExampleOf(
      json::parse(R"({"user": {"id": {"$regex": "[0-9]+", "$example": "42"}, "name": "Ada"}})"),
      "/response/body");
  EXPECT_EQ(example, json::parse(R"({"user": {"id": "42", "name": "Ada"}})"));
  EXPECT_TRUE(diagnostics.empty());
  compiler.ExampleOf(json::parse(R"({"user": {"id": {"$regex": "[0-9]+"}}})"), "/response/body");
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics.items()[0].pointer, "/response/body/user/id");
  EXPECT_THAT(diagnostics.items()[0].message, HasSubstr("$example"));
}

TEST(MatcherCompile, FindJsonFieldAcceptsBothNames) {
  const auto* type = UserSchema()->FindMessage(kGetUser);
  ASSERT_NE(type, nullptr);
  EXPECT_NE(FindJsonField(type, "userId"), nullptr);
  EXPECT_EQ(FindJsonField(type, "userId"), FindJsonField(type, "user_id"));
  EXPECT_EQ(FindJsonField(type, "UserId"), nullptr);
}

}  // namespace
}  // namespace understudy
