#include "src/matcher.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/interaction_set.h"
#include "src/selector.h"
#include "src/value.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using testing_util::CompileSpec;
using testing_util::InventorySchema;
using testing_util::ParseMessage;
using testing_util::UserSchema;

// Compiles `spec` (JSON text) against `type` of `schema`, which must succeed, and matches the
// request parsed from `request` (JSON text). The failure message is the mismatch.
::testing::AssertionResult MatchesIn(const Schema& schema, const std::string& type,
                                     const std::string& spec, const std::string& request) {
  auto compiled = CompileSpec(schema, type, json::parse(spec));
  if (compiled.matcher == nullptr) {
    ADD_FAILURE() << "spec " << spec << " did not compile: " << compiled.Errors();
    return ::testing::AssertionFailure() << "(did not compile)";
  }
  auto message = ParseMessage(schema, type, request);
  if (message == nullptr) {
    ADD_FAILURE() << "request " << request << " did not parse";
    return ::testing::AssertionFailure() << "(did not parse)";
  }
  Mismatch why;
  if (compiled.matcher->Matches(Node::OfMessage(message.get()), &why)) {
    // A match must also agree without the explanation.
    if (!compiled.matcher->Matches(Node::OfMessage(message.get()), nullptr)) {
      ADD_FAILURE() << "Matches disagrees with and without a Mismatch";
    }
    return ::testing::AssertionSuccess() << spec << " matches " << request;
  }
  return ::testing::AssertionFailure() << why.ToString();
}

::testing::AssertionResult UserMatch(const std::string& type, const std::string& spec,
                                     const std::string& request) {
  return MatchesIn(*UserSchema(), type, spec, request);
}
::testing::AssertionResult InvMatch(const std::string& type, const std::string& spec,
                                    const std::string& request) {
  return MatchesIn(*InventorySchema(), type, spec, request);
}

// The mismatch text of a request that must not match.
std::string WhyNot(const Schema& schema, const std::string& type, const std::string& spec,
                   const std::string& request) {
  auto result = MatchesIn(schema, type, spec, request);
  EXPECT_FALSE(result) << "expected a mismatch";
  return result.message();
}

const char kGetUser[] = "user.GetUserRequest";
const char kListUsers[] = "user.ListUsersRequest";
const char kItem[] = "inventory.v1.Item";
const char kGetItem[] = "inventory.v1.GetItemRequest";
const char kSearch[] = "inventory.v1.SearchItemsRequest";
const char kAdjust[] = "inventory.v1.StockAdjustment";

// --- $regex ---------------------------------------------------------------------------------

TEST(Matcher, RegexMatchesWholeStringOnly) {
  const char* spec = R"({"userId": {"$regex": "4."}})";
  EXPECT_TRUE(UserMatch(kGetUser, spec, R"({"userId": "42"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({"userId": "142"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({"userId": "421"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({})"));
}

TEST(Matcher, RegexMatchesTextOfNumbers) {
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$regex": "1[0-9]"}})", R"({"limit": 12})"));
  EXPECT_FALSE(UserMatch(kListUsers, R"({"limit": {"$regex": "1[0-9]"}})", R"({"limit": 5})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"quantity": {"$regex": "9007199254740993"}})",
                       R"({"quantity": "9007199254740993"})"));
  EXPECT_TRUE(
      InvMatch(kItem, R"({"stockDelta": {"$regex": "-[0-9]+"}})", R"({"stockDelta": "-42"})"));
}

TEST(Matcher, RegexUsesRe2Syntax) {
  const char* spec = R"({"userId": {"$regex": "(?i)ada\\pL*"}})";
  EXPECT_TRUE(UserMatch(kGetUser, spec, R"({"userId": "ADAlovelace"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({"userId": "ada lovelace"})"));
  EXPECT_TRUE(UserMatch(kGetUser, R"({"userId": {"$regex": "\\d{2,3}"}})", R"({"userId": "500"})"));
}

TEST(Matcher, RegexMatchesEnumNames) {
  const char* spec = R"j({"status": {"$regex": "USER_STATUS_(ACTIVE|INACTIVE)"}})j";
  EXPECT_TRUE(UserMatch(kListUsers, spec, R"({"status": "USER_STATUS_INACTIVE"})"));
  EXPECT_FALSE(UserMatch(kListUsers, spec, R"({"status": "USER_STATUS_SUSPENDED"})"));
}

TEST(Matcher, RegexMatchesTimestampText) {
  const char* spec = R"({"updatedAt": {"$regex": "2024-01-15T.*Z"}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"updatedAt": "2024-01-15T10:30:00Z"})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"updatedAt": "2023-01-15T10:30:00Z"})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({})"));
}

// A float field reads at float precision: 0.1f is "0.1", not 0.10000000149011612.
TEST(Matcher, RegexSeesFloatAtFloatPrecision) {
  const char* spec = R"({"dimensions": {"weightKg": {"$regex": "0\\.1"}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"dimensions": {"weightKg": 0.1}})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"dimensions": {"weightKg": 0.2}})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"dimensions": {"weightKg": {"$regex": "3\\.14159"}}})",
                       R"({"dimensions": {"weightKg": 3.14159}})"));
}

TEST(Matcher, TextOfFloatIsTheShortestFloatText) {
  auto item = ParseMessage(*InventorySchema(), kItem,
                           R"({"dimensions": {"weightKg": 0.1, "lengthCm": 0.1}})");
  ASSERT_NE(item, nullptr);
  const auto* dimensions_field = item->GetDescriptor()->FindFieldByName("dimensions");
  const auto& dimensions = item->GetReflection()->GetMessage(*item, dimensions_field);
  const auto* weight = dimensions.GetDescriptor()->FindFieldByName("weight_kg");
  const auto* length = dimensions.GetDescriptor()->FindFieldByName("length_cm");
  EXPECT_EQ(TextOf(Node::OfField(&dimensions, weight)), "0.1");
  EXPECT_EQ(TextOf(Node::OfField(&dimensions, length)), "0.1");
  EXPECT_EQ(FormatFloat(0.1f), "0.1");
  EXPECT_EQ(FormatFloat(3.4028235e38f), "3.4028235e+38");
  EXPECT_EQ(FormatFloat(16777217.0f), "16777216");
  // Reads back as the same float.
  for (float f : {0.1f, 1.0f / 3.0f, 1e-7f, 123456.789f}) {
    EXPECT_EQ(std::strtof(FormatFloat(f).c_str(), nullptr), f) << FormatFloat(f);
  }
}

// --- $type ----------------------------------------------------------------------------------

TEST(Matcher, TypeString) {
  EXPECT_TRUE(UserMatch(kGetUser, R"({"userId": {"$type": "string"}})", R"({"userId": "42"})"));
  EXPECT_FALSE(UserMatch(kListUsers, R"({"limit": {"$type": "string"}})", R"({"limit": 3})"));
  EXPECT_TRUE(UserMatch(kListUsers, R"({"status": {"$type": "string"}})",
                        R"({"status": "USER_STATUS_ACTIVE"})"));
}

TEST(Matcher, TypeNumberAndInteger) {
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$type": "number"}})", R"({"limit": 3})"));
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$type": "integer"}})", R"({"limit": 3})"));
  EXPECT_FALSE(UserMatch(kGetUser, R"({"userId": {"$type": "number"}})", R"({"userId": "3"})"));
  const char* weight_integer = R"({"dimensions": {"weightKg": {"$type": "integer"}}})";
  EXPECT_TRUE(InvMatch(kItem, weight_integer, R"({"dimensions": {"weightKg": 2}})"));
  EXPECT_FALSE(InvMatch(kItem, weight_integer, R"({"dimensions": {"weightKg": 2.5}})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"dimensions": {"weightKg": {"$type": "number"}}})",
                       R"({"dimensions": {"weightKg": 2.5}})"));
}

TEST(Matcher, TypeAcceptsBothReadingsOf64BitIntegers) {
  for (const char* type : {"string", "number", "integer"}) {
    std::string spec = std::string(R"({"quantity": {"$type": ")") + type + "\"}}";
    EXPECT_TRUE(InvMatch(kItem, spec, R"({"quantity": "9007199254740993"})")) << type;
    spec = std::string(R"({"totalSold": {"$type": ")") + type + "\"}}";
    EXPECT_TRUE(InvMatch(kItem, spec, R"({"totalSold": "18446744073709551615"})")) << type;
    spec = std::string(R"({"barcode": {"$type": ")") + type + "\"}}";
    EXPECT_TRUE(InvMatch(kItem, spec, R"({"barcode": "4006381333931"})")) << type;
  }
  EXPECT_FALSE(InvMatch(kItem, R"({"quantity": {"$type": "boolean"}})", R"({"quantity": "1"})"));
}

TEST(Matcher, TypeBoolean) {
  EXPECT_TRUE(
      InvMatch(kGetItem, R"({"includeStock": {"$type": "boolean"}})", R"({"includeStock": true})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": {"$type": "boolean"}})", R"({"sku": "A"})"));
}

TEST(Matcher, TypeObjectAndArray) {
  EXPECT_TRUE(InvMatch(kItem, R"({"price": {"$type": "object"}})",
                       R"({"price": {"currencyCode": "EUR"}})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"price": {"$type": "object"}})", R"({})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"title": {"$type": "object"}})", R"({"title": "x"})"));
  EXPECT_TRUE(
      InvMatch(kItem, R"({"attributes": {"$type": "object"}})", R"({"attributes": {"a": "b"}})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"tags": {"$type": "array"}})", R"({"tags": ["a"]})"));
  EXPECT_FALSE(
      InvMatch(kItem, R"({"attributes": {"$type": "array"}})", R"({"attributes": {"a": "b"}})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"title": {"$type": "array"}})", R"({"title": "x"})"));
}

TEST(Matcher, TypeSeesThroughWrappers) {
  EXPECT_TRUE(InvMatch(kItem, R"({"reorderThreshold": {"$type": "integer"}})",
                       R"({"reorderThreshold": 5})"));
  EXPECT_TRUE(
      InvMatch(kItem, R"({"supplierNote": {"$type": "string"}})", R"({"supplierNote": ""})"));
  EXPECT_FALSE(
      InvMatch(kItem, R"({"supplierNote": {"$type": "number"}})", R"({"supplierNote": "x"})"));
}

// --- $any, $absent --------------------------------------------------------------------------

TEST(Matcher, AnyMatchesEvenUnset) {
  EXPECT_TRUE(InvMatch(kItem, R"({"price": {"$any": true}})", R"({})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"price": {"$any": true}})", R"({"price": {"units": "1"}})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"barcode": {"$any": true}})", R"({"sku": "x"})"));
  EXPECT_TRUE(UserMatch(kGetUser, R"({"userId": {"$any": true}})", R"({"userId": "1"})"));
}

TEST(Matcher, AbsentMatchesOnlyUnset) {
  EXPECT_TRUE(UserMatch(kGetUser, R"({"userId": {"$absent": true}})", R"({})"));
  EXPECT_FALSE(UserMatch(kGetUser, R"({"userId": {"$absent": true}})", R"({"userId": "42"})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"price": {"$absent": true}})", R"({})"));
  // An empty message that is set is present.
  EXPECT_FALSE(InvMatch(kItem, R"({"price": {"$absent": true}})", R"({"price": {}})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"tags": {"$absent": true}})", R"({"tags": []})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"tags": {"$absent": true}})", R"({"tags": ["a"]})"));
}

// SPEC/FORMAT: fields with presence must be set for any matcher but $any and $absent to match;
// the default value of an unset oneof member is not something the client sent.
TEST(Matcher, RegexRejectsUnsetOneofMember) {
  // sku and barcode are the members of oneof "key": a request with barcode leaves sku unset.
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": {"$regex": ".*"}})", R"({"barcode": "5"})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": {"$regex": ""}})", R"({})"));
  EXPECT_THAT(
      WhyNot(*InventorySchema(), kGetItem, R"({"sku": {"$regex": ".*"}})", R"({"barcode": "5"})"),
      HasSubstr("unset"));
  // Set to the empty string, the member is present.
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": {"$regex": ".*"}})", R"({"sku": ""})"));
  EXPECT_FALSE(InvMatch(kAdjust, R"({"note": {"$regex": ".*"}})", R"({"order": {}})"));
}

TEST(Matcher, TypeRejectsUnsetOneofMember) {
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": {"$type": "string"}})", R"({"barcode": "5"})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"barcode": {"$type": "integer"}})", R"({"sku": "A"})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"barcode": {"$type": "string"}})", R"({})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": {"$type": "string"}})", R"({"sku": ""})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"barcode": {"$type": "integer"}})", R"({"barcode": "0"})"));
}

TEST(Matcher, ComparisonsRejectUnsetOneofMember) {
  // An unset barcode reads as 0, which every one of these bounds would accept.
  for (const char* spec : {R"({"barcode": {"$lt": 100}})", R"({"barcode": {"$lte": 0}})",
                           R"({"barcode": {"$gte": 0}})", R"({"barcode": {"$gt": -1}})"}) {
    EXPECT_FALSE(InvMatch(kGetItem, spec, R"({"sku": "A"})")) << spec;
    EXPECT_FALSE(InvMatch(kGetItem, spec, R"({})")) << spec;
    EXPECT_TRUE(InvMatch(kGetItem, spec, R"({"barcode": "0"})")) << spec;
  }
}

TEST(Matcher, ContainsRejectsUnsetOneofMember) {
  // Every string contains "", but an unset member is no string at all.
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": {"$contains": ""}})", R"({"barcode": "5"})"));
  EXPECT_FALSE(InvMatch(kAdjust, R"({"note": {"$contains": ""}})", R"({})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": {"$contains": ""}})", R"({"sku": ""})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"note": {"$contains": "re"}})", R"({"note": "recount"})"));
}

TEST(Matcher, AnyAndAbsentAcceptUnsetOneofMember) {
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": {"$any": true}})", R"({"barcode": "5"})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": {"$absent": true}})", R"({"barcode": "5"})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"barcode": {"$any": true}})", R"({})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({"barcode": {"$absent": true}})", R"({})"));
}

TEST(Matcher, MatchersRejectUnsetWrapper) {
  // A wrapper field has presence: unset, it is not the empty string.
  EXPECT_FALSE(InvMatch(kAdjust, R"({"operator": {"$regex": ".*"}})", R"({})"));
  EXPECT_FALSE(InvMatch(kAdjust, R"({"operator": {"$type": "string"}})", R"({})"));
  EXPECT_FALSE(InvMatch(kAdjust, R"({"operator": {"$contains": ""}})", R"({})"));
  EXPECT_FALSE(InvMatch(kSearch, R"({"pageSize": {"$lte": 0}})", R"({})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"operator": {"$regex": ".*"}})", R"({"operator": ""})"));
  EXPECT_TRUE(InvMatch(kSearch, R"({"pageSize": {"$lte": 0}})", R"({"pageSize": 0})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"operator": {"$any": true}})", R"({})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"operator": {"$absent": true}})", R"({})"));
}

// --- $contains ------------------------------------------------------------------------------

TEST(Matcher, ContainsSubstring) {
  const char* spec = R"({"userId": {"$contains": "23"}})";
  EXPECT_TRUE(UserMatch(kGetUser, spec, R"({"userId": "1234"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({"userId": "1324"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({})"));
}

TEST(Matcher, ContainsArrayElement) {
  EXPECT_TRUE(InvMatch(kItem, R"({"tags": {"$contains": "red"}})", R"({"tags": ["blue", "red"]})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"tags": {"$contains": "red"}})", R"({"tags": ["reddish"]})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"tags": {"$contains": "red"}})", R"({})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"binNumbers": {"$contains": {"$gt": 10}}})",
                       R"({"binNumbers": [3, 14]})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"binNumbers": {"$contains": {"$gt": 10}}})",
                        R"({"binNumbers": [3, 4]})"));
  const char* users = R"({"users": {"$contains": {"id": "7"}}})";
  EXPECT_TRUE(UserMatch("user.ListUsersResponse", users,
                        R"({"users": [{"id": "1"}, {"id": "7", "name": "Grace"}]})"));
  EXPECT_FALSE(UserMatch("user.ListUsersResponse", users, R"({"users": [{"id": "1"}]})"));
}

// --- $gt, $gte, $lt, $lte -------------------------------------------------------------------

TEST(Matcher, CompareOperatorsOnInt32) {
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$gt": 10}})", R"({"limit": 11})"));
  EXPECT_FALSE(UserMatch(kListUsers, R"({"limit": {"$gt": 10}})", R"({"limit": 10})"));
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$gte": 10}})", R"({"limit": 10})"));
  EXPECT_FALSE(UserMatch(kListUsers, R"({"limit": {"$gte": 10}})", R"({"limit": 9})"));
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$lt": 10}})", R"({"limit": 9})"));
  EXPECT_FALSE(UserMatch(kListUsers, R"({"limit": {"$lt": 10}})", R"({"limit": 10})"));
  EXPECT_TRUE(UserMatch(kListUsers, R"({"limit": {"$lte": 10}})", R"({"limit": 10})"));
  EXPECT_FALSE(UserMatch(kListUsers, R"({"limit": {"$lte": 10}})", R"({"limit": 11})"));
  // A range.
  const char* range = R"({"limit": {"$gt": 0, "$lte": 100}})";
  EXPECT_TRUE(UserMatch(kListUsers, range, R"({"limit": 100})"));
  EXPECT_FALSE(UserMatch(kListUsers, range, R"({"limit": 101})"));
  EXPECT_FALSE(UserMatch(kListUsers, range, R"({})"));
}

TEST(Matcher, CompareInt64GivenAsStringBeyondTwoToThe53) {
  // 2^53 + 1 is not a double: the comparison must not go through one.
  const char* gt = R"({"quantity": {"$gt": "9007199254740992"}})";
  EXPECT_TRUE(InvMatch(kItem, gt, R"({"quantity": "9007199254740993"})"));
  EXPECT_FALSE(InvMatch(kItem, gt, R"({"quantity": "9007199254740992"})"));
  const char* lt = R"({"quantity": {"$lt": 9007199254740993}})";
  EXPECT_TRUE(InvMatch(kItem, lt, R"({"quantity": "9007199254740992"})"));
  EXPECT_FALSE(InvMatch(kItem, lt, R"({"quantity": "9007199254740993"})"));
}

TEST(Matcher, CompareUint64NearItsMaximum) {
  const char* spec = R"({"totalSold": {"$gte": "18446744073709551615"}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"totalSold": "18446744073709551615"})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"totalSold": "18446744073709551614"})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"totalSold": {"$gt": 18446744073709551614}})",
                       R"({"totalSold": "18446744073709551615"})"));
}

TEST(Matcher, CompareNegativeSint64) {
  const char* spec = R"({"stockDelta": {"$lt": "-5"}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"stockDelta": "-6"})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"stockDelta": "-5"})"));
}

TEST(Matcher, CompareDoublesAndWrappers) {
  EXPECT_TRUE(InvMatch(kItem, R"({"dimensions": {"lengthCm": {"$gt": 40}}})",
                       R"({"dimensions": {"lengthCm": 40.5}})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"dimensions": {"lengthCm": {"$gt": 40.5}}})",
                        R"({"dimensions": {"lengthCm": 40.5}})"));
  EXPECT_TRUE(
      InvMatch(kItem, R"({"reorderThreshold": {"$gte": 10}})", R"({"reorderThreshold": 10})"));
  EXPECT_FALSE(
      InvMatch(kItem, R"({"reorderThreshold": {"$gte": 10}})", R"({"reorderThreshold": 9})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"reorderThreshold": {"$gte": 0}})", R"({})"));
}

TEST(Matcher, CompareRejectsNonNumbers) {
  EXPECT_FALSE(UserMatch(kGetUser, R"({"userId": {"$gt": 1}})", R"({"userId": "abc"})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"includeStock": {"$gt": 0}})", R"({"includeStock": true})"));
}

// --- $each, $minItems, $maxItems, $unordered ------------------------------------------------

TEST(Matcher, EachElementMustMatch) {
  const char* spec = R"({"tags": {"$each": {"$regex": "[a-z]+"}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["a", "bc"]})"));
  EXPECT_TRUE(InvMatch(kItem, spec, R"({})"));
  EXPECT_EQ(WhyNot(*InventorySchema(), kItem, spec, R"({"tags": ["a", "B"]})"),
            "/tags/1: \"B\" does not match /[a-z]+/");
  EXPECT_FALSE(
      InvMatch(kItem, R"({"binNumbers": {"$each": {"$gt": 0}}})", R"({"binNumbers": [1, 0]})"));
}

TEST(Matcher, MinItemsAndMaxItemsBoundTheLength) {
  const char* spec = R"({"tags": {"$minItems": 1, "$maxItems": 2}})";
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": []})"));
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["a"]})"));
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["a", "b"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["a", "b", "c"]})"));
}

TEST(Matcher, MinItemsCombinesWithEach) {
  const char* spec = R"({"tags": {"$each": {"$regex": "a.*"}, "$minItems": 2}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["ab", "ac"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["ab"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["ab", "b"]})"));
}

TEST(Matcher, UnorderedMatchesAnyOrder) {
  const char* spec = R"({"tags": {"$unordered": ["a", "b"]}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["b", "a"]})"));
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["a", "b"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["a", "a"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["a"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["a", "b", "c"]})"));
}

TEST(Matcher, UnorderedBacktracksOverOverlappingMatchers) {
  // The regex also accepts "a"; a greedy assignment would leave "ab" for the literal "a".
  const char* spec = R"({"tags": {"$unordered": [{"$regex": "a.*"}, "a"]}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["a", "ab"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["ab", "ac"]})"));
}

// --- $oneOf, $exact, $eq --------------------------------------------------------------------

TEST(Matcher, OneOfMatchesAnyAlternative) {
  const char* spec = R"({"userId": {"$oneOf": ["7", {"$regex": "4."}]}})";
  EXPECT_TRUE(UserMatch(kGetUser, spec, R"({"userId": "7"})"));
  EXPECT_TRUE(UserMatch(kGetUser, spec, R"({"userId": "42"})"));
  EXPECT_FALSE(UserMatch(kGetUser, spec, R"({"userId": "8"})"));
  const char* status = R"({"status": {"$oneOf": ["USER_STATUS_ACTIVE", 2]}})";
  EXPECT_TRUE(UserMatch(kListUsers, status, R"({"status": "USER_STATUS_INACTIVE"})"));
  EXPECT_FALSE(UserMatch(kListUsers, status, R"({"status": "USER_STATUS_SUSPENDED"})"));
}

TEST(Matcher, ExactRejectsAnExtraSetField) {
  const char* spec = R"({"price": {"$exact": {"currencyCode": "EUR", "units": "5"}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"price": {"currencyCode": "EUR", "units": "5"}})"));
  EXPECT_EQ(WhyNot(*InventorySchema(), kItem, spec,
                   R"({"price": {"currencyCode": "EUR", "units": "5", "nanos": 1}})"),
            "/price: field \"nanos\" is set, but $exact does not list it");
  // Still partial where it is not asked for: fields beside "price" may be anything.
  EXPECT_TRUE(
      InvMatch(kItem, spec, R"({"sku": "A", "price": {"currencyCode": "EUR", "units": "5"}})"));
}

TEST(Matcher, ExactAtTheRoot) {
  const char* spec = R"({"$exact": {"sku": "A"}})";
  EXPECT_TRUE(InvMatch(kGetItem, spec, R"({"sku": "A"})"));
  EXPECT_FALSE(InvMatch(kGetItem, spec, R"({"sku": "A", "includeStock": true})"));
}

TEST(Matcher, EqWritesLiteralObjectsWithDollarKeys) {
  const char* spec = R"({"attributes": {"$eq": {"$ref": "x"}}})";
  EXPECT_TRUE(InvMatch(kSearch, spec, R"({"attributes": {"$ref": "x"}})"));
  EXPECT_FALSE(InvMatch(kSearch, spec, R"({"attributes": {"$ref": "y"}})"));
  EXPECT_FALSE(InvMatch(kSearch, spec, R"({"attributes": {"$ref": "x", "b": "c"}})"));
  // Without $eq the same object is a (misspelt) matcher.
  auto compiled =
      CompileSpec(*InventorySchema(), kSearch, json::parse(R"({"attributes": {"$ref": "x"}})"));
  EXPECT_EQ(compiled.matcher, nullptr);
  EXPECT_THAT(compiled.Errors(), HasSubstr("unknown matcher \"$ref\""));
}

TEST(Matcher, EqOnAMessageComparesTheWholeMessage) {
  const char* spec = R"({"price": {"$eq": {"currencyCode": "EUR"}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"price": {"currencyCode": "EUR"}})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"price": {"currencyCode": "EUR", "units": "5"}})"));
  EXPECT_TRUE(UserMatch(kGetUser, R"({"userId": {"$eq": "42"}})", R"({"userId": "42"})"));
  EXPECT_FALSE(UserMatch(kGetUser, R"({"userId": {"$eq": "42"}})", R"({"userId": "43"})"));
}

TEST(Matcher, ExactRejectsAnUnlistedFieldInANestedObject) {
  const char* spec = R"({"$exact": {"sku": "A", "price": {"currencyCode": "EUR"}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"sku": "A", "price": {"currencyCode": "EUR"}})"));
  EXPECT_EQ(WhyNot(*InventorySchema(), kItem, spec,
                   R"({"sku": "A", "price": {"currencyCode": "EUR", "units": "5"}})"),
            "/price: field \"units\" is set, but $exact does not list it");
  // Deeper still: the elements of a repeated message field.
  const char* orders = R"({"$exact": {"orders": [{"id": "o1"}]}})";
  EXPECT_TRUE(UserMatch("user.User", orders, R"({"orders": [{"id": "o1"}]})"));
  EXPECT_FALSE(UserMatch("user.User", orders, R"({"orders": [{"id": "o1", "status": "x"}]})"));
}

TEST(Matcher, ExactStillAppliesNestedMatchers) {
  const char* spec = R"({"$exact": {"price": {"units": {"$gt": 0}}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"price": {"units": "5"}})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"price": {"units": "0"}})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"price": {"units": "5", "nanos": 1}})"));
}

TEST(Matcher, EqOnARepeatedMessageFieldComparesWholeElements) {
  const char* spec = R"({"orders": {"$eq": [{"id": "o1"}, {"id": "o2"}]}})";
  EXPECT_TRUE(UserMatch("user.User", spec, R"({"orders": [{"id": "o1"}, {"id": "o2"}]})"));
  EXPECT_FALSE(UserMatch("user.User", spec,
                         R"({"orders": [{"id": "o1"}, {"id": "o2", "status": "pending"}]})"));
  EXPECT_FALSE(UserMatch("user.User", spec, R"({"orders": [{"id": "o2"}, {"id": "o1"}]})"));
  // Nested messages of an element too.
  const char* nested = R"({"orders": {"$eq": [{"id": "o1", "items": [{"name": "pen"}]}]}})";
  EXPECT_TRUE(
      UserMatch("user.User", nested, R"({"orders": [{"id": "o1", "items": [{"name": "pen"}]}]})"));
  EXPECT_FALSE(
      UserMatch("user.User", nested,
                R"({"orders": [{"id": "o1", "items": [{"name": "pen", "quantity": 2}]}]})"));
}

TEST(Matcher, EqOnAMapComparesWholeValues) {
  const char* spec = R"({"stockByWarehouse": {"$eq": {"ber-1": {"onHand": "3"}}}})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"stockByWarehouse": {"ber-1": {"onHand": "3"}}})"));
  EXPECT_FALSE(InvMatch(kItem, spec,
                        R"({"stockByWarehouse": {"ber-1": {"onHand": "3", "reserved": "1"}}})"));
  EXPECT_FALSE(
      InvMatch(kItem, spec, R"({"stockByWarehouse": {"ber-1": {"onHand": "3"}, "muc-2": {}}})"));
}

TEST(Matcher, EqTakesDollarKeysInsideLiterally) {
  // Inside $eq an object with $ keys is a value: here the keys of a map in each element.
  const char* spec = R"({"items": {"$eq": [{"sku": "A", "attributes": {"$ref": "x"}}]}})";
  EXPECT_TRUE(InvMatch("inventory.v1.SearchItemsResponse", spec,
                       R"({"items": [{"sku": "A", "attributes": {"$ref": "x"}}]})"));
  EXPECT_FALSE(InvMatch("inventory.v1.SearchItemsResponse", spec,
                        R"({"items": [{"sku": "A", "attributes": {"$ref": "y"}}]})"));
  EXPECT_FALSE(InvMatch("inventory.v1.SearchItemsResponse", spec,
                        R"({"items": [{"sku": "A", "attributes": {"$ref": "x", "b": "c"}}]})"));
  // A matcher inside $eq is no matcher: for a string field it is a wrong value.
  auto compiled = CompileSpec(*InventorySchema(), kSearch,
                              json::parse(R"({"tags": {"$eq": [{"$regex": "a.*"}]}})"));
  EXPECT_EQ(compiled.matcher, nullptr);
  EXPECT_THAT(compiled.Errors(), HasSubstr("/body/tags/$eq/0"));
}

// --- literals -------------------------------------------------------------------------------

TEST(Matcher, ObjectsMatchPartially) {
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": "A"})", R"({"sku": "A", "includeStock": true})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": "A"})", R"({"sku": "B", "includeStock": true})"));
  EXPECT_TRUE(InvMatch(kGetItem, R"({})", R"({"sku": "B", "includeStock": true})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"price": {"units": "5"}})",
                       R"({"price": {"currencyCode": "EUR", "units": "5"}})"));
}

TEST(Matcher, ArraysMatchElementByElementWithTheSameLength) {
  const char* spec = R"({"tags": ["a", "b"]})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"tags": ["a", "b"]})"));
  EXPECT_EQ(WhyNot(*InventorySchema(), kItem, spec, R"({"tags": ["a"]})"),
            "/tags: expected 2 elements, got 1");
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["a", "b", "c"]})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"tags": ["b", "a"]})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"tags": []})", R"({})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"tags": []})", R"({"tags": ["a"]})"));
}

TEST(Matcher, NestedMessagesAndRepeatedMessages) {
  const char* spec = R"({"user": {"orders": [{"items": [{"quantity": 2}]}]}})";
  EXPECT_TRUE(
      UserMatch("user.GetUserResponse", spec,
                R"({"user": {"id": "1", "orders": [{"id": "o", "items": [{"quantity": 2}]}]}})"));
  EXPECT_EQ(WhyNot(*UserSchema(), "user.GetUserResponse", spec,
                   R"({"user": {"orders": [{"items": [{"quantity": 3}]}]}})"),
            "/user/orders/0/items/0/quantity: expected 2, got 3");
  EXPECT_FALSE(UserMatch("user.GetUserResponse", spec, R"({})"));
}

TEST(Matcher, EnumsByNameOrNumber) {
  for (const char* spec : {R"({"status": "USER_STATUS_ACTIVE"})", R"({"status": 1})"}) {
    EXPECT_TRUE(UserMatch(kListUsers, spec, R"({"status": "USER_STATUS_ACTIVE"})")) << spec;
    EXPECT_TRUE(UserMatch(kListUsers, spec, R"({"status": 1})")) << spec;
    EXPECT_FALSE(UserMatch(kListUsers, spec, R"({"status": "USER_STATUS_INACTIVE"})")) << spec;
    EXPECT_FALSE(UserMatch(kListUsers, spec, R"({})")) << spec;
  }
  EXPECT_TRUE(UserMatch(kListUsers, R"({"status": "USER_STATUS_UNSPECIFIED"})", R"({})"));
}

TEST(Matcher, MapsMatchListedKeysOnly) {
  const char* spec = R"({"attributes": {"color": "red"}})";
  EXPECT_TRUE(InvMatch(kSearch, spec, R"({"attributes": {"color": "red", "size": "L"}})"));
  EXPECT_EQ(WhyNot(*InventorySchema(), kSearch, spec, R"({"attributes": {"size": "L"}})"),
            "/attributes/color: missing key");
  EXPECT_FALSE(InvMatch(kSearch, spec, R"({"attributes": {"color": "blue"}})"));
  EXPECT_FALSE(InvMatch(kSearch, spec, R"({})"));
}

TEST(Matcher, MapValuesMayBeMessagesAndMatchers) {
  const char* spec = R"({"stockByWarehouse": {"ber-1": {"onHand": {"$gt": 0}}}})";
  EXPECT_TRUE(
      InvMatch(kItem, spec, R"({"stockByWarehouse": {"ber-1": {"onHand": "3"}, "muc-2": {}}})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"stockByWarehouse": {"ber-1": {"onHand": "0"}}})"));
  const char* absent = R"({"attributes": {"color": {"$absent": true}}})";
  EXPECT_TRUE(InvMatch(kSearch, absent, R"({"attributes": {"size": "L"}})"));
  EXPECT_FALSE(InvMatch(kSearch, absent, R"({"attributes": {"color": "red"}})"));
}

TEST(Matcher, OneofMemberSetToZeroIsPresent) {
  // barcode is a fixed64 member of oneof "key": set to 0 it is present, unlike a plain field.
  const char* zero = R"({"barcode": "0"})";
  EXPECT_TRUE(InvMatch(kGetItem, zero, R"({"barcode": "0"})"));
  EXPECT_FALSE(InvMatch(kGetItem, zero, R"({})"));
  EXPECT_FALSE(InvMatch(kGetItem, zero, R"({"sku": "A"})"));
  const char* absent = R"({"barcode": {"$absent": true}})";
  EXPECT_FALSE(InvMatch(kGetItem, absent, R"({"barcode": "0"})"));
  EXPECT_TRUE(InvMatch(kGetItem, absent, R"({"sku": "A"})"));
  // The same for an empty string member.
  EXPECT_TRUE(InvMatch(kGetItem, R"({"sku": ""})", R"({"sku": ""})"));
  EXPECT_FALSE(InvMatch(kGetItem, R"({"sku": ""})", R"({"barcode": "1"})"));
}

TEST(Matcher, OneofMessageMembers) {
  const char* spec = R"({"checkpoint": {"token": "5"}})";
  EXPECT_TRUE(InvMatch("inventory.v1.SyncRequest", spec, R"({"checkpoint": {"token": "5"}})"));
  EXPECT_FALSE(InvMatch("inventory.v1.SyncRequest", spec, R"({"deleteSku": "SKU-1"})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"note": {"$contains": "recount"}, "order": {"$absent": true}})",
                       R"({"note": "annual recount"})"));
}

TEST(Matcher, WrappersDistinguishZeroFromUnset) {
  const char* zero = R"({"pageSize": 0})";
  EXPECT_TRUE(InvMatch(kSearch, zero, R"({"pageSize": 0})"));
  EXPECT_FALSE(InvMatch(kSearch, zero, R"({})"));
  EXPECT_FALSE(InvMatch(kSearch, zero, R"({"pageSize": 5})"));
  const char* absent = R"({"pageSize": {"$absent": true}})";
  EXPECT_TRUE(InvMatch(kSearch, absent, R"({})"));
  EXPECT_FALSE(InvMatch(kSearch, absent, R"({"pageSize": 0})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"operator": "alice"})", R"({"operator": "alice"})"));
  EXPECT_FALSE(InvMatch(kAdjust, R"({"operator": "alice"})", R"({"operator": "bob"})"));
  EXPECT_TRUE(InvMatch(kAdjust, R"({"operator": {"$regex": "al.*"}})", R"({"operator": "alice"})"));
}

TEST(Matcher, TimestampLiteralComparesInstants) {
  const char* spec = R"({"updatedAt": "2024-01-15T10:30:00Z"})";
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"updatedAt": "2024-01-15T10:30:00Z"})"));
  EXPECT_TRUE(InvMatch(kItem, spec, R"({"updatedAt": "2024-01-15T11:30:00+01:00"})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({"updatedAt": "2024-01-15T10:30:01Z"})"));
  EXPECT_FALSE(InvMatch(kItem, spec, R"({})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"restockLeadTime": "172800s"})",
                       R"({"restockLeadTime": "172800.000s"})"));
}

TEST(Matcher, BytesCompareAsBase64) {
  EXPECT_TRUE(InvMatch(kAdjust, R"({"signature": "AQID"})", R"({"signature": "AQID"})"));
  EXPECT_FALSE(InvMatch(kAdjust, R"({"signature": "AQID"})", R"({"signature": "AQIE"})"));
  // The URL-safe alphabet and missing padding name the same bytes.
  EXPECT_TRUE(InvMatch(kAdjust, R"({"signature": "-_8"})", R"({"signature": "+/8="})"));
}

TEST(Matcher, SixtyFourBitIntegersAsStringsOrNumbersAreExact) {
  for (const char* spec :
       {R"({"quantity": "9007199254740993"})", R"({"quantity": 9007199254740993})"}) {
    EXPECT_TRUE(InvMatch(kItem, spec, R"({"quantity": "9007199254740993"})")) << spec;
    EXPECT_FALSE(InvMatch(kItem, spec, R"({"quantity": "9007199254740992"})")) << spec;
  }
  EXPECT_TRUE(InvMatch(kItem, R"({"totalSold": "18446744073709551615"})",
                       R"({"totalSold": "18446744073709551615"})"));
  EXPECT_FALSE(InvMatch(kItem, R"({"totalSold": "18446744073709551615"})",
                        R"({"totalSold": "18446744073709551614"})"));
  EXPECT_TRUE(InvMatch(kItem, R"({"stockDelta": -5})", R"({"stockDelta": "-5"})"));
  EXPECT_TRUE(
      InvMatch(kItem, R"({"barcode": "4006381333931"})", R"({"barcode": "4006381333931"})"));
  EXPECT_FALSE(
      InvMatch(kItem, R"({"barcode": "4006381333931"})", R"({"barcode": "4006381333932"})"));
}

TEST(Matcher, MetadataTextTarget) {
  Diagnostics diagnostics;
  MatcherCompiler compiler(UserSchema().get(), "test.json", &diagnostics);
  auto regex = compiler.Compile(json::parse(R"({"$regex": "Bearer .+"})"), Target::Text(), "/m");
  auto literal = compiler.Compile(json("abc"), Target::Text(), "/m");
  auto number = compiler.Compile(json(5), Target::Text(), "/m");
  auto type = compiler.Compile(json::parse(R"({"$type": "number"})"), Target::Text(), "/m");
  auto contains = compiler.Compile(json::parse(R"({"$contains": "ear"})"), Target::Text(), "/m");
  ASSERT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  std::string bearer = "Bearer abc", basic = "Basic abc", abc = "abc", five = "5";
  EXPECT_TRUE(regex->Matches(Node::OfText(&bearer), nullptr));
  EXPECT_FALSE(regex->Matches(Node::OfText(&basic), nullptr));
  EXPECT_TRUE(literal->Matches(Node::OfText(&abc), nullptr));
  EXPECT_FALSE(literal->Matches(Node::OfText(&bearer), nullptr));
  EXPECT_TRUE(number->Matches(Node::OfText(&five), nullptr));
  EXPECT_FALSE(type->Matches(Node::OfText(&five), nullptr));  // metadata values are strings
  EXPECT_TRUE(contains->Matches(Node::OfText(&bearer), nullptr));
  EXPECT_FALSE(contains->Matches(Node::OfText(&basic), nullptr));
  Mismatch why;
  EXPECT_FALSE(literal->Matches(Node::OfText(&basic), &why));
  EXPECT_EQ(why.ToString(), "expected \"abc\", got \"Basic abc\"");
}

// --- explanations, specificity, indexing ----------------------------------------------------

TEST(Matcher, MismatchNamesThePointerAndTheReason) {
  EXPECT_EQ(WhyNot(*UserSchema(), kGetUser, R"({"userId": "42"})", R"({"userId": "7"})"),
            "/userId: expected \"42\", got \"7\"");
  EXPECT_EQ(WhyNot(*UserSchema(), kListUsers, R"({"limit": 10})", R"({"limit": 5})"),
            "/limit: expected 10, got 5");
  EXPECT_EQ(
      WhyNot(*UserSchema(), kGetUser, R"({"userId": {"$regex": "4."}})", R"({"userId": "142"})"),
      "/userId: \"142\" does not match /4./");
  EXPECT_EQ(WhyNot(*InventorySchema(), kItem, R"({"price": {"units": "5"}})", R"({})"),
            "/price: expected an object, got unset");
  EXPECT_EQ(WhyNot(*UserSchema(), kListUsers, R"({"limit": {"$gt": 10}})", R"({"limit": 3})"),
            "/limit: expected a number > 10, got 3");
}

int SpecificityOf(const std::string& type, const std::string& spec) {
  auto compiled = CompileSpec(*UserSchema(), type, json::parse(spec));
  EXPECT_NE(compiled.matcher, nullptr) << compiled.Errors();
  return compiled.matcher == nullptr ? -1 : compiled.matcher->Specificity();
}

TEST(Matcher, SpecificityCountsConstraints) {
  EXPECT_EQ(SpecificityOf(kGetUser, R"({})"), 0);
  EXPECT_EQ(SpecificityOf(kGetUser, R"({"userId": {"$any": true}})"), 0);
  EXPECT_EQ(SpecificityOf(kGetUser, R"({"userId": "42"})"), 1);
  EXPECT_EQ(SpecificityOf(kListUsers, R"({"limit": 1, "offset": 2})"), 2);
  EXPECT_EQ(SpecificityOf(kListUsers, R"({"limit": 1, "offset": {"$gt": 0}, "status": 1})"), 3);
  EXPECT_LT(SpecificityOf(kListUsers, R"({"limit": 1})"),
            SpecificityOf(kListUsers, R"({"$exact": {"limit": 1}})"));
  EXPECT_LT(SpecificityOf(kListUsers, R"({"limit": {"$gt": 0}})"),
            SpecificityOf(kListUsers, R"({"limit": {"$gt": 0, "$lt": 9}})"));
}

TEST(Matcher, IndexableFieldForATopLevelLiteral) {
  auto compiled = CompileSpec(*UserSchema(), kGetUser, json::parse(R"({"userId": "42"})"));
  ASSERT_NE(compiled.matcher, nullptr);
  const google::protobuf::FieldDescriptor* field = nullptr;
  std::string key;
  ASSERT_TRUE(compiled.matcher->IndexableField(&field, &key));
  EXPECT_EQ(field->name(), "user_id");
  auto request = ParseMessage(*UserSchema(), kGetUser, R"({"userId": "42"})");
  EXPECT_EQ(IndexKeyOf(*request, field), key);
  auto other = ParseMessage(*UserSchema(), kGetUser, R"({"userId": "43"})");
  EXPECT_NE(IndexKeyOf(*other, field), key);
}

// The key of a literal equals the key of every request it matches.
void ExpectIndexKeyAgrees(const Schema& schema, const std::string& type, const std::string& spec,
                          const std::string& matching, const std::string& other) {
  auto compiled = CompileSpec(schema, type, json::parse(spec));
  ASSERT_NE(compiled.matcher, nullptr) << compiled.Errors();
  const google::protobuf::FieldDescriptor* field = nullptr;
  std::string key;
  ASSERT_TRUE(compiled.matcher->IndexableField(&field, &key)) << spec;
  auto yes = ParseMessage(schema, type, matching);
  auto no = ParseMessage(schema, type, other);
  ASSERT_TRUE(compiled.matcher->Matches(Node::OfMessage(yes.get()), nullptr)) << spec;
  EXPECT_EQ(IndexKeyOf(*yes, field), key) << spec;
  EXPECT_NE(IndexKeyOf(*no, field), key) << spec;
}

TEST(Matcher, IndexKeysAgreeWithMatchingRequests) {
  ExpectIndexKeyAgrees(*UserSchema(), kListUsers, R"({"status": 1})",
                       R"({"status": "USER_STATUS_ACTIVE"})", R"({"status": 2})");
  ExpectIndexKeyAgrees(*UserSchema(), kListUsers, R"({"limit": 7.0})", R"({"limit": 7})",
                       R"({"limit": 8})");
  ExpectIndexKeyAgrees(*InventorySchema(), kItem, R"({"quantity": "007"})", R"({"quantity": "7"})",
                       R"({"quantity": "70"})");
  ExpectIndexKeyAgrees(*InventorySchema(), kItem, R"({"totalSold": "18446744073709551615"})",
                       R"({"totalSold": "18446744073709551615"})",
                       R"({"totalSold": "18446744073709551614"})");
  ExpectIndexKeyAgrees(*InventorySchema(), kAdjust, R"({"signature": "-_8"})",
                       R"({"signature": "+/8="})", R"({"signature": "AQID"})");
  // An unset oneof member has no key a literal has, not even the literal 0.
  ExpectIndexKeyAgrees(*InventorySchema(), kGetItem, R"({"barcode": "0"})", R"({"barcode": "0"})",
                       R"({"sku": "A"})");
  ExpectIndexKeyAgrees(*UserSchema(), kGetUser, R"({"userId": ""})", R"({})", R"({"userId": "1"})");
}

TEST(Matcher, NotIndexableUnlessATopLevelScalarLiteral) {
  const google::protobuf::FieldDescriptor* field = nullptr;
  std::string key;
  for (const auto& [type, spec] : std::vector<std::pair<std::string, std::string>>{
           {kGetUser, R"({"userId": {"$regex": "4."}})"},
           {kGetUser, R"({"userId": {"$oneOf": ["1", "2"]}})"},
           {kGetUser, R"({})"},
           {"user.GetUserResponse", R"({"user": {"id": "1"}})"},
           {"user.OrderItem", R"({"price": 1.5})"},
           {"user.User", R"({"orders": [{"id": "1"}]})"},
           {"user.UpdateUserRequest", R"({"updateMask": "name"})"}}) {
    auto compiled = CompileSpec(*UserSchema(), type, json::parse(spec));
    ASSERT_NE(compiled.matcher, nullptr) << spec << ": " << compiled.Errors();
    EXPECT_FALSE(compiled.matcher->IndexableField(&field, &key)) << spec;
  }
  auto tags = CompileSpec(*InventorySchema(), kItem, json::parse(R"({"tags": ["a"]})"));
  ASSERT_NE(tags.matcher, nullptr);
  EXPECT_FALSE(tags.matcher->IndexableField(&field, &key));
}

// --- enum aliases and proto3 optional (a schema written by the test) -------------------------

namespace fs = std::filesystem;

// probe.proto: an enum with aliases, proto3 `optional` fields and a unary method.
std::shared_ptr<const Schema> ProbeSchema() {
  static const auto* schema = new std::shared_ptr<const Schema>([] {
    // One directory per process: ctest runs the tests of this binary in parallel processes.
    fs::path dir = fs::path(::testing::TempDir()) /
                   ("understudy_matcher_test_probe_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "probe.proto") << R"(syntax = "proto3";
package probe;

enum Level {
  option allow_alias = true;
  LEVEL_UNSPECIFIED = 0;
  LEVEL_HIGH = 1;
  LEVEL_URGENT = 1;
  LEVEL_LOW = 2;
}

message Probe {
  Level level = 1;
  optional string note = 2;
  optional int32 count = 3;
}

message ProbeReply {
  string text = 1;
}

service Probes {
  rpc Check(Probe) returns (ProbeReply);
}
)";
    SchemaOptions options;
    options.proto_files = {(dir / "probe.proto").string()};
    auto loaded = Schema::Load(options);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? std::shared_ptr<const Schema>(std::move(*loaded)) : nullptr;
  }());
  return *schema;
}

::testing::AssertionResult ProbeMatch(const std::string& spec, const std::string& request) {
  auto schema = ProbeSchema();
  if (schema == nullptr) return ::testing::AssertionFailure() << "probe.proto did not load";
  return MatchesIn(*schema, "probe.Probe", spec, request);
}

TEST(Matcher, EnumAliasLiteralMatchesTheAliasedNumber) {
  // A request with 1 reads back as LEVEL_HIGH, the first name of 1; LEVEL_URGENT names it too.
  for (const char* request :
       {R"({"level": 1})", R"({"level": "LEVEL_HIGH"})", R"({"level": "LEVEL_URGENT"})"}) {
    EXPECT_TRUE(ProbeMatch(R"({"level": "LEVEL_URGENT"})", request)) << request;
    EXPECT_TRUE(ProbeMatch(R"({"level": "LEVEL_HIGH"})", request)) << request;
    EXPECT_TRUE(ProbeMatch(R"({"level": {"$oneOf": ["LEVEL_URGENT", "LEVEL_LOW"]}})", request))
        << request;
  }
  EXPECT_FALSE(ProbeMatch(R"({"level": "LEVEL_URGENT"})", R"({"level": "LEVEL_LOW"})"));
  EXPECT_FALSE(ProbeMatch(R"({"level": "LEVEL_URGENT"})", R"({})"));
}

TEST(Matcher, EnumAliasLiteralHasTheIndexKeyOfItsNumber) {
  ASSERT_NE(ProbeSchema(), nullptr);
  ExpectIndexKeyAgrees(*ProbeSchema(), "probe.Probe", R"({"level": "LEVEL_URGENT"})",
                       R"({"level": 1})", R"({"level": 2})");
}

TEST(Matcher, IndexFindsAnEnumAliasLiteral) {
  auto schema = ProbeSchema();
  ASSERT_NE(schema, nullptr);
  auto interaction = [](const std::string& name, const std::string& body) {
    return absl::StrCat(R"({"name": ")", name, R"(", "method": "probe.Probes/Check", )",
                        R"("request": {"body": )", body, "}}");
  };
  std::string all = absl::StrCat(interaction("urgent", R"({"level": "LEVEL_URGENT"})"), ",",
                                 interaction("low", R"({"level": "LEVEL_LOW"})"));
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&all, ",",
                    interaction(absl::StrCat("pad", i),
                                absl::StrCat(R"({"level": "LEVEL_LOW", "note": "pad)", i, "\"}")));
  }
  auto set = InteractionSet::LoadSources(
      schema, {{"probe.json", absl::StrCat(R"({"interactions": [)", all, "]}")}});
  ASSERT_TRUE(set.ok()) << set.status();
  const auto* method = schema->FindMethod("probe.Probes/Check");
  ASSERT_NE(method, nullptr);
  const MethodInteractions* m = (*set)->ForMethod(method);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->indexes.size(), 1u);  // the index is in use, on "level"
  EXPECT_EQ(m->indexes[0].field->name(), "level");
  for (const char* body : {R"({"level": 1})", R"({"level": "LEVEL_URGENT"})"}) {
    auto request = ParseMessage(*schema, "probe.Probe", body);
    MetadataView metadata;
    Request call;
    call.metadata = &metadata;
    call.body = request.get();
    std::string miss;
    const Interaction* chosen = Select(**set, method, call, SelectStage::kWhole, &miss);
    ASSERT_NE(chosen, nullptr) << body << ": " << miss;
    EXPECT_EQ(chosen->name, "urgent") << body;
  }
}

TEST(Matcher, MatchersRejectUnsetOptionalFields) {
  EXPECT_FALSE(ProbeMatch(R"({"note": {"$regex": ".*"}})", R"({})"));
  EXPECT_FALSE(ProbeMatch(R"({"note": {"$type": "string"}})", R"({})"));
  EXPECT_FALSE(ProbeMatch(R"({"note": {"$contains": ""}})", R"({})"));
  EXPECT_FALSE(ProbeMatch(R"({"count": {"$lte": 0}})", R"({})"));
  EXPECT_FALSE(ProbeMatch(R"({"count": {"$type": "integer"}})", R"({})"));
  EXPECT_TRUE(ProbeMatch(R"({"note": {"$any": true}})", R"({})"));
  EXPECT_TRUE(ProbeMatch(R"({"count": {"$absent": true}})", R"({})"));
  // Set to their defaults, they are present.
  EXPECT_TRUE(ProbeMatch(R"({"note": {"$regex": ".*"}})", R"({"note": ""})"));
  EXPECT_TRUE(ProbeMatch(R"({"note": {"$contains": ""}})", R"({"note": ""})"));
  EXPECT_TRUE(ProbeMatch(R"({"count": {"$lte": 0}})", R"({"count": 0})"));
  EXPECT_TRUE(ProbeMatch(R"({"count": {"$type": "integer"}})", R"({"count": 0})"));
  EXPECT_FALSE(ProbeMatch(R"({"count": {"$absent": true}})", R"({"count": 0})"));
}

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
