// Matchers of interaction specs: $oneOf, $exact, $eq and literals of every field kind.
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
using testing_util::InvMatch;
using testing_util::InventorySchema;
using testing_util::UserMatch;
using testing_util::UserSchema;
using testing_util::WhyNot;
using testing_util::kAdjust;
using testing_util::kGetItem;
using testing_util::kGetUser;
using testing_util::kItem;
using testing_util::kListUsers;
using testing_util::kSearch;

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

}  // namespace
}  // namespace understudy
