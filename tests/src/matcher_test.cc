// Matchers of interaction specs: $regex, $type, $any/$absent, $contains, comparisons, arrays.
#include "src/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "src/value.h"
#include "tests/src/matcher_test_util.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using testing_util::InvMatch;
using testing_util::InventorySchema;
using testing_util::ParseMessage;
using testing_util::UserMatch;
using testing_util::WhyNot;
using testing_util::kAdjust;
using testing_util::kGetItem;
using testing_util::kGetUser;
using testing_util::kItem;
using testing_util::kListUsers;
using testing_util::kSearch;

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

TEST(Matcher, UnorderedNamesTheMatcherNoElementFits) {
  const char* spec = R"({"tags": {"$unordered": ["a", "z"]}})";
  EXPECT_THAT(WhyNot(*InventorySchema(), kItem, spec, R"({"tags": ["a", "b"]})"),
              HasSubstr("no element matches $unordered/1"));
  // Every matcher fits some element, but two want the same one.
  EXPECT_THAT(WhyNot(*InventorySchema(), kItem, R"({"tags": {"$unordered": ["a", "a"]}})",
                     R"({"tags": ["a", "b"]})"),
              HasSubstr("at most 1 of 2 elements pair"));
}

// Backtracking over orders takes factorial time on these; a bipartite matching is instant. The
// bound is generous: only exponential behaviour can break it.
TEST(Matcher, UnorderedOfTwoHundredOverlappingElementsIsQuick) {
  // Every matcher fits some element; 101 literals "a" want the 100 "a"s.
  json adversarial = json::array();
  json spec = json::array();  // the same with 100 literals: pairs, but not greedily
  json tags = json::array();
  for (int i = 0; i < 200; ++i) {
    adversarial.push_back(i < 101 ? json("a") : json{{"$regex", "a.*"}});
    spec.push_back(i < 100 ? json{{"$regex", "a.*"}} : json("a"));
    tags.push_back(i < 100 ? "a" : "ab");  // the "a"s first: a greedy regex takes them
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(WhyNot(*InventorySchema(), kItem,
                     json{{"tags", {{"$unordered", adversarial}}}}.dump(),
                     json{{"tags", tags}}.dump()),
              HasSubstr("at most 199 of 200 elements pair"));
  EXPECT_TRUE(InvMatch(kItem, json{{"tags", {{"$unordered", spec}}}}.dump(),
                       json{{"tags", tags}}.dump()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// The matching against a brute-force search over every order, on random small arrays.
TEST(Matcher, UnorderedAgreesWithBruteForceOnRandomArrays) {
  struct Choice {
    json spec;
    std::function<bool(const std::string&)> fits;
  };
  const std::vector<Choice> choices = {
      {"a", [](const std::string& s) { return s == "a"; }},
      {"ab", [](const std::string& s) { return s == "ab"; }},
      {json{{"$regex", "a.*"}}, [](const std::string& s) { return s[0] == 'a'; }},
      {json{{"$regex", "b|ab"}}, [](const std::string& s) { return s == "b" || s == "ab"; }},
      {json{{"$contains", "b"}}, [](const std::string& s) { return s.find('b') != s.npos; }},
      {json{{"$type", "string"}}, [](const std::string&) { return true; }},
  };
  const std::vector<std::string> values = {"a", "ab", "b", "c"};
  std::mt19937 random(15);
  for (int round = 0; round < 300; ++round) {
    const size_t n = 1 + random() % 6;
    json spec = json::array(), tags = json::array();
    std::vector<size_t> picked;
    std::vector<std::string> actual;
    for (size_t i = 0; i < n; ++i) {
      picked.push_back(random() % choices.size());
      spec.push_back(choices[picked.back()].spec);
      actual.push_back(values[random() % values.size()]);
      tags.push_back(actual.back());
    }
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    bool brute = false;
    do {
      bool all = true;
      for (size_t i = 0; i < n && all; ++i) all = choices[picked[i]].fits(actual[order[i]]);
      brute = brute || all;
    } while (!brute && std::next_permutation(order.begin(), order.end()));
    EXPECT_EQ(static_cast<bool>(InvMatch(kItem, json{{"tags", {{"$unordered", spec}}}}.dump(),
                                         json{{"tags", tags}}.dump())),
              brute)
        << spec.dump() << " against " << tags.dump();
  }
}

// Matchers that hold others ($oneOf in $unordered, $each beside $contains) test each inner
// matcher once per pair or element: no combination multiplies into an exponential.
TEST(Matcher, NestedCombinationsOfArrayMatchersAreQuick) {
  json alternatives = json::array({json{{"$regex", "x.*"}}, json{{"$contains", "a"}}, "a"});
  json spec = json::array();
  json tags = json::array();
  for (int i = 0; i < 40; ++i) {
    spec.push_back(json{{"$oneOf", alternatives}});
    tags.push_back(i % 2 == 0 ? "a" : "ba");
  }
  spec[39] = "zzz";
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(InvMatch(kItem, json{{"tags", {{"$unordered", spec}}}}.dump(),
                        json{{"tags", tags}}.dump()));
  EXPECT_FALSE(InvMatch(
      kItem, json{{"tags", {{"$each", {{"$oneOf", alternatives}}}, {"$contains", "zzz"}}}}.dump(),
      json{{"tags", tags}}.dump()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace understudy
