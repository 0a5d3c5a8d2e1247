// gmock matchers over a mock's recorded calls, and a check that every call was answered.
//
//   #include "mockserver/testing.h"
//   using ::testing::Contains; using ::testing::ElementsAre; using ::testing::SizeIs;
//   using namespace understudy::testing;  // in a test .cc file
//
//   auto mock = understudy::MockServer::Start(options);
//   ... the code under test calls the mock ...
//   EXPECT_THAT((*mock)->Calls("user.UserService/GetUser"),
//               ElementsAre(RequestPartiallyEquals(R"({"userId": "42"})")));
//   EXPECT_THAT((*mock)->Calls(), Contains(CallTo("user.UserService/GetUser")).Times(2));
//   EXPECT_THAT((*mock)->Calls(), Contains(AllOf(Answered("get missing user 404"),
//                                                HasMetadata("authorization", StartsWith("Bearer
//                                                ")))));
//   ExpectNoUnmatchedCalls(**mock);
//
// RequestPartiallyEquals takes a request body exactly as interaction files write it — partial
// objects, `$` matchers, proto3 JSON names — compiled against the called method's input type
// by the same compiler, so a test and a contract mean the same thing by it. A spec that does not
// compile (bad JSON, unknown field) fails the test with the problem and its JSON pointer.
//
// Failure messages list the recorded calls, one per line: method, request JSON, status, and the
// interaction that answered or why none did (the closest interaction and its first mismatch).
//
// Header-only: link GoogleTest/gmock in the test as usual.
#ifndef UNDERSTUDY_MOCKSERVER_TESTING_H_
#define UNDERSTUDY_MOCKSERVER_TESTING_H_

#include <atomic>
#include <functional>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mockserver/journal.h"
#include "mockserver/mock_server.h"
#include "src/response.h"

namespace understudy {
namespace testing {

namespace internal {

// A matcher from a test that may explain itself. `test` returns whether the call matches and
// may set `why` either way.
class CallPredicate final : public ::testing::MatcherInterface<const RecordedCall&> {
 public:
  using Test = std::function<bool(const RecordedCall&, std::string* why)>;
  CallPredicate(Test test, std::string description, std::string negation)
      : test_(std::move(test)),
        description_(std::move(description)),
        negation_(std::move(negation)) {}

  bool MatchAndExplain(const RecordedCall& call,
                       ::testing::MatchResultListener* listener) const override {
    std::string why;
    bool matched = test_(call, &why);
    if (!why.empty()) *listener << why;
    return matched;
  }
  void DescribeTo(std::ostream* os) const override { *os << description_; }
  void DescribeNegationTo(std::ostream* os) const override { *os << negation_; }

 private:
  Test test_;
  std::string description_;
  std::string negation_;
};

inline ::testing::Matcher<const RecordedCall&> MakeCallMatcher(CallPredicate::Test test,
                                                               std::string description,
                                                               std::string negation) {
  return ::testing::MakeMatcher(
      new CallPredicate(std::move(test), std::move(description), std::move(negation)));
}

inline const char* CodeName(grpc::StatusCode code) {
  return StatusCodeName(static_cast<int>(code));
}

inline std::string WithoutSlash(std::string method) {
  if (absl::StartsWith(method, "/")) method.erase(0, 1);
  return method;
}

// Shared by the request and stream matchers: an invalid spec is a broken test, not a mismatch,
// so it fails the test — once per matcher, however many calls it is tried on.
inline bool SpecResult(const absl::StatusOr<bool>& result, const std::string& spec,
                       const std::string& why_not, std::atomic<bool>* reported, std::string* why) {
  if (!result.ok()) {
    if (!reported->exchange(true)) {
      ADD_FAILURE() << "invalid request spec " << spec << ":\n" << result.status().message();
    }
    *why = absl::StrCat("the spec is invalid: ", result.status().message());
    return false;
  }
  if (!*result) *why = why_not;
  return *result;
}

}  // namespace internal

// A call to `method`, "pkg.Service/Method" (a leading '/' is accepted).
inline ::testing::Matcher<const RecordedCall&> CallTo(const std::string& method) {
  std::string want = internal::WithoutSlash(method);
  return internal::MakeCallMatcher(
      [want](const RecordedCall& call, std::string* why) {
        if (call.method == want) return true;
        *why = absl::StrCat("is a call to ", call.method);
        return false;
      },
      absl::StrCat("is a call to ", want), absl::StrCat("is not a call to ", want));
}

// A call whose one request message matches `spec`, a JSON request body as in interaction files.
inline ::testing::Matcher<const RecordedCall&> RequestPartiallyEquals(const std::string& spec) {
  return internal::MakeCallMatcher(
      [spec, reported = std::make_shared<std::atomic<bool>>(false)](const RecordedCall& call,
                                                                    std::string* why) {
        std::string mismatch;
        auto result = call.RequestMatches(spec, &mismatch);
        return internal::SpecResult(result, spec, absl::StrCat("request ", mismatch),
                                    reported.get(), why);
      },
      absl::StrCat("has a request partially equal to ", spec),
      absl::StrCat("has no request partially equal to ", spec));
}

// A call whose client messages match `spec`, a JSON array as a file's request `stream`: same
// count, element by element.
inline ::testing::Matcher<const RecordedCall&> StreamPartiallyEquals(const std::string& spec) {
  return internal::MakeCallMatcher(
      [spec, reported = std::make_shared<std::atomic<bool>>(false)](const RecordedCall& call,
                                                                    std::string* why) {
        std::string mismatch;
        auto result = call.StreamMatches(spec, &mismatch);
        return internal::SpecResult(result, spec, absl::StrCat("stream ", mismatch), reported.get(),
                                    why);
      },
      absl::StrCat("has client messages partially equal to ", spec),
      absl::StrCat("has no client messages partially equal to ", spec));
}

// A call answered by the interaction named `name`.
inline ::testing::Matcher<const RecordedCall&> Answered(const std::string& name) {
  return internal::MakeCallMatcher(
      [name](const RecordedCall& call, std::string* why) {
        if (call.interaction == name && !call.unmatched()) return true;
        *why = call.unmatched() ? absl::StrCat("is unmatched: ", call.miss)
               : call.interaction.empty()
                   ? std::string("was answered by no interaction")
                   : absl::StrCat("was answered by \"", call.interaction, "\"");
        return false;
      },
      absl::StrCat("was answered by \"", name, "\""),
      absl::StrCat("was not answered by \"", name, "\""));
}

// A call that no interaction answered (see RecordedCall::miss).
inline ::testing::Matcher<const RecordedCall&> Unmatched() {
  return internal::MakeCallMatcher(
      [](const RecordedCall& call, std::string* why) {
        if (call.unmatched()) {
          *why = absl::StrCat("miss: ", call.miss);
          return true;
        }
        return false;
      },
      "is unmatched", "was answered");
}

// A call that ended with `code`.
inline ::testing::Matcher<const RecordedCall&> HasStatus(grpc::StatusCode code) {
  return internal::MakeCallMatcher(
      [code](const RecordedCall& call, std::string* why) {
        if (call.code == code) return true;
        *why =
            absl::StrCat("ended with ", internal::CodeName(call.code), ": ", call.status_message);
        return false;
      },
      absl::StrCat("ended with ", internal::CodeName(code)),
      absl::StrCat("did not end with ", internal::CodeName(code)));
}

// A call with request metadata `key` (lower case) whose value matches `value` (a string or any
// gmock string matcher); with one key only, present with any value.
inline ::testing::Matcher<const RecordedCall&> HasMetadata(
    const std::string& key, ::testing::Matcher<const std::string&> value) {
  std::ostringstream described;
  value.DescribeTo(&described);
  return internal::MakeCallMatcher(
      [key, value](const RecordedCall& call, std::string* why) {
        bool present = false;
        for (const auto& [k, v] : call.metadata) {
          if (k != key) continue;
          present = true;
          if (value.Matches(v)) return true;
        }
        *why = present ? absl::StrCat("metadata \"", key, "\" is \"", *call.FindMetadata(key), "\"")
                       : absl::StrCat("has no metadata \"", key, "\"");
        return false;
      },
      absl::StrCat("has metadata \"", key, "\" that ", described.str()),
      absl::StrCat("has no metadata \"", key, "\" that ", described.str()));
}
inline ::testing::Matcher<const RecordedCall&> HasMetadata(const std::string& key) {
  return HasMetadata(key, ::testing::A<const std::string&>());
}

// Adds a non-fatal failure, listing every unmatched call in `mock`'s journal, when there is any.
// The failure is reported at the caller's line.
inline void ExpectNoUnmatchedCalls(const MockServer& mock, const char* file = __builtin_FILE(),
                                   int line = __builtin_LINE()) {
  std::vector<RecordedCall> unmatched = mock.UnmatchedCalls();
  if (unmatched.empty()) return;
  std::string message = absl::StrCat(unmatched.size(), " call", unmatched.size() == 1 ? "" : "s",
                                     " to the mock matched no interaction:");
  for (const auto& call : unmatched) {
    absl::StrAppend(&message, "\n  #", call.sequence, " ", call.method, " ",
                    call.requests.empty() ? "(no request message)" : call.RequestJson(), "\n    ",
                    internal::CodeName(call.code), ": ", call.miss);
  }
  ADD_FAILURE_AT(file, line) << message;
}

}  // namespace testing
}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_TESTING_H_
