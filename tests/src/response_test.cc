#include "src/response.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using testing_util::InventorySchema;
using testing_util::ParseMessage;
using testing_util::UserSchema;

// Compile-time context for responses to requests of `request_type`.
struct Fixture {
  Fixture(std::shared_ptr<const Schema> s, const std::string& request_type)
      : schema(std::move(s)),
        context{schema.get(), "test.json", &diagnostics, schema->FindMessage(request_type)} {}

  std::optional<ResponseMessage> Compile(const std::string& type, const std::string& body) {
    return ResponseMessage::Compile(json::parse(body), schema->FindMessage(type), context,
                                    "/response/body");
  }

  // The response `bytes` parsed as `type`, in the JSON mapping's canonical form.
  std::unique_ptr<google::protobuf::Message> Decode(const std::string& type,
                                                    const std::string& bytes) {
    auto message = schema->NewMessage(schema->FindMessage(type));
    EXPECT_TRUE(message->ParseFromString(bytes));
    return message;
  }

  std::shared_ptr<const Schema> schema;
  Diagnostics diagnostics;
  ResponseContext context;
};

::testing::AssertionResult SameMessage(const google::protobuf::Message& actual,
                                       const google::protobuf::Message& expected) {
  if (google::protobuf::util::MessageDifferencer::Equals(actual, expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << actual.ShortDebugString() << "\nexpected " << expected.ShortDebugString();
}

Request RequestWith(const google::protobuf::Message* body, const MetadataView* metadata = nullptr) {
  Request request;
  request.body = body;
  request.metadata = metadata;
  return request;
}

// --- ResponseMessage ------------------------------------------------------------------------

TEST(ResponseMessage, WithoutTemplatesSendsFixedBytes) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  const char* body = R"({"user": {"id": "42", "name": "Ada", "status": "USER_STATUS_ACTIVE",
                         "createdAt": "2024-01-15T10:30:00Z",
                         "orders": [{"id": "o1", "total": 59.97}]}})";
  auto response = f.Compile("user.GetUserResponse", body);
  ASSERT_TRUE(response.has_value()) << f.diagnostics.ToStatus();
  EXPECT_FALSE(response->HasTemplates());
  std::string expected;
  ASSERT_TRUE(ParseMessage(*f.schema, "user.GetUserResponse", body)->SerializeToString(&expected));
  EXPECT_EQ(response->fixed_bytes(), expected);
  auto rendered = response->Render(Request{});
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(*rendered, expected);
}

TEST(ResponseMessage, TemplatesRenderRequestValues) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto response = f.Compile("user.GetUserResponse", R"({"user": {
      "id": "{{request.body.userId}}",
      "name": "User {{request.body.userId}}",
      "email": "fixed@example.com",
      "status": "{{request.metadata.x-status}}",
      "createdAt": "{{request.metadata.x-time}}",
      "orders": [{"id": "o-{{request.body.userId}}", "items": [{"quantity": "{{request.body.userId}}"}]}]}})");
  ASSERT_TRUE(response.has_value()) << f.diagnostics.ToStatus();
  EXPECT_TRUE(response->HasTemplates());
  auto request = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "42"})");
  MetadataView metadata = {{"x-status", "USER_STATUS_SUSPENDED"},
                           {"x-time", "2024-05-01T12:00:00Z"}};
  auto bytes = response->Render(RequestWith(request.get(), &metadata));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(SameMessage(*f.Decode("user.GetUserResponse", *bytes),
                          *ParseMessage(*f.schema, "user.GetUserResponse", R"({"user": {
      "id": "42", "name": "User 42", "email": "fixed@example.com",
      "status": "USER_STATUS_SUSPENDED", "createdAt": "2024-05-01T12:00:00Z",
      "orders": [{"id": "o-42", "items": [{"quantity": 42}]}]}})")));
  // The prototype is not changed by a call.
  auto other = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "7"})");
  MetadataView other_metadata = {{"x-status", "2"}, {"x-time", "2024-05-02T00:00:00Z"}};
  bytes = response->Render(RequestWith(other.get(), &other_metadata));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(SameMessage(*f.Decode("user.GetUserResponse", *bytes),
                          *ParseMessage(*f.schema, "user.GetUserResponse", R"({"user": {
      "id": "7", "name": "User 7", "email": "fixed@example.com",
      "status": "USER_STATUS_INACTIVE", "createdAt": "2024-05-02T00:00:00Z",
      "orders": [{"id": "o-7", "items": [{"quantity": 7}]}]}})")));
}

TEST(ResponseMessage, TemplatesFillRepeatedMapAndWrapperFields) {
  Fixture f(InventorySchema(), "inventory.v1.StockAdjustment");
  auto response = f.Compile("inventory.v1.AdjustStockSummary", R"({
      "adjustmentsApplied": "1",
      "netChange": "{{request.body.delta}}",
      "netChangeBySku": {"{{not a template key}}": "1", "SKU-1": "{{request.body.delta}}"},
      "committedAt": "2024-01-15T10:40:00Z"})");
  ASSERT_TRUE(response.has_value()) << f.diagnostics.ToStatus();
  auto request = ParseMessage(*f.schema, "inventory.v1.StockAdjustment",
                              R"({"sku": "SKU-1", "delta": "-9007199254740993"})");
  auto bytes = response->Render(RequestWith(request.get()));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(SameMessage(*f.Decode("inventory.v1.AdjustStockSummary", *bytes),
                          *ParseMessage(*f.schema, "inventory.v1.AdjustStockSummary", R"({
      "adjustmentsApplied": "1", "netChange": "-9007199254740993",
      "netChangeBySku": {"{{not a template key}}": "1", "SKU-1": "-9007199254740993"},
      "committedAt": "2024-01-15T10:40:00Z"})")));

  Fixture g(InventorySchema(), "inventory.v1.SearchItemsRequest");
  auto item = g.Compile("inventory.v1.SearchItemsResponse", R"({"items": [{
      "tags": ["fixed", "{{request.body.query}}"], "reorderThreshold": "{{request.body.pageSize}}",
      "supplierNote": "{{request.body.query}}", "condition": "{{request.body.condition}}"}]})");
  ASSERT_TRUE(item.has_value()) << g.diagnostics.ToStatus();
  auto search =
      ParseMessage(*g.schema, "inventory.v1.SearchItemsRequest",
                   R"({"query": "lamp", "pageSize": 25, "condition": "ITEM_CONDITION_USED"})");
  bytes = item->Render(RequestWith(search.get()));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(
      SameMessage(*g.Decode("inventory.v1.SearchItemsResponse", *bytes),
                  *ParseMessage(*g.schema, "inventory.v1.SearchItemsResponse", R"({"items": [{
      "tags": ["fixed", "lamp"], "reorderThreshold": 25, "supplierNote": "lamp",
      "condition": "ITEM_CONDITION_USED"}]})")));
}

TEST(ResponseMessage, RenderedTextThatIsNotANumberIsAnError) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto response =
      f.Compile("user.ListUsersResponse", R"({"totalCount": "{{request.body.userId}}"})");
  ASSERT_TRUE(response.has_value()) << f.diagnostics.ToStatus();
  auto twelve = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "12"})");
  auto bytes = response->Render(RequestWith(twelve.get()));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(
      SameMessage(*f.Decode("user.ListUsersResponse", *bytes),
                  *ParseMessage(*f.schema, "user.ListUsersResponse", R"({"totalCount": 12})")));

  auto abc = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "abc"})");
  bytes = response->Render(RequestWith(abc.get()));
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("/response/body/totalCount"));
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("\"abc\""));
}

TEST(ResponseMessage, RenderedNumberOutOfRangeFor32BitFieldIsAnError) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto response =
      f.Compile("user.ListUsersResponse", R"({"totalCount": "{{request.body.userId}}"})");
  ASSERT_TRUE(response.has_value()) << f.diagnostics.ToStatus();
  // 3000000000 does not fit an int32: it must not be sent as a wrapped-around number.
  auto big = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "3000000000"})");
  auto bytes = response->Render(RequestWith(big.get()));
  EXPECT_FALSE(bytes.ok()) << "sent "
                           << (bytes.ok()
                                   ? f.Decode("user.ListUsersResponse", *bytes)->ShortDebugString()
                                   : "");
  // The same for a uint32 (WarehouseStock.Bin.count).
  Fixture g(InventorySchema(), "inventory.v1.SearchItemsRequest");
  auto item =
      g.Compile("inventory.v1.Item",
                R"({"stockByWarehouse": {"w": {"bins": [{"count": "{{request.body.query}}"}]}}})");
  ASSERT_TRUE(item.has_value()) << g.diagnostics.ToStatus();
  auto huge =
      ParseMessage(*g.schema, "inventory.v1.SearchItemsRequest", R"({"query": "5000000000"})");
  bytes = item->Render(RequestWith(huge.get()));
  EXPECT_FALSE(bytes.ok()) << "sent "
                           << (bytes.ok()
                                   ? g.Decode("inventory.v1.Item", *bytes)->ShortDebugString()
                                   : "");
}

TEST(ResponseMessage, TemplateIntoBytesFieldDecodesBase64) {
  // A bytes field renders as base64 (its JSON form); filling a bytes field reads it back so.
  Fixture f(InventorySchema(), "inventory.v1.StockAdjustment");
  auto response = f.Compile("inventory.v1.Item", R"({"thumbnail": "{{request.body.signature}}"})");
  ASSERT_TRUE(response.has_value()) << f.diagnostics.ToStatus();
  auto request =
      ParseMessage(*f.schema, "inventory.v1.StockAdjustment", R"({"signature": "AQID"})");
  auto bytes = response->Render(RequestWith(request.get()));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(
      SameMessage(*f.Decode("inventory.v1.Item", *bytes),
                  *ParseMessage(*f.schema, "inventory.v1.Item", R"({"thumbnail": "AQID"})")));
}

TEST(ResponseMessage, RenderedTextThatIsNotAnEnumOrTimestampIsAnError) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto status =
      f.Compile("user.GetUserResponse", R"({"user": {"status": "{{request.body.userId}}"}})");
  auto time =
      f.Compile("user.GetUserResponse", R"({"user": {"createdAt": "{{request.body.userId}}"}})");
  ASSERT_TRUE(status.has_value() && time.has_value()) << f.diagnostics.ToStatus();
  auto request =
      ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "USER_STATUS_GONE"})");
  auto bytes = status->Render(RequestWith(request.get()));
  ASSERT_FALSE(bytes.ok());
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("user.UserStatus"));
  bytes = time->Render(RequestWith(request.get()));
  ASSERT_FALSE(bytes.ok());
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr("timestamp"));
}

TEST(ResponseMessage, CompileErrorsPointAtTheCulprit) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  EXPECT_FALSE(f.Compile("user.GetUserResponse", R"({"user": {"id": "{{request.body.usrId}}"}})"));
  EXPECT_FALSE(f.Compile("user.GetUserResponse", R"({"user": "{{request.body.userId}}"})"));
  EXPECT_FALSE(f.Compile("user.GetUserResponse", R"({"user": {"nmae": "Ada"}})"));
  ASSERT_EQ(f.diagnostics.size(), 3u) << f.diagnostics.ToStatus();
  EXPECT_EQ(f.diagnostics.items()[0].pointer, "/response/body/user/id");
  EXPECT_THAT(f.diagnostics.items()[0].message, HasSubstr("did you mean \"userId\""));
  EXPECT_EQ(f.diagnostics.items()[1].pointer, "/response/body/user");
  EXPECT_THAT(f.diagnostics.items()[1].message, HasSubstr("templates cannot fill"));
  EXPECT_EQ(f.diagnostics.items()[2].pointer, "/response/body/user/nmae");
  EXPECT_EQ(f.diagnostics.items()[2].message,
            "no field \"nmae\" in user.User (did you mean \"name\"?)");
}

// --- status ---------------------------------------------------------------------------------

TEST(ResponseStatus, CodeByNameOrNumber) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  for (const char* spec : {R"({"code": "NOT_FOUND"})", R"({"code": 5})", R"({"code": "5"})"}) {
    auto status = CompileStatus(json::parse(spec), f.context, "/response/status");
    ASSERT_TRUE(status.has_value()) << spec << ": " << f.diagnostics.ToStatus();
    EXPECT_EQ(status->code, 5) << spec;
  }
  auto ok = CompileStatus(json(), f.context, "/response/status");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->code, 0);
  EXPECT_EQ(StatusCodeFromName("OK"), 0);
  EXPECT_EQ(StatusCodeFromName("UNAUTHENTICATED"), 16);
  EXPECT_EQ(StatusCodeFromName("17"), -1);
  EXPECT_EQ(StatusCodeFromName("not_found"), -1);
  EXPECT_STREQ(StatusCodeName(14), "UNAVAILABLE");
}

TEST(ResponseStatus, UnknownCodeSuggestsTheClosest) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  EXPECT_FALSE(
      CompileStatus(json::parse(R"({"code": "NOT_FOUN"})"), f.context, "/response/status"));
  EXPECT_FALSE(CompileStatus(json::parse(R"({"code": 17})"), f.context, "/response/status"));
  EXPECT_FALSE(
      CompileStatus(json::parse(R"({"code": 5, "mesage": "x"})"), f.context, "/response/status"));
  ASSERT_EQ(f.diagnostics.size(), 3u) << f.diagnostics.ToStatus();
  EXPECT_EQ(f.diagnostics.items()[0].pointer, "/response/status/code");
  EXPECT_THAT(f.diagnostics.items()[0].message, HasSubstr("\"NOT_FOUN\""));
  EXPECT_THAT(f.diagnostics.items()[0].message, HasSubstr("did you mean \"NOT_FOUND\"?"));
  EXPECT_EQ(f.diagnostics.items()[1].pointer, "/response/status/code");
  EXPECT_EQ(f.diagnostics.items()[2].pointer, "/response/status/mesage");
  EXPECT_THAT(f.diagnostics.items()[2].message, HasSubstr("did you mean \"message\"?"));
}

TEST(ResponseStatus, MessageMayQuoteTheRequest) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto status = CompileStatus(
      json::parse(R"({"code": "NOT_FOUND", "message": "user {{request.body.userId}} not found"})"),
      f.context, "/response/status");
  ASSERT_TRUE(status.has_value()) << f.diagnostics.ToStatus();
  auto request = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "404"})");
  EXPECT_EQ(status->message.Render(RequestWith(request.get())), "user 404 not found");
  auto details = status->DetailsBin(RequestWith(request.get()), "user 404 not found");
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(*details, "");  // no details, no grpc-status-details-bin
}

TEST(ResponseStatus, DetailsEncodeAGoogleRpcStatus) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto status = CompileStatus(json::parse(R"({
      "code": "NOT_FOUND",
      "message": "gone",
      "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "USER_MISSING",
         "domain": "example.com", "metadata": {"id": "{{request.body.userId}}"}},
        {"@type": "type.googleapis.com/google.rpc.BadRequest",
         "fieldViolations": [{"field": "user_id", "description": "no user {{request.body.userId}}"}]}
      ]})"),
                              f.context, "/response/status");
  ASSERT_TRUE(status.has_value()) << f.diagnostics.ToStatus();
  auto request = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "42"})");
  auto bin = status->DetailsBin(RequestWith(request.get()), "gone");
  ASSERT_TRUE(bin.ok()) << bin.status();
  google::rpc::Status decoded;
  ASSERT_TRUE(decoded.ParseFromString(*bin));
  EXPECT_EQ(decoded.code(), 5);
  EXPECT_EQ(decoded.message(), "gone");
  ASSERT_EQ(decoded.details_size(), 2);
  EXPECT_EQ(decoded.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(decoded.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "USER_MISSING");
  EXPECT_EQ(info.domain(), "example.com");
  EXPECT_EQ(info.metadata().at("id"), "42");
  EXPECT_EQ(decoded.details(1).type_url(), "type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(decoded.details(1).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).description(), "no user 42");
}

TEST(ResponseStatus, DetailsMayUseWellKnownTypesAndSchemaMessages) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto status = CompileStatus(json::parse(R"({"code": 9, "details": [
      {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": "why"},
      {"@type": "type.googleapis.com/user.User", "id": "{{request.body.userId}}"}]})"),
                              f.context, "/response/status");
  ASSERT_TRUE(status.has_value()) << f.diagnostics.ToStatus();
  auto request = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "3"})");
  auto bin = status->DetailsBin(RequestWith(request.get()), "");
  ASSERT_TRUE(bin.ok()) << bin.status();
  google::rpc::Status decoded;
  ASSERT_TRUE(decoded.ParseFromString(*bin));
  EXPECT_EQ(decoded.code(), 9);
  EXPECT_EQ(decoded.message(), "");
  ASSERT_EQ(decoded.details_size(), 2);
  google::protobuf::StringValue value;
  ASSERT_TRUE(decoded.details(0).UnpackTo(&value));
  EXPECT_EQ(value.value(), "why");
  auto user = f.Decode("user.User", decoded.details(1).value());
  EXPECT_TRUE(SameMessage(*user, *ParseMessage(*f.schema, "user.User", R"({"id": "3"})")));
}

TEST(ResponseStatus, BadDetailsAreReported) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  EXPECT_FALSE(CompileStatus(json::parse(R"({"code": 5, "details": [
      {"@type": "type.googleapis.com/google.rpc.NoSuchDetail"},
      {"reason": "no @type"},
      {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reasn": "x"}]})"),
                             f.context, "/response/status"));
  EXPECT_FALSE(CompileStatus(
      json::parse(R"({"details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo"}]})"),
      f.context, "/s"));
  ASSERT_EQ(f.diagnostics.size(), 4u) << f.diagnostics.ToStatus();
  EXPECT_EQ(f.diagnostics.items()[0].pointer, "/response/status/details/0/@type");
  EXPECT_EQ(f.diagnostics.items()[1].pointer, "/response/status/details/1");
  EXPECT_EQ(f.diagnostics.items()[2].pointer, "/response/status/details/2/reasn");
  EXPECT_THAT(f.diagnostics.items()[2].message, HasSubstr("google.rpc.ErrorInfo"));
  EXPECT_EQ(f.diagnostics.items()[3].pointer, "/s/details");
  EXPECT_THAT(f.diagnostics.items()[3].message, HasSubstr("non-OK"));
}

// --- headers and trailers -------------------------------------------------------------------

TEST(ResponseMetadata, BinValuesAreDecodedFromBase64) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto entries = CompileMetadata(json::parse(R"({"x-trace-bin": "AAH/", "x-plain": "AAH/"})"),
                                 f.context, "/response/headers");
  ASSERT_TRUE(f.diagnostics.empty()) << f.diagnostics.ToStatus();
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    if (e.key == "x-trace-bin") {
      EXPECT_EQ(e.value.Render(Request{}), std::string("\x00\x01\xff", 3));
    } else {
      EXPECT_EQ(e.value.Render(Request{}), "AAH/");
    }
  }
  CompileMetadata(json::parse(R"({"x-bad-bin": "not base64!"})"), f.context, "/response/trailers");
  ASSERT_EQ(f.diagnostics.size(), 1u);
  EXPECT_EQ(f.diagnostics.items()[0].pointer, "/response/trailers/x-bad-bin");
}

// A header or status message the verifier should accept in any form the matcher takes: the mock
// sends the example, which must fit the matcher.
TEST(ResponseMetadata, MatcherValuesSendTheirExample) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto entries = CompileMetadata(
      json::parse(R"({"location": {"$regex": "/users/[0-9]+", "$example": "/users/101"}})"),
      f.context, "/response/headers");
  ASSERT_TRUE(f.diagnostics.empty()) << f.diagnostics.ToStatus();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].value.Render(Request{}), "/users/101");
  auto status = CompileStatus(
      json::parse(R"({"code": "NOT_FOUND", "message": {"$regex": ".+", "$example": "gone"}})"),
      f.context, "/response/status");
  ASSERT_TRUE(status.has_value()) << f.diagnostics.ToStatus();
  EXPECT_EQ(status->message.Render(Request{}), "gone");
}

TEST(ResponseMetadata, MatcherValuesNeedAFittingStringExample) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  CompileMetadata(json::parse(R"({"a": {"$regex": "[0-9]+"},
                                  "b": {"$regex": "[0-9]+", "$example": "abc"}})"),
                  f.context, "/response/headers");
  ASSERT_EQ(f.diagnostics.size(), 2u) << f.diagnostics.ToStatus();
  EXPECT_EQ(f.diagnostics.items()[0].pointer, "/response/headers/a");
  EXPECT_THAT(f.diagnostics.items()[0].message, HasSubstr("needs \"$example\""));
  EXPECT_EQ(f.diagnostics.items()[1].pointer, "/response/headers/b/$example");
  EXPECT_THAT(f.diagnostics.items()[1].message, HasSubstr("does not match its own matcher"));
}

// What the mock sends for a response spec with matchers: examples, and nothing for a field the
// spec wants $absent (or $any without an example).
TEST(ResponseExample, AbsentAndAnyFieldsAreLeftUnset) {
  Diagnostics diagnostics;
  MatcherCompiler compiler(UserSchema().get(), "test.json", &diagnostics);
  json sent = compiler.ExampleOf(json::parse(R"({"user": {"id": {"$regex": "[0-9]+",
      "$example": "7"}, "email": {"$absent": true}, "name": {"$any": true}}})"), "/response/body");
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  EXPECT_EQ(sent, json::parse(R"({"user": {"id": "7"}})"));
}

TEST(ResponseMetadata, BinValuesAreBytesNotTemplates) {
  // base64 of "{{request.body.userId}}" and of "a{{b\0": bytes that merely look like templates.
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto entries = CompileMetadata(
      json::parse(
          R"({"x-quoted-bin": "e3tyZXF1ZXN0LmJvZHkudXNlcklkfX0=", "x-open-bin": "YXt7YgA="})"),
      f.context, "/response/headers");
  ASSERT_TRUE(f.diagnostics.empty()) << f.diagnostics.ToStatus();
  ASSERT_EQ(entries.size(), 2u);
  auto request = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "9"})");
  for (const auto& e : entries) {
    EXPECT_TRUE(e.value.IsLiteral()) << e.key;
    EXPECT_EQ(
        e.value.Render(RequestWith(request.get())),
        e.key == "x-quoted-bin" ? std::string("{{request.body.userId}}") : std::string("a{{b\0", 5))
        << e.key;
  }
}

TEST(ResponseMetadata, BinValuesTakeUnpaddedAndUrlSafeBase64) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto entries = CompileMetadata(json::parse(R"({"x-a-bin": "AQ", "x-b-bin": "-_8"})"), f.context,
                                 "/response/trailers");
  ASSERT_TRUE(f.diagnostics.empty()) << f.diagnostics.ToStatus();
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    EXPECT_EQ(e.value.Render(Request{}),
              e.key == "x-a-bin" ? std::string("\x01", 1) : std::string("\xfb\xff", 2))
        << e.key;
  }
}

TEST(ResponseMetadata, IllegalHeaderNamesAreRejected) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto entries = CompileMetadata(json::parse(R"({
      "X-Upper": "v", "grpc-status": "0", ":authority": "x", "with space": "v", "": "v",
      "x-ok_1.2": "v", "x-number": 5})"),
                                 f.context, "/response/headers");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].key, "x-ok_1.2");
  std::vector<std::string> pointers;
  for (const auto& d : f.diagnostics.items()) pointers.push_back(d.pointer);
  EXPECT_THAT(pointers, ::testing::UnorderedElementsAre(
                            "/response/headers/X-Upper", "/response/headers/grpc-status",
                            "/response/headers/:authority", "/response/headers/with space",
                            "/response/headers/", "/response/headers/x-number"));
}

TEST(ResponseMetadata, ValuesMayQuoteTheRequest) {
  Fixture f(UserSchema(), "user.GetUserRequest");
  auto entries = CompileMetadata(
      json::parse(
          R"({"x-user": "u{{request.body.userId}}", "x-echo": "{{request.metadata.x-id}}"})"),
      f.context, "/response/headers");
  ASSERT_TRUE(f.diagnostics.empty()) << f.diagnostics.ToStatus();
  ASSERT_EQ(entries.size(), 2u);
  auto request = ParseMessage(*f.schema, "user.GetUserRequest", R"({"userId": "9"})");
  MetadataView metadata = {{"x-id", "abc"}};
  for (const auto& e : entries) {
    EXPECT_EQ(e.value.Render(RequestWith(request.get(), &metadata)),
              e.key == "x-user" ? "u9" : "abc");
  }
  CompileMetadata(json::parse(R"({"x-user": "{{request.body.nope}}"})"), f.context, "/h");
  ASSERT_EQ(f.diagnostics.size(), 1u);
  EXPECT_EQ(f.diagnostics.items()[0].pointer, "/h/x-user");
}

}  // namespace
}  // namespace understudy
