// Helpers shared by the unit tests of the core library: the example schemas loaded the way the
// command line loads them, and requests built as DynamicMessages of those schemas.
//
//   auto schema = testing_util::UserSchema();
//   auto request = testing_util::ParseMessage(*schema, "user.GetUserRequest", R"({"userId":
//   "42"})");
#ifndef UNDERSTUDY_TESTS_SRC_TEST_UTIL_H_
#define UNDERSTUDY_TESTS_SRC_TEST_UTIL_H_

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "src/diagnostics.h"
#include "src/matcher.h"
#include "src/schema.h"

namespace understudy {
namespace testing_util {

inline std::string SourcePath(const std::string& relative) {
  return std::string(UNDERSTUDY_SOURCE_DIR) + "/" + relative;
}

// proto/user.proto, as `--proto proto/user.proto` loads it.
inline std::shared_ptr<const Schema> LoadUserSchema() {
  SchemaOptions options;
  options.proto_files = {SourcePath("proto/user.proto")};
  auto schema = Schema::Load(options);
  EXPECT_TRUE(schema.ok()) << schema.status();
  if (!schema.ok()) return nullptr;
  return std::shared_ptr<const Schema>(std::move(*schema));
}

// proto/inventory/v1/inventory.proto, as `-I proto --proto .../inventory.proto` loads it.
inline std::shared_ptr<const Schema> LoadInventorySchema() {
  SchemaOptions options;
  options.import_paths = {SourcePath("proto")};
  options.proto_files = {SourcePath("proto/inventory/v1/inventory.proto")};
  auto schema = Schema::Load(options);
  EXPECT_TRUE(schema.ok()) << schema.status();
  if (!schema.ok()) return nullptr;
  return std::shared_ptr<const Schema>(std::move(*schema));
}

// Loaded once per test binary: a Schema is immutable once loaded.
inline std::shared_ptr<const Schema> UserSchema() {
  static const auto* schema = new std::shared_ptr<const Schema>(LoadUserSchema());
  return *schema;
}
inline std::shared_ptr<const Schema> InventorySchema() {
  static const auto* schema = new std::shared_ptr<const Schema>(LoadInventorySchema());
  return *schema;
}

// A DynamicMessage of `type` (a full name in `schema`) parsed from the proto3 JSON mapping.
inline std::unique_ptr<google::protobuf::Message> ParseMessage(const Schema& schema,
                                                               const std::string& type,
                                                               const std::string& json_text) {
  const google::protobuf::Descriptor* descriptor = schema.FindMessage(type);
  EXPECT_NE(descriptor, nullptr) << "no message " << type;
  if (descriptor == nullptr) return nullptr;
  auto message = schema.NewMessage(descriptor);
  auto status = google::protobuf::util::JsonStringToMessage(json_text, message.get());
  EXPECT_TRUE(status.ok()) << status << " parsing " << json_text;
  return message;
}

// A spec compiled against a message type, and the diagnostics compiling it produced.
struct CompiledSpec {
  std::unique_ptr<Matcher> matcher;
  Diagnostics diagnostics;
  std::string Errors() const { return diagnostics.ToStatus().ToString(); }
};

inline CompiledSpec CompileSpec(const Schema& schema, const std::string& type,
                                const nlohmann::json& spec, const std::string& pointer = "/body") {
  CompiledSpec out;
  const google::protobuf::Descriptor* descriptor = schema.FindMessage(type);
  EXPECT_NE(descriptor, nullptr) << "no message " << type;
  if (descriptor == nullptr) return out;
  MatcherCompiler compiler(&schema, "test.json", &out.diagnostics);
  out.matcher = compiler.Compile(spec, Target::Message(descriptor), pointer);
  return out;
}

}  // namespace testing_util
}  // namespace understudy

#endif  // UNDERSTUDY_TESTS_SRC_TEST_UTIL_H_
