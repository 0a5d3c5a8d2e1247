#include "verify/reflection_client.h"

#include <set>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;

// The pool a reflected schema looks names up in, and the schema over it.
struct ReflectedSchema {
  pb::SimpleDescriptorDatabase received;
  pb::DescriptorPoolDatabase builtin{*pb::DescriptorPool::generated_pool()};
  pb::MergedDescriptorDatabase merged{&received, &builtin};
  pb::DescriptorPool pool{&merged};
  std::unique_ptr<Schema> schema;
};

// One reflection stream; Request and Response are those of v1 or v1alpha (the same shapes).
template <typename Service, typename Request, typename Response>
absl::Status Fetch(const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout,
                   ReflectedSchema* out, std::vector<std::string>* service_files) {
  auto stub = Service::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  auto stream = stub->ServerReflectionInfo(&context);
  auto ask = [&](const Request& request, Response* response) -> absl::Status {
    if (!stream->Write(request) || !stream->Read(response)) {
      stream->WritesDone();
      grpc::Status status = stream->Finish();
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("server reflection: ", status.error_message()));
    }
    if (response->has_error_response()) {
      return absl::NotFoundError(absl::StrCat("server reflection: ",
                                              response->error_response().error_message()));
    }
    return absl::OkStatus();
  };
  std::set<std::string> have;
  std::vector<std::string> wanted;  // files named as dependencies, not yet received
  auto take = [&](const Response& response) {
    std::vector<std::string> names;
    for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes) || have.count(file.name()) > 0) continue;
      have.insert(file.name());
      names.push_back(file.name());
      for (const auto& dependency : file.dependency()) wanted.push_back(dependency);
      out->received.Add(file);
    }
    return names;
  };

  Request list;
  list.set_list_services("");
  Response services;
  if (auto status = ask(list, &services); !status.ok()) return status;
  for (const auto& service : services.list_services_response().service()) {
    if (absl::StartsWith(service.name(), "grpc.reflection.")) continue;
    Request request;
    request.set_file_containing_symbol(service.name());
    Response response;
    // A listed service whose file the server cannot give (some list health without it) is left
    // out; a method of it in an interaction is then reported as unknown.
    if (auto status = ask(request, &response); !status.ok()) {
      if (absl::IsNotFound(status)) continue;
      return status;
    }
    auto names = take(response);
    if (!names.empty()) service_files->push_back(names.front());
  }
  while (!wanted.empty()) {
    std::string name = wanted.back();
    wanted.pop_back();
    pb::FileDescriptorProto ignored;
    if (have.count(name) > 0 || out->builtin.FindFileByName(name, &ignored)) continue;
    Request request;
    request.set_file_by_filename(name);
    Response response;
    if (auto status = ask(request, &response); !status.ok()) return status;
    take(response);
  }
  stream->WritesDone();
  stream->Finish();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Schema>> SchemaFromReflection(
    const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout) {
  auto reflected = std::make_shared<ReflectedSchema>();
  std::vector<std::string> files;
  absl::Status status =
      Fetch<grpc::reflection::v1::ServerReflection, grpc::reflection::v1::ServerReflectionRequest,
            grpc::reflection::v1::ServerReflectionResponse>(channel, timeout, reflected.get(), &files);
  if (absl::IsUnimplemented(status)) {
    reflected = std::make_shared<ReflectedSchema>();
    files.clear();
    status = Fetch<grpc::reflection::v1alpha::ServerReflection,
                   grpc::reflection::v1alpha::ServerReflectionRequest,
                   grpc::reflection::v1alpha::ServerReflectionResponse>(channel, timeout,
                                                                        reflected.get(), &files);
  }
  if (!status.ok()) return status;
  for (const auto& file : files) {
    if (reflected->pool.FindFileByName(file) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("server reflection: ", file,
                                                     " does not build (missing dependencies?)"));
    }
  }
  auto schema = Schema::FromPool(&reflected->pool, files);
  if (!schema.ok()) return schema.status();
  reflected->schema = std::move(*schema);
  return std::shared_ptr<const Schema>(reflected, reflected->schema.get());
}

}  // namespace understudy
