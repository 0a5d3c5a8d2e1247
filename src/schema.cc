#include "src/schema.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <unordered_map>

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.pb.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;

// Files that always resolve from the copies compiled into the binary.
bool IsBuiltinFile(const std::string& name) {
  return absl::StartsWith(name, "google/protobuf/") || absl::StartsWith(name, "google/rpc/");
}

// Serves the well-known types and google/rpc protos from the generated pool, and nothing else,
// so a user's own files always come from their disk.
class BuiltinDatabase : public pb::DescriptorDatabase {
 public:
  BuiltinDatabase() : generated_(*pb::DescriptorPool::generated_pool()) {
    // Referencing the descriptors links the generated google/rpc code in.
    google::rpc::Status::descriptor();
    google::rpc::ErrorInfo::descriptor();
  }
  bool FindFileByName(const std::string& name, pb::FileDescriptorProto* out) override {
    return IsBuiltinFile(name) && generated_.FindFileByName(name, out);
  }
  bool FindFileContainingSymbol(const std::string& symbol, pb::FileDescriptorProto* out) override {
    return generated_.FindFileContainingSymbol(symbol, out) && IsBuiltinFile(out->name());
  }
  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   pb::FileDescriptorProto* out) override {
    return generated_.FindFileContainingExtension(containing_type, field_number, out) &&
           IsBuiltinFile(out->name());
  }

 private:
  pb::DescriptorPoolDatabase generated_;
};

// The first file `name` names under `roots` (as a DiskSourceTree with each root mapped at ""
// resolves it), found without opening it: opening a FIFO blocks, and /dev/zero never ends.
std::string FindUnderRoots(const std::vector<std::string>& roots, const std::string& name) {
  std::error_code ec;
  for (const auto& root : roots) {
    std::filesystem::path path = std::filesystem::path(root) / name;
    if (std::filesystem::exists(path, ec)) return path.string();
  }
  return "";
}

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// protoc's disk source tree, refusing what is not a regular file (a directory, a FIFO, a device)
// before it is opened.
class RegularFilesOnly : public pb::compiler::SourceTree {
 public:
  RegularFilesOnly(pb::compiler::DiskSourceTree* disk, const std::vector<std::string>* roots)
      : disk_(disk), roots_(roots) {}
  pb::io::ZeroCopyInputStream* Open(const std::string& name) override {
    std::string path = FindUnderRoots(*roots_, name);
    if (!path.empty() && !IsRegularFile(path)) {
      error_ = absl::StrCat(path, " is not a regular file");
      return nullptr;
    }
    error_.clear();
    return disk_->Open(name);
  }
  std::string GetLastErrorMessage() override {
    return error_.empty() ? disk_->GetLastErrorMessage() : error_;
  }

 private:
  pb::compiler::DiskSourceTree* disk_;
  const std::vector<std::string>* roots_;
  std::string error_;
};

class ProtoErrors : public pb::compiler::MultiFileErrorCollector {
 public:
  ProtoErrors(pb::compiler::DiskSourceTree* tree, const std::vector<std::string>* roots)
      : tree_(tree), roots_(roots) {}
  void AddError(const std::string& file, int line, int column, const std::string& message) override {
    Add(file, line, column, message, "");
  }
  void AddWarning(const std::string&, int, int, const std::string&) override {}
  void Add(const std::string& file, int line, int column, const std::string& message,
           const std::string& prefix) {
    std::string disk;
    // VirtualFileToDiskFile opens the file: only for regular ones.
    if (tree_ == nullptr || !IsRegularFile(FindUnderRoots(*roots_, file)) ||
        !tree_->VirtualFileToDiskFile(file, &disk)) {
      disk = file;
    }
    std::string where = line < 0 ? disk : absl::StrCat(disk, ":", line + 1, ":", column + 1);
    lines.push_back(absl::StrCat(prefix, where, ": ", message));
  }
  std::vector<std::string> lines;

 private:
  pb::compiler::DiskSourceTree* tree_;
  const std::vector<std::string>* roots_;
};

}  // namespace

struct Schema::Storage {
  std::unique_ptr<BuiltinDatabase> builtin;
  std::unique_ptr<pb::compiler::DiskSourceTree> source_tree;
  std::vector<std::string> roots;  // the import roots, in the source tree's order
  std::unique_ptr<RegularFilesOnly> regular_tree;
  // Outlive the pool: it reports to them whenever a later lookup loads another file.
  std::unique_ptr<ProtoErrors> proto_errors;
  std::unique_ptr<pb::compiler::SourceTreeDescriptorDatabase> source_db;
  std::unique_ptr<pb::SimpleDescriptorDatabase> set_db;
  std::unique_ptr<pb::MergedDescriptorDatabase> merged;
  std::unique_ptr<pb::DescriptorPool> pool;
  // DynamicMessageFactory::GetPrototype is not safe to call concurrently with itself.
  mutable std::mutex factory_mu;
  mutable pb::DynamicMessageFactory factory;
  mutable std::unordered_map<const pb::Descriptor*, const pb::Message*> prototypes;
};

const char* RpcKindName(RpcKind kind) {
  switch (kind) {
    case RpcKind::kUnary: return "unary";
    case RpcKind::kServerStreaming: return "server streaming";
    case RpcKind::kClientStreaming: return "client streaming";
    case RpcKind::kBidiStreaming: return "bidirectional streaming";
  }
  return "unknown";
}

RpcKind KindOf(const pb::MethodDescriptor* method) {
  if (method->client_streaming()) {
    return method->server_streaming() ? RpcKind::kBidiStreaming : RpcKind::kClientStreaming;
  }
  return method->server_streaming() ? RpcKind::kServerStreaming : RpcKind::kUnary;
}

std::string MethodName(const pb::MethodDescriptor* method) {
  return absl::StrCat(method->service()->full_name(), "/", method->name());
}

Schema::Schema() : storage_(std::make_unique<Storage>()) {}
Schema::~Schema() = default;

absl::StatusOr<std::unique_ptr<Schema>> Schema::Load(const SchemaOptions& options) {
  std::unique_ptr<Schema> schema(new Schema());
  Storage& s = *schema->storage_;
  std::vector<std::string> errors;

  s.builtin = std::make_unique<BuiltinDatabase>();
  s.source_tree = std::make_unique<pb::compiler::DiskSourceTree>();
  std::vector<std::string> roots = options.import_paths;
  for (const auto& file : options.proto_files) {
    // A path that is not on disk as given is looked up in the import paths, as protoc does.
    if (!std::filesystem::exists(file) || !IsRegularFile(file)) continue;
    std::string dir = std::filesystem::path(file).parent_path().string();
    roots.push_back(dir.empty() ? "." : dir);
  }
  for (const auto& root : roots) {
    if (!std::filesystem::is_directory(root)) {
      errors.push_back(absl::StrCat(root, ": import path is not a directory"));
      continue;
    }
    s.source_tree->MapPath("", root);
    s.roots.push_back(root);
  }

  s.proto_errors = std::make_unique<ProtoErrors>(s.source_tree.get(), &s.roots);
  ProtoErrors& proto_errors = *s.proto_errors;
  s.regular_tree = std::make_unique<RegularFilesOnly>(s.source_tree.get(), &s.roots);
  s.source_db = std::make_unique<pb::compiler::SourceTreeDescriptorDatabase>(s.regular_tree.get());
  s.source_db->RecordErrorsTo(&proto_errors);

  s.set_db = std::make_unique<pb::SimpleDescriptorDatabase>();
  std::vector<std::string> set_files;
  for (const auto& path : options.descriptor_sets) {
    if (std::filesystem::exists(path) && !IsRegularFile(path)) {
      errors.push_back(absl::StrCat(path, ": not a regular file (expected a descriptor set "
                                          "written by protoc -o)"));
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    pb::FileDescriptorSet set;
    if (!in) {
      errors.push_back(absl::StrCat(path, ": cannot read descriptor set"));
      continue;
    }
    if (!set.ParseFromIstream(&in)) {
      errors.push_back(absl::StrCat(path, ": not a FileDescriptorSet (write one with protoc -o)"));
      continue;
    }
    for (const auto& file : set.file()) {
      if (IsBuiltinFile(file.name())) continue;  // the compiled-in copy wins
      if (!s.set_db->Add(file)) {
        errors.push_back(absl::StrCat(path, ": ", file.name(), ": conflicts with another file"));
      }
      set_files.push_back(file.name());
    }
  }

  // Descriptor sets first, then the built-in files, then the user's disk.
  s.merged = std::make_unique<pb::MergedDescriptorDatabase>(
      std::vector<pb::DescriptorDatabase*>{s.set_db.get(), s.builtin.get(), s.source_db.get()});
  // Semantic errors (undefined types, duplicate names) come back with the line and column of the
  // element in its .proto, as protoc reports them.
  s.pool = std::make_unique<pb::DescriptorPool>(s.merged.get(),
                                                s.source_db->GetValidationErrorCollector());
  s.pool->EnforceWeakDependencies(true);
  schema->pool_ = s.pool.get();

  std::vector<std::string> names = set_files;
  for (const auto& file : options.proto_files) {
    std::string virtual_name, shadowing, disk;
    if (std::filesystem::exists(file) && !IsRegularFile(file)) {
      errors.push_back(absl::StrCat(file, ": not a regular file (expected a .proto file)"));
      continue;
    }
    if (!std::filesystem::exists(file)) {
      if (IsRegularFile(FindUnderRoots(s.roots, file)) &&
          s.source_tree->VirtualFileToDiskFile(file, &disk)) {
        names.push_back(file);
      } else {
        errors.push_back(absl::StrCat(file, ": no such file, here or in an import path"));
      }
      continue;
    }
    switch (s.source_tree->DiskFileToVirtualFile(file, &virtual_name, &shadowing)) {
      case pb::compiler::DiskSourceTree::SUCCESS:
        names.push_back(virtual_name);
        break;
      case pb::compiler::DiskSourceTree::SHADOWED:
        errors.push_back(absl::StrCat(file, ": shadowed by ", shadowing,
                                      " in an earlier import path"));
        break;
      default:
        errors.push_back(absl::StrCat(file, ": not under any import path"));
    }
  }

  std::set<std::string> seen;
  for (const auto& name : names) {
    if (!seen.insert(name).second) continue;
    const pb::FileDescriptor* file = s.pool->FindFileByName(name);
    if (file == nullptr) {
      if (proto_errors.lines.empty()) {
        errors.push_back(absl::StrCat(name, ": could not be loaded"));
      }
      continue;
    }
    schema->files_.push_back(file);
  }
  errors.insert(errors.end(), proto_errors.lines.begin(), proto_errors.lines.end());
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  proto_errors.lines.clear();
  if (schema->files_.empty()) {
    return absl::InvalidArgumentError("no schema: give --proto or --descriptor-set");
  }
  for (const auto* file : schema->files_) {
    for (int i = 0; i < file->service_count(); ++i) schema->services_.push_back(file->service(i));
  }
  return schema;
}

absl::StatusOr<std::unique_ptr<Schema>> Schema::FromPool(const pb::DescriptorPool* pool,
                                                         const std::vector<std::string>& files) {
  std::unique_ptr<Schema> schema(new Schema());
  schema->pool_ = pool;
  for (const auto& name : files) {
    const pb::FileDescriptor* file = pool->FindFileByName(name);
    if (file == nullptr) return absl::NotFoundError(absl::StrCat(name, ": not in the pool"));
    schema->files_.push_back(file);
    for (int i = 0; i < file->service_count(); ++i) schema->services_.push_back(file->service(i));
  }
  return schema;
}

const pb::MethodDescriptor* Schema::FindMethod(absl::string_view name) const {
  if (absl::StartsWith(name, "/")) name.remove_prefix(1);
  size_t slash = name.rfind('/');
  if (slash == absl::string_view::npos) return nullptr;
  const pb::ServiceDescriptor* service = FindService(name.substr(0, slash));
  if (service == nullptr) return nullptr;
  return service->FindMethodByName(std::string(name.substr(slash + 1)));
}

const pb::ServiceDescriptor* Schema::FindService(absl::string_view full_name) const {
  return pool_->FindServiceByName(std::string(full_name));
}

const pb::Descriptor* Schema::FindMessage(absl::string_view full_name) const {
  return pool_->FindMessageTypeByName(std::string(full_name));
}

std::vector<const pb::FileDescriptor*> Schema::FilesWithDependencies() const {
  std::vector<const pb::FileDescriptor*> out;
  std::set<const pb::FileDescriptor*> seen;
  std::function<void(const pb::FileDescriptor*)> visit = [&](const pb::FileDescriptor* f) {
    if (!seen.insert(f).second) return;
    for (int i = 0; i < f->dependency_count(); ++i) visit(f->dependency(i));
    out.push_back(f);
  };
  for (const auto* f : files_) visit(f);
  return out;
}

const pb::Message* Schema::Prototype(const pb::Descriptor* type) const {
  if (type->file()->pool() == pb::DescriptorPool::generated_pool()) {
    return pb::MessageFactory::generated_factory()->GetPrototype(type);
  }
  std::lock_guard<std::mutex> lock(storage_->factory_mu);
  auto [it, inserted] = storage_->prototypes.emplace(type, nullptr);
  if (inserted) it->second = storage_->factory.GetPrototype(type);
  return it->second;
}

std::unique_ptr<pb::Message> Schema::NewMessage(const pb::Descriptor* type) const {
  return std::unique_ptr<pb::Message>(Prototype(type)->New());
}

namespace {
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same = std::tolower(a[i - 1]) == std::tolower(b[j - 1]);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string Schema::Closest(absl::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace understudy
