#include "fuzz/fuzz_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/type_resolver_util.h>

namespace understudy::fuzz {
namespace {

namespace pb = google::protobuf;

std::shared_ptr<const Schema> LoadOrDie(const std::vector<std::string>& files) {
  SchemaOptions options;
  for (const auto& file : files) options.proto_files.push_back(SourceDir() + "/" + file);
  options.import_paths = {SourceDir() + "/proto"};
  auto schema = Schema::Load(options);
  if (!schema.ok()) Fail("cannot load the schema: " + std::string(schema.status().message()));
  return std::shared_ptr<const Schema>(std::move(*schema));
}

void AddTypes(const pb::Descriptor* type, std::vector<const pb::Descriptor*>* out) {
  if (type->options().map_entry()) return;
  out->push_back(type);
  for (int i = 0; i < type->nested_type_count(); ++i) AddTypes(type->nested_type(i), out);
}

}  // namespace

std::string SourceDir() {
  const char* env = std::getenv("UNDERSTUDY_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : UNDERSTUDY_SOURCE_DIR;
}

std::shared_ptr<const Schema> LoadCodecSchema() {
  return LoadOrDie({"proto/user.proto", "proto/inventory/v1/inventory.proto"});
}

std::shared_ptr<const Schema> LoadUserSchema() { return LoadOrDie({"proto/user.proto"}); }

std::shared_ptr<InteractionSet> LoadUserContracts(std::shared_ptr<const Schema> schema) {
  auto set = InteractionSet::Load(std::move(schema), {SourceDir() + "/contracts/user_service"});
  if (!set.ok()) Fail("cannot load contracts/user_service: " + std::string(set.status().message()));
  return *set;
}

std::vector<const pb::Descriptor*> CodecTypes(const Schema& schema) {
  std::vector<const pb::Descriptor*> types;
  std::vector<const pb::FileDescriptor*> files;
  for (const auto* service : schema.services()) {
    if (std::find(files.begin(), files.end(), service->file()) == files.end()) {
      files.push_back(service->file());
    }
  }
  for (const auto* file : files) {
    for (int i = 0; i < file->message_type_count(); ++i) AddTypes(file->message_type(i), &types);
  }
  return types;
}

std::vector<const pb::MethodDescriptor*> Methods(const Schema& schema) {
  std::vector<const pb::MethodDescriptor*> methods;
  for (const auto* service : schema.services()) {
    for (int i = 0; i < service->method_count(); ++i) methods.push_back(service->method(i));
  }
  return methods;
}

CachingTypeResolver::CachingTypeResolver(const pb::DescriptorPool* pool)
    : resolver_(pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com", pool)) {}

pb::util::Status CachingTypeResolver::ResolveMessageType(const std::string& url, pb::Type* type) {
  auto it = types_.find(url);
  if (it == types_.end()) {
    pb::Type resolved;
    auto status = resolver_->ResolveMessageType(url, &resolved);
    if (!status.ok()) return status;
    it = types_.emplace(url, std::move(resolved)).first;
  }
  *type = it->second;
  return pb::util::Status();
}

pb::util::Status CachingTypeResolver::ResolveEnumType(const std::string& url, pb::Enum* type) {
  auto it = enums_.find(url);
  if (it == enums_.end()) {
    pb::Enum resolved;
    auto status = resolver_->ResolveEnumType(url, &resolved);
    if (!status.ok()) return status;
    it = enums_.emplace(url, std::move(resolved)).first;
  }
  *type = it->second;
  return pb::util::Status();
}

void QuietProtobufLogs() { pb::SetLogHandler([](pb::LogLevel, const char*, int, const std::string&) {}); }

void ResetState(const InteractionSet& set) {
  for (const auto& interaction : set.interactions()) interaction->served.store(0);
  set.scenarios().Reset();
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace understudy::fuzz
