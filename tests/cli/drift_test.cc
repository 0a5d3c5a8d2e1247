// Schema drift: `understudy check --proto new.proto contracts/` after a .proto changed reports
// every interaction the change breaks, each problem as `FILE: POINTER: MESSAGE`, then names the
// broken interactions. The pair tests/data/drift/{before,after} holds one change of each kind
// (tests/data/drift/README.md); docs/SCHEMA_DRIFT.md says what check can and cannot catch.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mockserver/serve_process.h"

namespace understudy {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunResult;
using testing::RunUnderstudy;

constexpr char kBefore[] = "tests/data/drift/before/drift.proto";
constexpr char kAfter[] = "tests/data/drift/after/drift.proto";
constexpr char kContracts[] = "tests/data/drift/before/contracts";
const std::string kOrders = "tests/data/drift/before/contracts/orders.json";
const std::string kShipping = "tests/data/drift/before/contracts/shipping.json";
const std::string kStreams = "tests/data/drift/before/contracts/streams.json";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string Describe(const RunResult& result) {
  return "exit code " + std::to_string(result.exit_code) + "\nstdout:\n" + result.out +
         "\nstderr:\n" + result.err;
}

RunResult CheckAfter() { return RunUnderstudy({"check", "--proto", kAfter, kContracts}); }

// One kind of change in after/drift.proto and the exact problem lines it causes.
struct Drift {
  std::string kind;
  std::vector<std::string> lines;
};

std::ostream& operator<<(std::ostream& out, const Drift& drift) { return out << drift.kind; }

const std::vector<Drift>& Drifts() {
  static const auto* drifts = new std::vector<Drift>{
      {"RemovedField",
       {kOrders + ": /interactions/0/response/body/order/couponCode: no field \"couponCode\" in "
                  "drift.v1.Order"}},
      {"RenamedField",
       {kOrders + ": /interactions/0/response/body/order/itemCount: no field \"itemCount\" in "
                  "drift.v1.Order (did you mean \"itemsCount\"?)"}},
      {"MessageToString",
       {kOrders + ": /interactions/0/response/body/order/shippingAddress: expected a string for "
                  "string field drift.v1.Order.shipping_address, got object "
                  "{\"city\":\"Springfield\",\"street\":\"1 Main St\"}"}},
      {"StringToMessageInAResponse",
       {kOrders + ": /interactions/0/response/body/order/total: expected an object for "
                  "drift.v1.Money, got string \"12.50\""}},
      {"StreamingKindChanged",
       {kOrders + ": /interactions/3/response/body: drift.v1.OrderService/ListOrders is server "
                  "streaming: use \"stream\": [{\"body\": ...}, ...]"}},
      {"RemovedEnumValue",
       {kOrders + ": /interactions/4/request/body/status: no value \"ORDER_STATUS_ON_HOLD\" in "
                  "enum drift.v1.OrderStatus (did you mean \"ORDER_STATUS_OPEN\"?)"}},
      {"RemovedMethod",
       {kOrders + ": /interactions/5/method: no method \"CancelOrder\" in service "
                  "drift.v1.OrderService"}},
      {"RenamedService",
       {kShipping + ": /interactions/0/method: no service drift.v1.ShippingService in the schema "
                    "(did you mean \"drift.v1.ShipmentService\"?)"}},
      {"StringToRepeated",
       {kStreams + ": /interactions/0/response/stream/0/body/label: expected an array for "
                   "repeated field drift.v1.OrderEvent.label, got string \"packed\"",
        kStreams + ": /interactions/0/response/stream/1/body/label: expected an array for "
                   "repeated field drift.v1.OrderEvent.label, got string \"shipped\""}},
      {"Int32ToBool",
       {kStreams + ": /interactions/2/request/stream/1/express: expected true or false for bool "
                   "field drift.v1.ImportOrderRequest.express, got number 2"}},
      {"StringToMessageInARequestAndAResponse",
       {kStreams + ": /interactions/4/conversation/0/client/attachmentUrl: expected an object "
                   "for drift.v1.Attachment, got string",
        kStreams + ": /interactions/4/conversation/1/server/attachmentUrl: expected an object "
                   "for drift.v1.Attachment, got string \"https://example.com/label.pdf\""}},
  };
  return *drifts;
}

TEST(SchemaDrift, BeforeSchemaAcceptsEveryContract) {
  RunResult result = RunUnderstudy({"check", "--proto", kBefore, kContracts});
  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_EQ(result.out, "OK: 13 interactions in 3 files\n");
  EXPECT_EQ(result.err, "");
}

class DriftTest : public ::testing::TestWithParam<Drift> {};

TEST_P(DriftTest, CheckReportsTheBreakAtItsPointer) {
  RunResult result = CheckAfter();
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  std::vector<std::string> lines = Lines(result.err);
  for (const auto& expected : GetParam().lines) {
    EXPECT_THAT(lines, ::testing::Contains(expected)) << Describe(result);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, DriftTest, ::testing::ValuesIn(Drifts()),
                         [](const ::testing::TestParamInfo<Drift>& info) {
                           return info.param.kind;
                         });

// Every problem of every interaction, nothing else: several per interaction (the first one of
// orders.json has four), none for the interactions the change leaves valid.
TEST(SchemaDrift, ReportsEveryProblemAndNothingElse) {
  RunResult result = CheckAfter();
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  std::vector<std::string> expected;
  for (const auto& drift : Drifts()) {
    expected.insert(expected.end(), drift.lines.begin(), drift.lines.end());
  }
  // Drifts() is in report order: files in path order, interactions and their parts in file
  // order, the fields of an object by name.
  EXPECT_THAT(Lines(result.err), ElementsAreArray(expected)) << Describe(result);
  for (const auto& line : Lines(result.err)) {
    EXPECT_THAT(line, ::testing::MatchesRegex(
                          "tests/data/drift/before/contracts/[a-z]+\\.json: /interactions/[0-9]+/"
                          "[^ ]*: .+"));
  }
}

TEST(SchemaDrift, SummaryNamesExactlyTheBrokenInteractions) {
  RunResult result = CheckAfter();
  EXPECT_EQ(result.exit_code, 2) << Describe(result);
  EXPECT_THAT(Lines(result.out),
              ElementsAreArray({
                  std::string("8 of 13 interactions broken by the schema:"),
                  "  \"get order A-1001\" (" + kOrders + ")",
                  "  \"list open orders\" (" + kOrders + ")",
                  "  \"list orders on hold\" (" + kOrders + ")",
                  "  \"cancel order A-1001\" (" + kOrders + ")",
                  "  \"track parcel P-9\" (" + kShipping + ")",
                  "  \"watch order A-1001\" (" + kStreams + ")",
                  "  \"import an express order\" (" + kStreams + ")",
                  "  \"chat with an attachment\" (" + kStreams + ")",
              }));
}

// Changes the JSON mapping cannot see: string → int64 with "42", int32 → int64, enum → string
// with the value's name. The JSON both sides exchange is unchanged, so check accepts these
// interactions, although the wire format changed (docs/SCHEMA_DRIFT.md).
TEST(SchemaDrift, JsonCompatibleTypeChangesAreNotReported) {
  RunResult result = CheckAfter();
  for (const char* name : {"get order with a version and a channel",
                           "watch order A-1002 by sequence", "get order with an id and a status",
                           "import one order", "chat ping"}) {
    EXPECT_THAT(result.out, Not(HasSubstr(name))) << Describe(result);
  }
  EXPECT_THAT(result.err, Not(HasSubstr("/interactions/1/"))) << Describe(result);
  EXPECT_THAT(result.err, Not(HasSubstr("/interactions/2/response"))) << Describe(result);
}

// The same drift, with the new schema as a FileDescriptorSet (protoc -o --include_imports, built
// by tests/cli/CMakeLists.txt) instead of the .proto file.
TEST(SchemaDrift, DescriptorSetReportsTheSameBreaks) {
  RunResult from_proto = CheckAfter();
  RunResult from_set =
      RunUnderstudy({"check", "--descriptor-set", DRIFT_AFTER_DESCRIPTOR_SET, kContracts});
  EXPECT_EQ(from_set.exit_code, 2) << Describe(from_set);
  EXPECT_FALSE(from_set.err.empty());
  EXPECT_EQ(from_set.err, from_proto.err);
  EXPECT_EQ(from_set.out, from_proto.out);
}

}  // namespace
}  // namespace understudy
