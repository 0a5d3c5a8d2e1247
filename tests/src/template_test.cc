#include "src/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/src/test_util.h"

namespace understudy {
namespace {

using ::testing::HasSubstr;
using testing_util::InventorySchema;
using testing_util::ParseMessage;
using testing_util::UserSchema;

// Compiles `text` against `type` of `schema` (which must succeed) and renders it for a request
// whose body is `body` (JSON text) and whose metadata is `metadata`.
std::string Render(const Schema& schema, const std::string& type, const std::string& text,
                   const std::string& body, const MetadataView& metadata = {}) {
  std::string error;
  auto t = Template::Compile(text, schema.FindMessage(type), &error);
  EXPECT_TRUE(t.has_value()) << text << ": " << error;
  if (!t) return "<did not compile>";
  auto message = ParseMessage(schema, type, body);
  Request request;
  request.metadata = &metadata;
  request.body = message.get();
  return t->Render(request);
}

std::string CompileError(const Schema& schema, const std::string& type, const std::string& text) {
  std::string error;
  auto t = Template::Compile(text, schema.FindMessage(type), &error);
  EXPECT_FALSE(t.has_value()) << text;
  return error;
}

TEST(Template, BodyPathByJsonAndProtoNames) {
  EXPECT_EQ(Render(*UserSchema(), "user.GetUserRequest",
                   "id={{request.body.userId}}/{{request.body.user_id}}", R"({"userId": "42"})"),
            "id=42/42");
  EXPECT_EQ(Render(*UserSchema(), "user.GetUserRequest", "{{ request.body.userId }}!",
                   R"({"userId": "7"})"),
            "7!");
}

TEST(Template, NestedFields) {
  const char* body = R"({"upsert": {"sku": "S", "price": {"currencyCode": "EUR", "units": "3"}}})";
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.SyncRequest",
                   "{{request.body.upsert.price.units}} {{request.body.upsert.price.currencyCode}}",
                   body),
            "3 EUR");
  // An unset message on the way renders as nothing.
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.SyncRequest",
                   "[{{request.body.upsert.price.currencyCode}}]", R"({"deleteSku": "S"})"),
            "[]");
}

TEST(Template, RepeatedIndex) {
  const char* type = "inventory.v1.SearchItemsRequest";
  EXPECT_EQ(Render(*InventorySchema(), type, "{{request.body.tags.0}},{{request.body.tags.1}}",
                   R"({"tags": ["a", "b"]})"),
            "a,b");
  EXPECT_EQ(Render(*InventorySchema(), type, "[{{request.body.tags.5}}]", R"({"tags": ["a"]})"),
            "[]");
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.SyncRequest",
                   "{{request.body.upsert.stockByWarehouse.ber-1.bins.1.code}}",
                   R"({"upsert": {"stockByWarehouse": {"ber-1": {"bins": [{"code": "A-01"},
                       {"code": "A-02"}]}}}})"),
            "A-02");
}

TEST(Template, MapKey) {
  const char* type = "inventory.v1.SearchItemsRequest";
  EXPECT_EQ(Render(*InventorySchema(), type, "{{request.body.attributes.color}}",
                   R"({"attributes": {"size": "L", "color": "red"}})"),
            "red");
  EXPECT_EQ(Render(*InventorySchema(), type, "[{{request.body.attributes.color}}]",
                   R"({"attributes": {"size": "L"}})"),
            "[]");
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.SyncRequest",
                   "{{request.body.upsert.stockByWarehouse.muc-2.onHand}}",
                   R"({"upsert": {"stockByWarehouse": {"ber-1": {"onHand": "1"},
                       "muc-2": {"onHand": "300"}}}})"),
            "300");
}

TEST(Template, MetadataKeyWithDashes) {
  MetadataView metadata = {{"x-request-id", "abc-123"}, {"x.dotted", "d"}};
  EXPECT_EQ(Render(*UserSchema(), "user.GetUserRequest",
                   "{{request.metadata.x-request-id}}|{{request.metadata.x.dotted}}|"
                   "[{{request.metadata.absent}}]",
                   "{}", metadata),
            "abc-123|d|[]");
}

TEST(Template, StreamIndex) {
  const auto& schema = *UserSchema();
  std::string error;
  auto t = Template::Compile(
      "{{request.stream.0.name}} then {{request.stream.1.name}}"
      "[{{request.stream.5.name}}]",
      schema.FindMessage("user.CreateUserRequest"), &error);
  ASSERT_TRUE(t.has_value()) << error;
  std::vector<std::unique_ptr<google::protobuf::Message>> stream;
  stream.push_back(ParseMessage(schema, "user.CreateUserRequest", R"({"name": "Ada"})"));
  stream.push_back(ParseMessage(schema, "user.CreateUserRequest", R"({"name": "Grace"})"));
  Request request;
  request.stream = &stream;
  EXPECT_EQ(t->Render(request), "Ada then Grace[]");
  EXPECT_EQ(t->Render(Request{}), " then []");  // no stream at all
  EXPECT_THAT(CompileError(schema, "user.CreateUserRequest", "{{request.stream.x.name}}"),
              HasSubstr("not a message index"));
}

TEST(Template, UnknownFieldIsACompileError) {
  EXPECT_EQ(CompileError(*UserSchema(), "user.GetUserRequest", "{{request.body.userid}}"),
            "no field \"userid\" in user.GetUserRequest (did you mean \"userId\"?)");
  EXPECT_THAT(CompileError(*InventorySchema(), "inventory.v1.SyncRequest",
                           "{{request.body.upsert.price.unitz}}"),
              HasSubstr("inventory.v1.Money"));
}

TEST(Template, AWholeMessageIsACompileErrorNamingIt) {
  const auto& inventory = *InventorySchema();
  std::string error =
      CompileError(inventory, "inventory.v1.SyncRequest", "{{request.body.upsert}}");
  EXPECT_THAT(error, HasSubstr("\"upsert\""));
  EXPECT_THAT(error, HasSubstr("inventory.v1.Item message"));
  EXPECT_THAT(CompileError(inventory, "inventory.v1.SyncRequest", "{{request.body.upsert.price}}"),
              HasSubstr("inventory.v1.Money"));
  EXPECT_THAT(CompileError(inventory, "inventory.v1.SyncRequest",
                           "{{request.body.upsert.stockByWarehouse.ber-1}}"),
              HasSubstr("inventory.v1.WarehouseStock"));
  EXPECT_THAT(CompileError(*UserSchema(), "user.GetUserResponse", "{{request.body.user.orders.0}}"),
              HasSubstr("user.Order"));
  EXPECT_THAT(CompileError(inventory, "inventory.v1.StockAdjustment", "{{request.stream.0.order}}"),
              HasSubstr("inventory.v1.OrderRef"));
  // Well-known types print as values and may be quoted whole.
  EXPECT_EQ(Render(inventory, "inventory.v1.SyncRequest", "{{request.body.upsert.updatedAt}}",
                   R"({"upsert": {"updatedAt": "2024-01-15T10:30:00Z"}})"),
            "2024-01-15T10:30:00Z");
  EXPECT_EQ(
      Render(inventory, "inventory.v1.SyncRequest", "{{request.body.upsert.reorderThreshold}}",
             R"({"upsert": {"reorderThreshold": 5}})"),
      "5");
}

TEST(Template, MalformedExpressionsAreCompileErrors) {
  const auto& schema = *UserSchema();
  EXPECT_THAT(CompileError(schema, "user.GetUserRequest", "{{request.body.userId"),
              HasSubstr("unclosed"));
  EXPECT_THAT(CompileError(schema, "user.GetUserRequest", "{{response.body.userId}}"),
              HasSubstr("unknown template"));
  EXPECT_THAT(CompileError(schema, "user.GetUserRequest", "{{request.body}}"),
              HasSubstr("unknown template"));
  EXPECT_THAT(CompileError(schema, "user.GetUserRequest", "{{request.body.userId.length}}"),
              HasSubstr("not a message"));
  EXPECT_THAT(
      CompileError(*InventorySchema(), "inventory.v1.SearchItemsRequest", "{{request.body.tags}}"),
      HasSubstr("needs an index or key"));
  EXPECT_THAT(CompileError(*InventorySchema(), "inventory.v1.SearchItemsRequest",
                           "{{request.body.tags.first}}"),
              HasSubstr("should be an index"));
}

TEST(Template, UnsetFieldsRenderTheirDefaults) {
  EXPECT_EQ(Render(*UserSchema(), "user.ListUsersRequest",
                   "{{request.body.limit}}|{{request.body.status}}", "{}"),
            "0|USER_STATUS_UNSPECIFIED");
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.GetItemRequest",
                   "{{request.body.includeStock}}|[{{request.body.sku}}]", "{}"),
            "false|[]");
  // No request message at all (e.g. a bidi call before its first message).
  std::string error;
  auto t = Template::Compile("[{{request.body.userId}}]",
                             UserSchema()->FindMessage("user.GetUserRequest"), &error);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->Render(Request{}), "[]");
}

TEST(Template, RendersValuesAsTheJsonMappingPrintsThem) {
  EXPECT_EQ(
      Render(*UserSchema(), "user.ListUsersRequest",
             "{{request.body.limit}} {{request.body.status}}", R"({"limit": 10, "status": 1})"),
      "10 USER_STATUS_ACTIVE");
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.GetItemRequest",
                   "{{request.body.includeStock}} {{request.body.barcode}}",
                   R"({"includeStock": true, "barcode": "18446744073709551615"})"),
            "true 18446744073709551615");
  const char* upsert = R"({"upsert": {"quantity": "9007199254740993", "stockDelta": "-4",
      "dimensions": {"lengthCm": 2.5}, "thumbnail": "AQID", "updatedAt": "2024-01-15T10:30:00Z",
      "restockLeadTime": "1.5s", "reorderThreshold": 5, "condition": "ITEM_CONDITION_USED"}})";
  EXPECT_EQ(Render(*InventorySchema(), "inventory.v1.SyncRequest",
                   "{{request.body.upsert.quantity}} {{request.body.upsert.stockDelta}} "
                   "{{request.body.upsert.dimensions.lengthCm}} {{request.body.upsert.thumbnail}} "
                   "{{request.body.upsert.updatedAt}} {{request.body.upsert.restockLeadTime}} "
                   "{{request.body.upsert.reorderThreshold}} {{request.body.upsert.condition}}",
                   upsert),
            "9007199254740993 -4 2.5 AQID 2024-01-15T10:30:00Z 1.500s 5 ITEM_CONDITION_USED");
}

TEST(Template, LiteralsAndContains) {
  std::string error;
  auto literal = Template::Compile("plain text", nullptr, &error);
  ASSERT_TRUE(literal.has_value());
  EXPECT_TRUE(literal->IsLiteral());
  EXPECT_EQ(literal->Render(Request{}), "plain text");
  auto templated = Template::Compile("a {{request.metadata.k}}", nullptr, &error);
  ASSERT_TRUE(templated.has_value()) << error;
  EXPECT_FALSE(templated->IsLiteral());
  EXPECT_TRUE(Template::Contains("x {{y}}"));
  EXPECT_FALSE(Template::Contains("x { {y}"));
  auto empty = Template::Compile("", nullptr, &error);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->Render(Request{}), "");
}

}  // namespace
}  // namespace understudy
