// Matchers of interaction specs: explanations, specificity, index keys; enum aliases and proto3
// optional fields.
#include "src/matcher.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/interaction_set.h"
#include "src/selector.h"
#include "src/value.h"
#include "tests/src/matcher_test_util.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using json = nlohmann::json;
using testing_util::CompileSpec;
using testing_util::InventorySchema;
using testing_util::MatchesIn;
using testing_util::ParseMessage;
using testing_util::UserSchema;
using testing_util::WhyNot;
using testing_util::kAdjust;
using testing_util::kGetItem;
using testing_util::kGetUser;
using testing_util::kItem;
using testing_util::kListUsers;

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

}  // namespace
}  // namespace understudy
