#include "src/schema.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "tests/src/test_util.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing_util::SourcePath;

// A fresh directory under the test's temporary directory.
std::string MakeTempDir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / ("understudy_schema_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  fs::path path = fs::path(dir) / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

TEST(Schema, LoadsUserProto) {
  SchemaOptions options;
  options.proto_files = {SourcePath("proto/user.proto")};
  auto schema = Schema::Load(options);
  ASSERT_TRUE(schema.ok()) << schema.status();
  ASSERT_EQ((*schema)->services().size(), 1u);
  EXPECT_EQ((*schema)->services()[0]->full_name(), "user.UserService");
  EXPECT_NE((*schema)->FindMessage("user.GetUserRequest"), nullptr);
  EXPECT_NE((*schema)->FindService("user.UserService"), nullptr);
  EXPECT_EQ((*schema)->FindMessage("user.NoSuchMessage"), nullptr);
}

TEST(Schema, FilesWithDependenciesListImportsFirst) {
  auto schema = testing_util::UserSchema();
  ASSERT_NE(schema, nullptr);
  auto files = schema->FilesWithDependencies();
  std::vector<std::string> names;
  for (const auto* f : files) names.push_back(f->name());
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "user.proto");
  EXPECT_THAT(names, ::testing::Contains("google/protobuf/timestamp.proto"));
  EXPECT_THAT(names, ::testing::Contains("google/protobuf/field_mask.proto"));
}

TEST(Schema, LoadsInventoryAcrossTwoFilesWithImportPath) {
  auto schema = testing_util::InventorySchema();
  ASSERT_NE(schema, nullptr);
  ASSERT_EQ(schema->services().size(), 1u);
  EXPECT_EQ(schema->services()[0]->full_name(), "inventory.v1.InventoryService");
  EXPECT_NE(schema->FindMessage("inventory.v1.Item"), nullptr);  // from types.proto
}

TEST(Schema, WellKnownTypesResolveWithoutImportPath) {
  std::string dir = MakeTempDir("wkt");
  std::string file = WriteFile(dir, "wkt.proto", R"(syntax = "proto3";
package wkt;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message M {
  google.protobuf.Any any = 1;
  google.protobuf.Duration duration = 2;
  google.protobuf.Struct struct_value = 3;
  google.protobuf.Timestamp at = 4;
  google.protobuf.Int64Value wrapped = 5;
}
service S { rpc Ping(google.protobuf.Empty) returns (M); }
)");
  SchemaOptions options;
  options.proto_files = {file};
  auto schema = Schema::Load(options);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_NE((*schema)->FindMessage("google.protobuf.Struct"), nullptr);
  EXPECT_NE((*schema)->FindMethod("wkt.S/Ping"), nullptr);
}

TEST(Schema, GoogleRpcStatusResolves) {
  // Imported by a user's file...
  std::string dir = MakeTempDir("rpc");
  std::string file = WriteFile(dir, "rpc.proto", R"(syntax = "proto3";
package rpc;
import "google/rpc/status.proto";
import "google/rpc/error_details.proto";
message Failure { google.rpc.Status status = 1; google.rpc.ErrorInfo info = 2; }
)");
  SchemaOptions options;
  options.proto_files = {file};
  auto schema = Schema::Load(options);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_NE((*schema)->FindMessage("rpc.Failure"), nullptr);
  // ...and by name from a schema that never imports it (status details name it).
  auto user = testing_util::UserSchema();
  ASSERT_NE(user, nullptr);
  EXPECT_NE(user->FindMessage("google.rpc.Status"), nullptr);
  EXPECT_NE(user->FindMessage("google.rpc.BadRequest"), nullptr);
}

TEST(Schema, SyntaxErrorReportedAsFileLineColumn) {
  std::string dir = MakeTempDir("syntax");
  // Line 4 lacks its ';': protoc reports the next token, line 5 column 3.
  std::string file = WriteFile(dir, "broken.proto",
                               "syntax = \"proto3\";\n"
                               "package broken;\n"
                               "message M {\n"
                               "  string a = 1\n"
                               "  int32 b = 2;\n"
                               "}\n");
  SchemaOptions options;
  options.proto_files = {file};
  auto schema = Schema::Load(options);
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(schema.status().message()), HasSubstr(file + ":5:3: Expected \";\"."));
}

TEST(Schema, UnresolvedImportReported) {
  std::string dir = MakeTempDir("import");
  std::string file = WriteFile(dir, "main.proto", R"(syntax = "proto3";
package main;
import "missing/dep.proto";
message M { string a = 1; }
)");
  SchemaOptions options;
  options.proto_files = {file};
  auto schema = Schema::Load(options);
  ASSERT_FALSE(schema.ok());
  std::string message(schema.status().message());
  EXPECT_THAT(message, HasSubstr("missing/dep.proto"));
  EXPECT_THAT(message, HasSubstr("main.proto"));
}

TEST(Schema, MissingProtoFileReported) {
  std::string dir = MakeTempDir("missing");
  SchemaOptions options;
  options.proto_files = {dir + "/nope.proto"};
  auto schema = Schema::Load(options);
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(std::string(schema.status().message()), HasSubstr(dir + "/nope.proto: no such file"));
}

TEST(Schema, EveryProblemReportedOneLinePerProblem) {
  std::string dir = MakeTempDir("many");
  SchemaOptions options;
  options.import_paths = {dir + "/not_a_dir"};
  options.proto_files = {dir + "/a.proto", dir + "/b.proto"};
  auto schema = Schema::Load(options);
  ASSERT_FALSE(schema.ok());
  std::string message(schema.status().message());
  EXPECT_THAT(message, HasSubstr("not_a_dir: import path is not a directory"));
  EXPECT_THAT(message, HasSubstr("a.proto: no such file"));
  EXPECT_THAT(message, HasSubstr("b.proto: no such file"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 2);
}

TEST(Schema, EmptyOptionsAreAnError) {
  auto schema = Schema::Load(SchemaOptions{});
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(std::string(schema.status().message()), HasSubstr("no schema"));
}

TEST(Schema, DescriptorSetFromProtocLoads) {
  std::string dir = MakeTempDir("descriptor_set");
  std::string out = dir + "/user.pb";
  std::string command = "protoc -o '" + out + "' --include_imports -I '" + SourcePath("proto") +
                        "' '" + SourcePath("proto/user.proto") + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  SchemaOptions options;
  options.descriptor_sets = {out};
  auto schema = Schema::Load(options);
  ASSERT_TRUE(schema.ok()) << schema.status();
  const auto* method = (*schema)->FindMethod("user.UserService/StreamUsers");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ(KindOf(method), RpcKind::kServerStreaming);
  std::vector<std::string> services;
  for (const auto* s : (*schema)->services()) services.push_back(s->full_name());
  EXPECT_THAT(services, ::testing::ElementsAre("user.UserService"));
}

TEST(Schema, DescriptorSetBuiltInCodeLoads) {
  google::protobuf::FileDescriptorSet set;
  auto* file = set.add_file();
  file->set_name("ping.proto");
  file->set_package("ping");
  file->set_syntax("proto3");
  auto* message = file->add_message_type();
  message->set_name("Ping");
  auto* field = message->add_field();
  field->set_name("id");
  field->set_number(1);
  field->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
  field->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  field->set_json_name("id");
  auto* service = file->add_service();
  service->set_name("Pinger");
  auto* method = service->add_method();
  method->set_name("Ping");
  method->set_input_type(".ping.Ping");
  method->set_output_type(".ping.Ping");
  method->set_client_streaming(true);
  method->set_server_streaming(true);

  std::string dir = MakeTempDir("descriptor_set_code");
  std::string path = dir + "/ping.pb";
  {
    std::ofstream out(path, std::ios::binary);
    ASSERT_TRUE(set.SerializeToOstream(&out));
  }
  SchemaOptions options;
  options.descriptor_sets = {path};
  auto schema = Schema::Load(options);
  ASSERT_TRUE(schema.ok()) << schema.status();
  const auto* found = (*schema)->FindMethod("ping.Pinger/Ping");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(KindOf(found), RpcKind::kBidiStreaming);
}

TEST(Schema, DescriptorSetThatIsNotOneReported) {
  std::string dir = MakeTempDir("descriptor_set_bad");
  std::string path = WriteFile(dir, "garbage.pb", "\xff\xff\xff not a descriptor set");
  SchemaOptions options;
  options.descriptor_sets = {path, dir + "/absent.pb"};
  auto schema = Schema::Load(options);
  ASSERT_FALSE(schema.ok());
  std::string message(schema.status().message());
  EXPECT_THAT(message, HasSubstr(path + ": not a FileDescriptorSet"));
  EXPECT_THAT(message, HasSubstr(dir + "/absent.pb: cannot read descriptor set"));
}

TEST(Schema, FindMethodWithAndWithoutLeadingSlash) {
  auto schema = testing_util::UserSchema();
  ASSERT_NE(schema, nullptr);
  const auto* plain = schema->FindMethod("user.UserService/GetUser");
  const auto* path = schema->FindMethod("/user.UserService/GetUser");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain, path);
  EXPECT_EQ(plain->full_name(), "user.UserService.GetUser");
  EXPECT_EQ(MethodName(plain), "user.UserService/GetUser");
  EXPECT_EQ(schema->FindMethod("user.UserService/GetUsr"), nullptr);
  EXPECT_EQ(schema->FindMethod("user.Nope/GetUser"), nullptr);
  EXPECT_EQ(schema->FindMethod("user.UserService.GetUser"), nullptr);
  EXPECT_EQ(schema->FindMethod(""), nullptr);
}

TEST(Schema, KindOfEveryRpcKind) {
  auto schema = testing_util::UserSchema();
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(KindOf(schema->FindMethod("user.UserService/GetUser")), RpcKind::kUnary);
  EXPECT_EQ(KindOf(schema->FindMethod("user.UserService/StreamUsers")), RpcKind::kServerStreaming);
  EXPECT_EQ(KindOf(schema->FindMethod("user.UserService/CreateUserStream")),
            RpcKind::kClientStreaming);
  EXPECT_EQ(KindOf(schema->FindMethod("user.UserService/BidirectionalStream")),
            RpcKind::kBidiStreaming);
  EXPECT_STREQ(RpcKindName(RpcKind::kClientStreaming), "client streaming");
}

TEST(Schema, NewMessageIsOfTheSchemaPool) {
  auto schema = testing_util::UserSchema();
  ASSERT_NE(schema, nullptr);
  const auto* type = schema->FindMessage("user.User");
  ASSERT_NE(type, nullptr);
  auto message = schema->NewMessage(type);
  ASSERT_NE(message, nullptr);
  EXPECT_EQ(message->GetDescriptor(), type);
  EXPECT_EQ(schema->Prototype(type), schema->Prototype(type));
}

TEST(Schema, ClosestSuggestsNearNamesOnly) {
  EXPECT_EQ(Schema::Closest("GetUsr", {"ListUsers", "GetUser", "DeleteUser"}), "GetUser");
  EXPECT_EQ(Schema::Closest("userid", {"userId", "name"}), "userId");  // case-insensitive
  EXPECT_EQ(Schema::Closest("$regexp", {"$regex", "$type", "$gt"}), "$regex");
  EXPECT_EQ(Schema::Closest("completely_unrelated", {"GetUser", "ListUsers"}), "");
  EXPECT_EQ(Schema::Closest("x", {}), "");
}

// protoc's source tree would read /dev/zero forever and block on a FIFO until a writer comes.
TEST(Schema, ProtoPathsThatAreNotRegularFilesAreRefused) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / ("schema_test_fifo." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "a_directory.proto");
  const std::string fifo = (dir / "fifo.proto").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {std::string("/dev/zero"), fifo, (dir / "a_directory.proto").string()}) {
    SchemaOptions options;
    options.proto_files = {path};
    auto schema = Schema::Load(options);
    ASSERT_FALSE(schema.ok()) << path;
    EXPECT_THAT(std::string(schema.status().message()),
                HasSubstr(path + ": not a regular file"));
    SchemaOptions sets;
    sets.descriptor_sets = {path};
    schema = Schema::Load(sets);
    ASSERT_FALSE(schema.ok()) << path;
    EXPECT_THAT(std::string(schema.status().message()),
                HasSubstr(path + ": not a regular file"));
  }
  // An import that resolves to a FIFO fails like a missing import, without blocking.
  std::ofstream(dir / "main.proto") << "syntax = \"proto3\";\nimport \"fifo.proto\";\n";
  SchemaOptions options;
  options.proto_files = {(dir / "main.proto").string()};
  auto schema = Schema::Load(options);
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(std::string(schema.status().message()), HasSubstr("fifo.proto"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace understudy
