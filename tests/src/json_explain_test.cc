#include "src/json_explain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/src/test_util.h"

namespace understudy {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using testing_util::UserSchema;

struct Explained {
  bool found;
  std::vector<std::string> lines;  // "POINTER: MESSAGE"
};

Explained Explain(const std::string& type, const std::string& body, bool lenient = false) {
  auto schema = UserSchema();
  Diagnostics diagnostics;
  const auto* descriptor = schema->FindMessage(type);
  bool found = lenient ? FindLenientJson(json::parse(body), descriptor, *schema, "f.json", "/body",
                                         &diagnostics)
                       : ExplainInvalidJson(json::parse(body), descriptor, *schema, "f.json",
                                            "/body", &diagnostics);
  Explained out{found, {}};
  for (const auto& d : diagnostics.items()) out.lines.push_back(d.pointer + ": " + d.message);
  return out;
}

// The parser stops at its first error; every field it rejects is reported, each at its pointer.
TEST(ExplainInvalidJson, ReportsEveryRejectedFieldAtItsPointer) {
  Explained e = Explain("user.ListUsersResponse", R"({
      "totalCount": true,
      "users": [{"id": "1"}, {"status": "USER_STATUS_GONE", "emial": "x", "orders": {}}],
      "nextPage": "2"})");
  EXPECT_TRUE(e.found);
  EXPECT_THAT(
      e.lines,
      ElementsAre("/body/nextPage: no field \"nextPage\" in user.ListUsersResponse",
                  "/body/totalCount: expected a 32-bit integer for int32 field "
                  "user.ListUsersResponse.total_count, got boolean true",
                  "/body/users/1/emial: no field \"emial\" in user.User (did you mean \"email\"?)",
                  "/body/users/1/orders: expected an array for repeated field user.User.orders, "
                  "got object {}",
                  "/body/users/1/status: no value \"USER_STATUS_GONE\" in enum user.UserStatus "
                  "(did you mean \"USER_STATUS_ACTIVE\"?)"));
}

TEST(ExplainInvalidJson, NamesTheTypeAFieldNowHas) {
  EXPECT_THAT(Explain("user.GetUserResponse", R"({"user": "42"})").lines,
              ElementsAre("/body/user: expected an object for user.User, got string \"42\""));
  EXPECT_THAT(Explain("user.GetUserResponse", R"({"user": {"createdAt": "yesterday"}})").lines,
              ElementsAre("/body/user/createdAt: expected google.protobuf.Timestamp in its JSON "
                          "form, got string \"yesterday\""));
  EXPECT_THAT(Explain("user.User", R"({"name": {"first": "Ada", "last": "Lovelace", "more":
                                       "text that makes the value longer than shown"}})")
                  .lines,
              ElementsAre(::testing::EndsWith("...")));
}

// The parser stays the judge: nothing is reported when no single field is wrong.
TEST(ExplainInvalidJson, LeavesABodyWithNoWrongFieldToTheCaller) {
  EXPECT_FALSE(Explain("user.User", R"({"id": "1"})").found);
  EXPECT_FALSE(Explain("google.protobuf.Timestamp", R"("yesterday")").found);
}

// protobuf's parser reads a single value for a repeated field as a one-element array; the JSON
// mapping does not, nor do request bodies.
TEST(FindLenientJson, SingleValueForARepeatedFieldIsReported) {
  Explained e = Explain("user.ListUsersResponse",
                        R"({"users": [{"orders": {"id": "1"}}, {"orders": [{"items": {}}]}]})",
                        /*lenient=*/true);
  EXPECT_TRUE(e.found);
  EXPECT_THAT(e.lines,
              ElementsAre("/body/users/0/orders: expected an array for repeated field "
                          "user.User.orders, got object {\"id\":\"1\"}",
                          "/body/users/1/orders/0/items: expected an array for repeated field "
                          "user.Order.items, got object {}"));
  EXPECT_FALSE(Explain("user.CreateUserResponse", R"({"userIds": ["42"]})", true).found);
  EXPECT_FALSE(Explain("user.CreateUserResponse", R"({"userIds": null})", true).found);
}

}  // namespace
}  // namespace understudy
