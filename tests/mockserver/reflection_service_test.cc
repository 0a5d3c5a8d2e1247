#include "mockserver/reflection_service.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
namespace v1 = grpc::reflection::v1;
namespace v1alpha = grpc::reflection::v1alpha;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kCommonProto[] = R"(
syntax = "proto2";
package shop.common;

message Money {
  optional int64 units = 1;
  optional string currency = 2;
}

message Extensible {
  extensions 100 to 199;
}

extend Extensible {
  optional string note = 100;
  optional int32 rank = 150;
}
)";

constexpr char kCatalogProto[] = R"(
syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";
import "shop/common.proto";

message Item {
  message Price {
    shop.common.Money amount = 1;
  }
  enum Kind {
    KIND_UNSPECIFIED = 0;
    BOOK = 1;
  }
  string id = 1;
  Price price = 2;
  google.protobuf.Timestamp created = 3;
  Kind kind = 4;
}

message GetItemRequest {
  string id = 1;
}

service Catalog {
  rpc GetItem(GetItemRequest) returns (Item);
}
)";

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The names of the files in a file_descriptor_response, in the order sent.
template <typename Response>
std::vector<std::string> FileNames(const Response& response) {
  std::vector<std::string> names;
  for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(bytes)) return {"<unparsable FileDescriptorProto>"};
    names.push_back(file.name());
  }
  return names;
}

// A real server with the reflection services over a schema written to a temporary directory.
class ReflectionServer {
 public:
  ReflectionServer() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("reflection_") + test->test_suite_name() + "_" + test->name());
    fs::remove_all(dir_);
    WriteFile(dir_ / "shop" / "common.proto", kCommonProto);
    WriteFile(dir_ / "shop" / "catalog.proto", kCatalogProto);

    SchemaOptions options;
    options.proto_files = {(dir_ / "shop" / "catalog.proto").string()};
    options.import_paths = {dir_.string()};
    auto schema = Schema::Load(options);
    if (!schema.ok()) {
      ADD_FAILURE() << schema.status();
      return;
    }
    services_ = MakeReflectionServices(std::move(*schema), {"grpc.health.v1.Health"});

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    for (auto& service : services_) builder.RegisterService(service.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port == 0) {
      ADD_FAILURE() << "the server did not start";
      return;
    }
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }

  ~ReflectionServer() {
    if (server_ != nullptr) server_->Shutdown();
    fs::remove_all(dir_);
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  fs::path dir_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// One ServerReflectionInfo stream of either protocol version.
template <typename Stub, typename Request, typename Response>
class Stream {
 public:
  explicit Stream(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(Stub::NewStub(channel)), stream_(stub_->ServerReflectionInfo(&context_)) {}

  ~Stream() {
    stream_->WritesDone();
    Response ignored;
    while (stream_->Read(&ignored)) {
    }
    EXPECT_TRUE(stream_->Finish().ok());
  }

  Response Ask(const Request& request) {
    Response response;
    EXPECT_TRUE(stream_->Write(request));
    EXPECT_TRUE(stream_->Read(&response));
    return response;
  }

  Response Symbol(const std::string& symbol) {
    Request request;
    request.set_file_containing_symbol(symbol);
    return Ask(request);
  }

  Response File(const std::string& name) {
    Request request;
    request.set_file_by_filename(name);
    return Ask(request);
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<typename Stub::Stub> stub_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
};

using V1Stream =
    Stream<v1::ServerReflection, v1::ServerReflectionRequest, v1::ServerReflectionResponse>;
using V1AlphaStream = Stream<v1alpha::ServerReflection, v1alpha::ServerReflectionRequest,
                             v1alpha::ServerReflectionResponse>;

template <typename Response>
std::vector<std::string> ServiceNames(const Response& response) {
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

TEST(ReflectionService, ListsLoadedServices) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  v1::ServerReflectionRequest request;
  request.set_host("localhost");
  request.set_list_services("*");
  v1::ServerReflectionResponse response = stream.Ask(request);

  EXPECT_THAT(ServiceNames(response),
              ElementsAre("shop.Catalog", "grpc.health.v1.Health",
                          "grpc.reflection.v1.ServerReflection",
                          "grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_EQ(response.valid_host(), "localhost");
  EXPECT_EQ(response.original_request().list_services(), "*");
}

TEST(ReflectionService, V1AlphaListsTheSameServices) {
  ReflectionServer server;
  V1AlphaStream stream(server.channel());
  v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  EXPECT_THAT(ServiceNames(stream.Ask(request)),
              ElementsAre("shop.Catalog", "grpc.health.v1.Health",
                          "grpc.reflection.v1.ServerReflection",
                          "grpc.reflection.v1alpha.ServerReflection"));
}

TEST(ReflectionService, SymbolAnswersItsFileFirstThenDependencies) {
  ReflectionServer server;
  for (const char* symbol : {"shop.Catalog", "shop.Catalog.GetItem", "shop.Item", "shop.Item.Price",
                             "shop.Item.Kind", "shop.Item.created", "shop.Item.BOOK",
                             "shop.Item.Kind.BOOK"}) {
    SCOPED_TRACE(symbol);
    V1Stream stream(server.channel());  // a fresh stream has been sent nothing
    v1::ServerReflectionResponse response = stream.Symbol(symbol);
    ASSERT_FALSE(response.has_error_response()) << response.error_response().error_message();
    std::vector<std::string> names = FileNames(response);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "shop/catalog.proto");
    EXPECT_THAT(names, UnorderedElementsAre("shop/catalog.proto", "shop/common.proto",
                                            "google/protobuf/timestamp.proto"));
    EXPECT_EQ(response.original_request().file_containing_symbol(), symbol);
  }
}

TEST(ReflectionService, V1AlphaAnswersSymbols) {
  ReflectionServer server;
  V1AlphaStream stream(server.channel());
  EXPECT_THAT(FileNames(stream.Symbol("shop.Item.Price")),
              UnorderedElementsAre("shop/catalog.proto", "shop/common.proto",
                                   "google/protobuf/timestamp.proto"));
}

TEST(ReflectionService, AnswersWellKnownTypes) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  EXPECT_THAT(FileNames(stream.Symbol("google.protobuf.Timestamp")),
              ElementsAre("google/protobuf/timestamp.proto"));
  // Not imported by the schema, but a client may still ask for it.
  EXPECT_THAT(FileNames(stream.Symbol("google.protobuf.Duration")),
              ElementsAre("google/protobuf/duration.proto"));
  EXPECT_THAT(FileNames(stream.File("google/protobuf/empty.proto")),
              ElementsAre("google/protobuf/empty.proto"));
}

TEST(ReflectionService, DescribesItself) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  EXPECT_THAT(FileNames(stream.Symbol("grpc.reflection.v1.ServerReflection")),
              ElementsAre("grpc/reflection/v1/reflection.proto"));
  EXPECT_THAT(FileNames(stream.File("grpc/reflection/v1alpha/reflection.proto")),
              ElementsAre("grpc/reflection/v1alpha/reflection.proto"));
}

TEST(ReflectionService, UnknownSymbolIsNotFoundAndStreamGoesOn) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  v1::ServerReflectionResponse response = stream.Symbol("shop.Nope");
  ASSERT_TRUE(response.has_error_response());
  EXPECT_EQ(response.error_response().error_code(), 5);
  EXPECT_THAT(response.error_response().error_message(), ::testing::HasSubstr("shop.Nope"));
  EXPECT_EQ(response.original_request().file_containing_symbol(), "shop.Nope");

  EXPECT_EQ(stream.Symbol("shop.Item.Kind.NOPE").error_response().error_code(), 5);
  EXPECT_FALSE(stream.Symbol("shop.Item").has_error_response());
}

TEST(ReflectionService, EmptyRequestIsInvalidArgument) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  EXPECT_EQ(stream.Ask(v1::ServerReflectionRequest()).error_response().error_code(), 3);
  EXPECT_EQ(stream.Symbol("").error_response().error_code(), 3);
  EXPECT_EQ(stream.File("").error_response().error_code(), 3);
}

TEST(ReflectionService, FileByFilename) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  EXPECT_THAT(FileNames(stream.File("shop/common.proto")), ElementsAre("shop/common.proto"));

  v1::ServerReflectionResponse missing = stream.File("shop/missing.proto");
  ASSERT_TRUE(missing.has_error_response());
  EXPECT_EQ(missing.error_response().error_code(), 5);
  EXPECT_EQ(stream.File("../shop/common.proto").error_response().error_code(), 5);
}

TEST(ReflectionService, AnswersFileDescriptorsThatDescribeTheSchema) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  v1::ServerReflectionResponse response = stream.File("shop/catalog.proto");
  ASSERT_GE(response.file_descriptor_response().file_descriptor_proto_size(), 1);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(response.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.package(), "shop");
  EXPECT_THAT(file.dependency(),
              ElementsAre("google/protobuf/timestamp.proto", "shop/common.proto"));
  ASSERT_EQ(file.service_size(), 1);
  EXPECT_EQ(file.service(0).method(0).name(), "GetItem");
  EXPECT_EQ(file.service(0).method(0).output_type(), ".shop.Item");
}

TEST(ReflectionService, SameStreamDoesNotResendFiles) {
  ReflectionServer server;
  V1Stream stream(server.channel());
  EXPECT_THAT(FileNames(stream.Symbol("shop.Catalog")),
              UnorderedElementsAre("shop/catalog.proto", "shop/common.proto",
                                   "google/protobuf/timestamp.proto"));
  // The requested file always comes back; the dependencies went out already.
  EXPECT_THAT(FileNames(stream.Symbol("shop.Item")), ElementsAre("shop/catalog.proto"));
  EXPECT_THAT(FileNames(stream.File("shop/common.proto")), ElementsAre("shop/common.proto"));

  // Another stream starts afresh.
  V1Stream other(server.channel());
  EXPECT_THAT(FileNames(other.Symbol("shop.Item")),
              UnorderedElementsAre("shop/catalog.proto", "shop/common.proto",
                                   "google/protobuf/timestamp.proto"));
}

TEST(ReflectionService, AnswersExtensions) {
  ReflectionServer server;
  V1Stream stream(server.channel());

  v1::ServerReflectionRequest request;
  request.mutable_file_containing_extension()->set_containing_type("shop.common.Extensible");
  request.mutable_file_containing_extension()->set_extension_number(150);
  EXPECT_THAT(FileNames(stream.Ask(request)), ElementsAre("shop/common.proto"));

  request.mutable_file_containing_extension()->set_extension_number(101);
  EXPECT_EQ(stream.Ask(request).error_response().error_code(), 5);

  v1::ServerReflectionRequest numbers;
  numbers.set_all_extension_numbers_of_type("shop.common.Extensible");
  v1::ServerReflectionResponse response = stream.Ask(numbers);
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(), "shop.common.Extensible");
  EXPECT_THAT(response.all_extension_numbers_response().extension_number(), ElementsAre(100, 150));

  numbers.set_all_extension_numbers_of_type("shop.Item");
  EXPECT_THAT(stream.Ask(numbers).all_extension_numbers_response().extension_number(), IsEmpty());
  numbers.set_all_extension_numbers_of_type("shop.Nope");
  EXPECT_EQ(stream.Ask(numbers).error_response().error_code(), 5);
}

}  // namespace
}  // namespace understudy
