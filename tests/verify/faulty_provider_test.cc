// The verifier catches what it must, and only that. Each provider is a real gRPC server:
// `understudy serve` with tests/data/verify/contract.json plus one file of
// tests/data/verify/faults/ (or harmless/), whose single interaction wins by priority and answers
// one call of the contract slightly wrong (tests/data/verify/README.md lists them). The verifier
// knows the provider only by its `listening on` line.
//
// Each fault must fail exactly the interaction it breaks, at exactly the expected JSON pointers,
// with exit code 1; the same run against the contract alone must pass, so that the failure is due
// to the fault and not to the setup. Each harmless difference must pass with exit code 0.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verify/verify_run.h"

namespace understudy {
namespace {

using testing::DifferencesOf;
using ::testing::ElementsAreArray;
using testing::FailedPointers;
using ::testing::HasSubstr;
using testing::kContract;
using testing::kUserProto;
using testing::Results;
using testing::RunVerify;
using testing::StartCommand;
using testing::VerifyRun;

// `verify --proto proto/user.proto [FLAGS] --start "serve CONTRACT [PROVIDER]" CONTRACT`.
VerifyRun VerifyAgainst(const std::vector<std::string>& provider_files,
                        const std::vector<std::string>& flags = {}) {
  std::vector<std::string> serve = {"--proto", kUserProto, kContract};
  serve.insert(serve.end(), provider_files.begin(), provider_files.end());
  std::vector<std::string> args = {"--proto", kUserProto};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"--start", StartCommand(serve), kContract});
  return RunVerify(args);
}

constexpr int kContractSize = 8;  // interactions in contract.json

struct Fault {
  std::string file;                   // under tests/data/verify/faults/, without ".json"
  std::string interaction;            // the one interaction of contract.json it breaks
  std::vector<std::string> pointers;  // its differences, in order
  std::string says;                   // the first difference's message contains this
  std::vector<std::string> flags = {};
};

void PrintTo(const Fault& fault, std::ostream* os) { *os << fault.file; }

const Fault kFaults[] = {
    {"wrong_nested_value",
     "get user 42",
     {"/response/body/user/orders/0/items/1/quantity"},
     "expected 1, got 3"},
    {"missing_field", "get user 42", {"/response/body/user/name"}, "expected \"Ada Lovelace\""},
    // The pointer follows the response value: the interaction writes /response/body/$exact/user.
    {"extra_field_under_exact", "get user 7 exactly", {"/response/body/user/email"}, "$exact"},
    {"wrong_status_code",
     "get missing user 404",
     {"/response/status/code"},
     "expected NOT_FOUND, got PERMISSION_DENIED"},
    {"wrong_status_message", "get missing user 404", {"/response/status/message"}, "No such user"},
    {"wrong_detail_field",
     "get missing user 404",
     {"/response/status/details/0/reason"},
     "NO_SUCH_USER"},
    {"missing_header", "get user 42", {"/response/headers/x-served-by"}, "missing"},
    {"missing_trailer", "get missing user 404", {"/response/trailers/x-backend"}, "missing"},
    {"wrong_header_value", "get user 42", {"/response/headers/x-served-by"}, "nginx"},
    {"stream_missing_message", "stream three active users", {"/response/stream/2/body"}, "missing"},
    {"stream_extra_message",
     "stream three active users",
     {"/response/stream"},
     "unexpected message 3"},
    // A message missing or added in the middle shifts the others: only it is a difference.
    {"stream_missing_middle_message",
     "stream three active users",
     {"/response/stream/1/body"},
     "missing"},
    {"stream_extra_middle_message",
     "stream three active users",
     {"/response/stream"},
     "unexpected message 1"},
    {"stream_swapped",
     "stream three active users",
     {"/response/stream/1/body", "/response/stream/2/body"},
     "out of order"},
    {"bidi_wrong_reply",
     "look up a user and ping over one stream",
     {"/conversation/3/server/message"},
     "expected \"pong\", got \"pang\""},
    {"bidi_fewer_replies",
     "look up a user and ping over one stream",
     {"/conversation/3/server"},
     "missing"},
    {"too_slow",
     "get user 42",
     {"/response/status/code"},
     "DEADLINE_EXCEEDED",
     {"--timeout", "0.5"}},
    {"template_not_echoed",
     "create user echoes the name",
     {"/response/body/user/name"},
     "expected \"Edsger\", got \"Someone\""},
};

class FaultyProvider : public ::testing::TestWithParam<Fault> {};

TEST_P(FaultyProvider, FailsExactlyTheBrokenInteractionAtItsPointers) {
  const Fault& fault = GetParam();

  VerifyRun control = VerifyAgainst({}, fault.flags);
  ASSERT_EQ(control.exit_code(), 0) << "the contract alone must pass\n" << control.Describe();
  ASSERT_EQ(control.report.value("passed", -1), kContractSize) << control.Describe();
  ASSERT_EQ(Results(control.report).count(fault.interaction), 1u) << control.Describe();

  VerifyRun run = VerifyAgainst({"tests/data/verify/faults/" + fault.file + ".json"}, fault.flags);
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  ASSERT_TRUE(run.report.is_object()) << run.Describe();
  EXPECT_EQ(run.report.value("passed", -1), kContractSize - 1) << run.Describe();
  EXPECT_EQ(run.report.value("failed", -1), 1) << run.Describe();
  auto failed = FailedPointers(run.report);
  ASSERT_EQ(failed.size(), 1u) << run.Describe();
  EXPECT_EQ(failed.begin()->first, fault.interaction) << run.Describe();
  EXPECT_THAT(failed.begin()->second, ElementsAreArray(fault.pointers)) << run.Describe();
  auto differences = DifferencesOf(run.report, fault.interaction);
  ASSERT_FALSE(differences.empty()) << run.Describe();
  EXPECT_THAT(differences[0].value("message", ""), HasSubstr(fault.says)) << run.Describe();

  // The same, as lines on stdout: FAIL NAME, then "    POINTER: MESSAGE" for each difference.
  const std::vector<std::string> lines = testing::Lines(run.result.out);
  auto at = std::find(lines.begin(), lines.end(), "FAIL " + fault.interaction);
  ASSERT_NE(at, lines.end()) << run.Describe();
  for (const auto& pointer : fault.pointers) {
    ASSERT_NE(++at, lines.end()) << run.Describe();
    EXPECT_THAT(*at, ::testing::StartsWith("    " + pointer + ": ")) << run.Describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultyProvider, ::testing::ValuesIn(kFaults),
                         [](const ::testing::TestParamInfo<Fault>& info) {
                           std::string name;
                           for (char c : info.param.file) {
                             if (c != '_') name += c;
                           }
                           return name;
                         });

// Differences the contract allows: the provider says more than the contract asks, or a value the
// contract's matcher accepts in place of its $example.
class HarmlessDifference : public ::testing::TestWithParam<std::string> {};

TEST_P(HarmlessDifference, Passes) {
  VerifyRun run = VerifyAgainst({"tests/data/verify/harmless/" + GetParam() + ".json"});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  EXPECT_EQ(run.report.value("passed", -1), kContractSize) << run.Describe();
  EXPECT_EQ(run.report.value("failed", -1), 0) << run.Describe();
}

INSTANTIATE_TEST_SUITE_P(Differences, HarmlessDifference,
                         ::testing::Values("extra_response_fields", "extra_headers_and_trailers",
                                           "extra_status_details", "matcher_accepts_other_value"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (char c : info.param) {
                             if (c != '_') name += c;
                           }
                           return name;
                         });

TEST(ContractItself, PassesWithExitCodeZeroAndAFullReport) {
  VerifyRun run = VerifyAgainst({});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  ASSERT_TRUE(run.report.is_object()) << run.Describe();
  EXPECT_EQ(run.report.value("passed", -1), kContractSize);
  EXPECT_EQ(run.report.value("failed", -1), 0);
  EXPECT_TRUE(run.report.at("seconds").is_number());
  EXPECT_THAT(run.report.value("target", ""), ::testing::StartsWith("127.0.0.1:"));
  ASSERT_EQ(run.report.at("interactions").size(), static_cast<size_t>(kContractSize));
  const auto& first = run.report.at("interactions").at(0);
  EXPECT_EQ(first.value("name", ""), "get user 42");
  EXPECT_EQ(first.value("file", ""), kContract);
  EXPECT_EQ(first.value("pointer", ""), "/interactions/0");
  EXPECT_EQ(first.value("method", ""), "user.UserService/GetUser");
  EXPECT_EQ(first.value("result", ""), "PASS");
  EXPECT_TRUE(first.at("seconds").is_number());
  EXPECT_EQ(first.at("differences"), nlohmann::json::array());
}

TEST(JsonReport, SplitsExpectedAndActualOfAValueDifference) {
  VerifyRun run = VerifyAgainst({"tests/data/verify/faults/wrong_nested_value.json"});
  auto differences = DifferencesOf(run.report, "get user 42");
  ASSERT_EQ(differences.size(), 1u) << run.Describe();
  EXPECT_EQ(differences[0].value("expected", ""), "1") << differences.dump();
  EXPECT_EQ(differences[0].value("actual", ""), "3") << differences.dump();
}

// proto3 presence: a oneof member and wrapper fields set to their default values are sent (and
// expected) as set; a plain scalar at its default is indistinguishable from unset.
constexpr char kInventoryContract[] = "tests/data/verify/inventory/contract.json";

VerifyRun VerifyInventory(const std::vector<std::string>& provider_files) {
  std::vector<std::string> schema = {"--proto", "proto/inventory/v1/inventory.proto", "-I",
                                     "proto"};
  std::vector<std::string> serve = schema;
  serve.push_back(kInventoryContract);
  serve.insert(serve.end(), provider_files.begin(), provider_files.end());
  std::vector<std::string> args = schema;
  args.insert(args.end(), {"--start", StartCommand(serve), kInventoryContract});
  return RunVerify(args);
}

TEST(Presence, DefaultValuesInOneofAndWrappersPass) {
  VerifyRun run = VerifyInventory({});
  EXPECT_EQ(run.exit_code(), 0) << run.Describe();
  EXPECT_EQ(run.report.value("passed", -1), 1) << run.Describe();
}

TEST(Presence, OtherOneofMemberFailsAtTheExpectedMember) {
  VerifyRun run = VerifyInventory({"tests/data/verify/inventory/oneof_other_member.json"});
  EXPECT_EQ(run.exit_code(), 1) << run.Describe();
  EXPECT_THAT(FailedPointers(run.report)["get workshop item with defaults that have presence"],
              ElementsAreArray({"/response/body/manufacturedBy"}))
      << run.Describe();
}

}  // namespace
}  // namespace understudy
