// Schema: the descriptors Understudy serves, verifies and fuzzes with, loaded at run time.
//
//   understudy::SchemaOptions options;
//   options.proto_files = {"proto/user.proto"};
//   auto schema = understudy::Schema::Load(options);
//   if (!schema.ok()) { std::cerr << schema.status().message(); }
//   const auto* method = (*schema)->FindMethod("user.UserService/GetUser");
//
// .proto files are parsed with protobuf's compiler (no code generation). Google's well-known
// types and google/rpc/{status,error_details}.proto always resolve, from the copies compiled into
// this binary, whether or not the machine has them on disk.
//
// Thread safety: a loaded Schema is immutable and may be shared by any number of threads.
#ifndef UNDERSTUDY_SRC_SCHEMA_H_
#define UNDERSTUDY_SRC_SCHEMA_H_

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace understudy {

struct SchemaOptions {
  std::vector<std::string> proto_files;      // --proto
  std::vector<std::string> import_paths;     // -I; each proto file's directory is added after them
  std::vector<std::string> descriptor_sets;  // --descriptor-set (FileDescriptorSet, binary)
};

enum class RpcKind { kUnary, kServerStreaming, kClientStreaming, kBidiStreaming };

const char* RpcKindName(RpcKind kind);
RpcKind KindOf(const google::protobuf::MethodDescriptor* method);
// "package.Service/Method", as grpcurl and interaction files write it.
std::string MethodName(const google::protobuf::MethodDescriptor* method);

class Schema {
 public:
  // Parses every proto file and descriptor set. On failure the status message lists every
  // problem, one per line, .proto errors as "file:line:col: message".
  static absl::StatusOr<std::unique_ptr<Schema>> Load(const SchemaOptions& options);

  // A schema over a pool the caller owns (e.g. the generated pool); `pool` must outlive it.
  // Services are those of `files` (by file name); all services in the pool's files when empty.
  static absl::StatusOr<std::unique_ptr<Schema>> FromPool(
      const google::protobuf::DescriptorPool* pool, const std::vector<std::string>& files);

  ~Schema();
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  const google::protobuf::DescriptorPool* pool() const { return pool_; }

  // Accepts "pkg.Service/Method" and "/pkg.Service/Method" (the HTTP/2 path). Null if unknown.
  const google::protobuf::MethodDescriptor* FindMethod(absl::string_view name) const;
  const google::protobuf::ServiceDescriptor* FindService(absl::string_view full_name) const;
  const google::protobuf::Descriptor* FindMessage(absl::string_view full_name) const;

  // The services of the loaded files (not of their imports), in load order.
  const std::vector<const google::protobuf::ServiceDescriptor*>& services() const {
    return services_;
  }
  // The loaded files and everything they import, each once, dependencies first.
  std::vector<const google::protobuf::FileDescriptor*> FilesWithDependencies() const;

  // The default instance of `type`; thread-safe; owned by the schema.
  const google::protobuf::Message* Prototype(const google::protobuf::Descriptor* type) const;
  std::unique_ptr<google::protobuf::Message> NewMessage(
      const google::protobuf::Descriptor* type) const;

  // Names similar to `name` among `candidates`, for "did you mean" hints; empty when none is close.
  static std::string Closest(absl::string_view name, const std::vector<std::string>& candidates);

 private:
  Schema();
  struct Storage;
  std::unique_ptr<Storage> storage_;
  const google::protobuf::DescriptorPool* pool_ = nullptr;
  std::vector<const google::protobuf::FileDescriptor*> files_;
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_SCHEMA_H_
