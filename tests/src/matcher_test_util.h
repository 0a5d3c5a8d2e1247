// Helpers of the matcher tests (matcher_*_test.cc): a spec compiled against a message type of the
// example schemas and matched against a request, both given as JSON text.
//
//   EXPECT_TRUE(UserMatch(kGetUser, R"({"userId": {"$regex": "4."}})", R"({"userId": "42"})"));
#ifndef UNDERSTUDY_TESTS_SRC_MATCHER_TEST_UTIL_H_
#define UNDERSTUDY_TESTS_SRC_MATCHER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "src/matcher.h"
#include "src/schema.h"
#include "src/value.h"
#include "tests/src/test_util.h"

namespace understudy {
namespace testing_util {

// Compiles `spec` (JSON text) against `type` of `schema`, which must succeed, and matches the
// request parsed from `request` (JSON text). The failure message is the mismatch.
inline ::testing::AssertionResult MatchesIn(const Schema& schema, const std::string& type,
                                            const std::string& spec, const std::string& request) {
  auto compiled = CompileSpec(schema, type, nlohmann::json::parse(spec));
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

inline ::testing::AssertionResult UserMatch(const std::string& type, const std::string& spec,
                                            const std::string& request) {
  return MatchesIn(*UserSchema(), type, spec, request);
}
inline ::testing::AssertionResult InvMatch(const std::string& type, const std::string& spec,
                                           const std::string& request) {
  return MatchesIn(*InventorySchema(), type, spec, request);
}

// The mismatch text of a request that must not match.
inline std::string WhyNot(const Schema& schema, const std::string& type, const std::string& spec,
                          const std::string& request) {
  auto result = MatchesIn(schema, type, spec, request);
  EXPECT_FALSE(result) << "expected a mismatch";
  return result.message();
}

inline constexpr char kGetUser[] = "user.GetUserRequest";
inline constexpr char kListUsers[] = "user.ListUsersRequest";
inline constexpr char kItem[] = "inventory.v1.Item";
inline constexpr char kGetItem[] = "inventory.v1.GetItemRequest";
inline constexpr char kSearch[] = "inventory.v1.SearchItemsRequest";
inline constexpr char kAdjust[] = "inventory.v1.StockAdjustment";

}  // namespace testing_util
}  // namespace understudy

#endif  // UNDERSTUDY_TESTS_SRC_MATCHER_TEST_UTIL_H_
