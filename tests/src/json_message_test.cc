#include "src/json_message.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "src/schema.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using json = nlohmann::json;

// Every kind of field the JSON mapping knows: each scalar type, enums, nested and repeated
// messages, maps with each kind of key, a oneof, proto3 optional, a custom json_name and
// well-known types.
constexpr char kProto[] = R"(
syntax = "proto3";
package t;
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
message Inner { string s = 1; repeated int32 ns = 2; Inner next = 3; }
message All {
  string s = 1; bytes b = 2; bool flag = 3;
  int32 i32 = 4; int64 i64 = 5; uint32 u32 = 6; uint64 u64 = 7; sint32 s32 = 8; sint64 s64 = 9;
  fixed32 f32 = 10; fixed64 f64 = 11; sfixed32 sf32 = 12; sfixed64 sf64 = 13;
  float fl = 14; double db = 15; Color color = 16;
  Inner inner = 17; repeated Inner inners = 18; repeated string ss = 19; repeated Color colors = 20;
  map<string, Inner> by_name = 21; map<int32, string> by_i32 = 22; map<int64, int64> by_i64 = 23;
  map<uint32, bool> by_u32 = 24; map<bool, string> by_bool = 25; map<uint64, double> by_u64 = 26;
  oneof pick { string pick_s = 27; Inner pick_inner = 28; }
  google.protobuf.Timestamp at = 29; google.protobuf.Int32Value wrapped = 30;
  google.protobuf.Struct st = 31; optional int32 opt = 32;
  string json_named = 33 [json_name = "customName"];
  repeated double dbs = 34; repeated float fls = 35;
}
)";

class JsonToMessageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory a process: ctest runs this suite's tests in parallel processes, and one
    // rewriting the file while another parses it would give an empty schema.
    fs::path dir = fs::path(::testing::TempDir()) /
                   ("understudy_json_message_test." + std::to_string(getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "all.proto") << kProto;
    SchemaOptions options;
    options.proto_files = {(dir / "all.proto").string()};
    auto schema = Schema::Load(options);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = std::move(*schema).release();
  }

  // Converts `text` both ways and expects the same outcome: the same message, or the same error.
  // Returns whether the direct path took it.
  static bool Agrees(const std::string& text) {
    const pb::Descriptor* type = schema_->FindMessage("t.All");
    auto ours = schema_->NewMessage(type);
    auto theirs = schema_->NewMessage(type);
    JsonMessageResult result = JsonToMessage(json::parse(text), ours.get());
    pb::util::Status expected =
        pb::util::JsonStringToMessage(json::parse(text).dump(), theirs.get());
    EXPECT_EQ(result.status.ok(), expected.ok()) << text << ": " << result.status;
    if (expected.ok()) {
      EXPECT_TRUE(pb::util::MessageDifferencer::Equals(*ours, *theirs))
          << text << "\n ours: " << ours->ShortDebugString()
          << "\n protobuf's: " << theirs->ShortDebugString();
    } else {
      EXPECT_EQ(std::string(result.status.message()), std::string(expected.message())) << text;
    }
    return result.direct;
  }

  static const Schema* schema_;
};

const Schema* JsonToMessageTest::schema_ = nullptr;

// Plain bodies are set directly, and equal protobuf's parse.
TEST_F(JsonToMessageTest, SetsPlainBodiesDirectly) {
  const char* cases[] = {
      R"({})",
      R"({"s": "x", "flag": true, "i32": -5, "i64": 123, "u32": 7, "u64": 18446744073709551615,
          "s32": -1, "s64": -9, "f32": 4, "f64": 5, "sf32": -6, "sf64": -7})",
      R"({"i64": -9223372036854775808, "i32": 2147483647, "u32": 4294967295})",
      R"({"fl": 0.5, "db": 0.1, "color": "RED"})",
      R"({"db": 1e300, "fl": 3, "dbs": [1, 2.5, -0.0], "fls": [0.25, -8]})",
      R"({"inner": {"s": "a", "ns": [1, 2, 3], "next": {"s": "b", "next": {}}}})",
      R"({"inners": [{"s": "a"}, {}], "ss": ["x", "", "y"], "colors": ["RED", "COLOR_UNSPECIFIED"]})",
      R"({"byName": {"k": {"s": "v"}, "": {}}, "byI32": {"-3": "m", "0": ""},
          "byI64": {"9007199254740993": 1}, "byU32": {"4": true}, "byU64": {"0": 2.5}})",
      R"({"by_name": {"k": {}}, "pick_s": "x"})",
      R"({"pickInner": {"s": "q"}})",
      R"({"opt": 0, "customName": "a"})",
      R"({"json_named": "a", "s": "ünïcødé \u0000 nul"})",
      R"({"inner": {}, "ss": []})",
  };
  for (const char* text : cases) EXPECT_TRUE(Agrees(text)) << text;
}

// Anything the direct path does not take exactly as protobuf would goes to protobuf's parser:
// the same message or the same error either way.
TEST_F(JsonToMessageTest, LeavesEverythingElseToProtobuf) {
  const char* cases[] = {
      // Forms of the mapping set only by protobuf: base64, 64-bit integers as strings,
      // well-known types, enum numbers, null.
      R"({"b": "AAE="})",
      R"({"i64": "123"})",
      R"({"u64": "18446744073709551615"})",
      R"({"at": "2024-01-01T00:00:00Z"})",
      R"({"wrapped": 5})",
      R"({"st": {"a": [1, "x"]}})",
      R"({"color": 1})",
      R"({"s": null})",
      R"({"inners": [null]})",
      R"({"byName": {"k": null}})",
      // Conversions protobuf judges: rounding, precision, keys it parses.
      R"({"fl": 0.1})",
      R"({"fl": 1e39})",
      R"({"db": 9007199254740993})",
      R"({"i32": 1.0})",
      R"({"i32": 1e3})",
      R"({"byBool": {"true": "x"}})",
      R"({"byI32": {"01": "x"}})",
      R"({"byI32": {"-0": "x"}})",
      R"({"byU32": {"-1": true}})",
      R"({"byI64": {"+5": 1}})",
      // Errors, with protobuf's message.
      R"({"nope": 1})",
      R"({"color": "BLUE"})",
      R"({"i32": 2147483648})",
      R"({"u32": -1})",
      R"({"u64": -1})",
      R"({"s": 5})",
      R"({"flag": "true"})",
      R"({"inner": []})",
      R"({"inner": "x"})",
      R"({"inners": {"s": "a"}})",
      R"({"byI32": {"x": "y"}})",
      R"({"byI32": {"2147483648": "y"}})",
      R"({"pickS": "x", "pickInner": {}})",
      R"({"customName": "a", "json_named": "b"})",
      R"({"inner": {"nope": true}})",
      R"([])",
      R"("text")",
      // Leniency: a lone value for a repeated field (FindLenientJson reports it).
      R"({"ss": "lone"})",
  };
  for (const char* text : cases) EXPECT_FALSE(Agrees(text)) << text;
}

// A body the direct path gives up on half-way leaves no trace of its first fields.
TEST_F(JsonToMessageTest, DirectPathClearsWhatItSetBeforeGivingUp) {
  const pb::Descriptor* type = schema_->FindMessage("t.All");
  auto message = schema_->NewMessage(type);
  EXPECT_FALSE(JsonToMessageDirect(json::parse(R"({"inner": {"s": "a"}, "s": "b", "zz": 1})"),
                                   message.get()));
  EXPECT_EQ(message->ByteSizeLong(), 0u);
  EXPECT_TRUE(JsonToMessageDirect(json::parse(R"({"s": "b"})"), message.get()));
  EXPECT_EQ(message->ShortDebugString(), "s: \"b\"");
}

}  // namespace
}  // namespace understudy
