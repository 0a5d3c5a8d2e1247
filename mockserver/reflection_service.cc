#include "mockserver/reflection_service.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;

constexpr char kReflectionV1[] = "grpc.reflection.v1.ServerReflection";
constexpr char kReflectionV1Alpha[] = "grpc.reflection.v1alpha.ServerReflection";

bool IsWellKnownFile(absl::string_view name) { return absl::StartsWith(name, "google/protobuf/"); }

void AddWithDependencies(const pb::FileDescriptor* file,
                         std::map<std::string, const pb::FileDescriptor*>* files) {
  if (!files->emplace(file->name(), file).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) AddWithDependencies(file->dependency(i), files);
}

// What both protocol versions answer from. Immutable once built, shared by every call.
class Catalog {
 public:
  Catalog(std::shared_ptr<const Schema> schema, const std::vector<std::string>& extra_services)
      : schema_(std::move(schema)) {
    for (const auto* file : schema_->FilesWithDependencies()) schema_files_[file->name()] = file;
    std::set<std::string> listed;
    auto list = [&](const std::string& name) {
      if (listed.insert(name).second) services_.push_back(name);
    };
    for (const auto* service : schema_->services()) list(service->full_name());
    for (const auto& name : extra_services) list(name);
    list(kReflectionV1);
    list(kReflectionV1Alpha);
    // Services that are not part of the schema (reflection itself, health, ...) are described from
    // the code compiled into the binary, when it is there.
    for (const auto& name : services_) {
      if (const auto* service = schema_->pool()->FindServiceByName(name)) {
        AddWithDependencies(service->file(), &schema_files_);
      } else if (const auto* compiled = Generated()->FindServiceByName(name)) {
        AddWithDependencies(compiled->file(), &generated_files_);
      }
    }
  }

  const std::vector<std::string>& services() const { return services_; }

  absl::StatusOr<const pb::FileDescriptor*> FileByName(const std::string& name) const {
    if (name.empty()) return absl::InvalidArgumentError("file_by_filename is empty");
    // Only files already loaded are looked up: asking the schema's pool for an unknown name would
    // make it parse whatever file of that name lies under the import paths.
    if (auto it = schema_files_.find(name); it != schema_files_.end()) return it->second;
    if (auto it = generated_files_.find(name); it != generated_files_.end()) return it->second;
    if (IsWellKnownFile(name)) {
      if (const auto* file = Generated()->FindFileByName(name)) return file;
    }
    return absl::NotFoundError(absl::StrCat("file not found: ", name));
  }

  absl::StatusOr<const pb::FileDescriptor*> FileContainingSymbol(const std::string& symbol) const {
    if (symbol.empty()) return absl::InvalidArgumentError("file_containing_symbol is empty");
    if (const auto* file = schema_->pool()->FindFileContainingSymbol(symbol)) return file;
    if (const auto* file = Generated()->FindFileContainingSymbol(symbol); Exposed(file)) {
      return file;
    }
    // protobuf scopes an enum value beside its enum ("pkg.RED"); clients also write "pkg.Color.RED".
    size_t dot = symbol.rfind('.');
    if (dot != std::string::npos) {
      std::string enum_name = symbol.substr(0, dot);
      const pb::EnumDescriptor* type = schema_->pool()->FindEnumTypeByName(enum_name);
      if (type == nullptr) type = Generated()->FindEnumTypeByName(enum_name);
      if (type != nullptr && Exposed(type->file()) &&
          type->FindValueByName(symbol.substr(dot + 1)) != nullptr) {
        return type->file();
      }
    }
    return absl::NotFoundError(absl::StrCat("symbol not found: ", symbol));
  }

  absl::StatusOr<const pb::FileDescriptor*> FileContainingExtension(const std::string& type_name,
                                                                    int number) const {
    absl::StatusOr<const pb::Descriptor*> type = FindMessage(type_name);
    if (!type.ok()) return type.status();
    const pb::FieldDescriptor* extension =
        (*type)->file()->pool()->FindExtensionByNumber(*type, number);
    if (extension == nullptr || !Exposed(extension->file())) {
      return absl::NotFoundError(
          absl::StrCat("extension not found: ", type_name, " has no extension ", number));
    }
    return extension->file();
  }

  // The full name of `type_name` and its extension numbers, ascending.
  absl::StatusOr<std::pair<std::string, std::vector<int>>> ExtensionNumbers(
      const std::string& type_name) const {
    absl::StatusOr<const pb::Descriptor*> type = FindMessage(type_name);
    if (!type.ok()) return type.status();
    std::vector<const pb::FieldDescriptor*> extensions;
    (*type)->file()->pool()->FindAllExtensions(*type, &extensions);
    std::vector<int> numbers;
    for (const auto* extension : extensions) {
      if (Exposed(extension->file())) numbers.push_back(extension->number());
    }
    std::sort(numbers.begin(), numbers.end());
    return std::make_pair((*type)->full_name(), std::move(numbers));
  }

 private:
  static const pb::DescriptorPool* Generated() { return pb::DescriptorPool::generated_pool(); }

  // Whether `file` may be answered: everything in the schema's pool, and from the generated pool
  // only the well-known types and the files of the listed services.
  bool Exposed(const pb::FileDescriptor* file) const {
    if (file == nullptr) return false;
    if (file->pool() == schema_->pool()) return true;
    return IsWellKnownFile(file->name()) || generated_files_.count(file->name()) > 0;
  }

  absl::StatusOr<const pb::Descriptor*> FindMessage(const std::string& name) const {
    if (name.empty()) return absl::InvalidArgumentError("the message type name is empty");
    const pb::Descriptor* type = schema_->pool()->FindMessageTypeByName(name);
    if (type == nullptr) type = Generated()->FindMessageTypeByName(name);
    if (type == nullptr || !Exposed(type->file())) {
      return absl::NotFoundError(absl::StrCat("message type not found: ", name));
    }
    return type;
  }

  std::shared_ptr<const Schema> schema_;
  std::vector<std::string> services_;
  std::map<std::string, const pb::FileDescriptor*> schema_files_;     // servable by name
  std::map<std::string, const pb::FileDescriptor*> generated_files_;  // listed services, compiled in
};

// The files one stream has been sent, so that each dependency goes out once per stream.
class SentFiles {
 public:
  // Appends `requested` (always: an answer is never empty) and then its transitive dependencies
  // that were not sent before, each as a serialized FileDescriptorProto.
  void Append(const pb::FileDescriptor* requested, pb::RepeatedPtrField<std::string>* out) {
    Append(requested, /*always=*/true, out);
  }

 private:
  void Append(const pb::FileDescriptor* file, bool always, pb::RepeatedPtrField<std::string>* out) {
    if (!sent_.insert(file->name()).second && !always) return;
    pb::FileDescriptorProto proto;
    file->CopyTo(&proto);
    proto.SerializeToString(out->Add());
    for (int i = 0; i < file->dependency_count(); ++i) Append(file->dependency(i), false, out);
  }

  std::unordered_set<std::string> sent_;
};

// The types of one version of the protocol; v1 and v1alpha are identical in shape.
struct V1 {
  using Service = grpc::reflection::v1::ServerReflection;
  using Request = grpc::reflection::v1::ServerReflectionRequest;
  using Response = grpc::reflection::v1::ServerReflectionResponse;
};
struct V1Alpha {
  using Service = grpc::reflection::v1alpha::ServerReflection;
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;
};

// One ServerReflectionInfo call: read a request, write its answer, repeat until the client is done.
// Only one read or write is outstanding at a time, so the reactions never run concurrently and the
// members need no lock.
template <typename Api>
class ReflectionReactor final
    : public grpc::ServerBidiReactor<typename Api::Request, typename Api::Response> {
 public:
  explicit ReflectionReactor(std::shared_ptr<const Catalog> catalog)
      : catalog_(std::move(catalog)) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed or the call is gone
      this->Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    Answer(request_, &response_);
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream closed mid-answer"));
      return;
    }
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  using Request = typename Api::Request;
  using Response = typename Api::Response;

  void Answer(const Request& request, Response* response) {
    absl::Status status;
    switch (request.message_request_case()) {
      case Request::kFileByFilename:
        status = SendFile(catalog_->FileByName(request.file_by_filename()), response);
        break;
      case Request::kFileContainingSymbol:
        status = SendFile(catalog_->FileContainingSymbol(request.file_containing_symbol()),
                          response);
        break;
      case Request::kFileContainingExtension: {
        const auto& extension = request.file_containing_extension();
        status = SendFile(catalog_->FileContainingExtension(extension.containing_type(),
                                                            extension.extension_number()),
                          response);
        break;
      }
      case Request::kAllExtensionNumbersOfType: {
        auto numbers = catalog_->ExtensionNumbers(request.all_extension_numbers_of_type());
        status = numbers.status();
        if (!numbers.ok()) break;
        auto* out = response->mutable_all_extension_numbers_response();
        out->set_base_type_name(numbers->first);
        for (int number : numbers->second) out->add_extension_number(number);
        break;
      }
      case Request::kListServices: {
        auto* out = response->mutable_list_services_response();
        for (const auto& name : catalog_->services()) out->add_service()->set_name(name);
        break;
      }
      default:
        status = absl::InvalidArgumentError(
            "empty request: set file_by_filename, file_containing_symbol, "
            "file_containing_extension, all_extension_numbers_of_type or list_services");
    }
    if (!status.ok()) {
      auto* error = response->mutable_error_response();  // replaces any partial answer
      error->set_error_code(static_cast<int>(status.code()));  // absl codes are gRPC's codes
      error->set_error_message(std::string(status.message()));
    }
    response->set_valid_host(request.host());
    *response->mutable_original_request() = request;
  }

  absl::Status SendFile(const absl::StatusOr<const pb::FileDescriptor*>& file, Response* response) {
    if (!file.ok()) return file.status();
    sent_.Append(*file,
                 response->mutable_file_descriptor_response()->mutable_file_descriptor_proto());
    return absl::OkStatus();
  }

  const std::shared_ptr<const Catalog> catalog_;
  Request request_;
  Response response_;
  SentFiles sent_;
};

template <typename Api>
class ReflectionService final : public Api::Service::CallbackService {
 public:
  explicit ReflectionService(std::shared_ptr<const Catalog> catalog)
      : catalog_(std::move(catalog)) {}

  grpc::ServerBidiReactor<typename Api::Request, typename Api::Response>* ServerReflectionInfo(
      grpc::CallbackServerContext* /*context*/) override {
    return new ReflectionReactor<Api>(catalog_);
  }

 private:
  const std::shared_ptr<const Catalog> catalog_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::Service>> MakeReflectionServices(
    std::shared_ptr<const Schema> schema, std::vector<std::string> extra_services) {
  auto catalog = std::make_shared<const Catalog>(std::move(schema), extra_services);
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(std::make_unique<ReflectionService<V1>>(catalog));
  services.push_back(std::make_unique<ReflectionService<V1Alpha>>(catalog));
  return services;
}

}  // namespace understudy
