// What every fuzz target shares: the schemas and contracts they load once, the message types and
// methods their first input byte selects, and a clear way to report a broken invariant.
//
//   static const auto* schema = new std::shared_ptr<const Schema>(LoadCodecSchema());
//   const auto& types = CodecTypes(**schema);
//   const Descriptor* type = types[data[0] % types.size()];
//
// Loading aborts with a message when the repository's files are missing: a fuzzer that cannot
// load its schema has nothing to fuzz. The repository is $UNDERSTUDY_SOURCE_DIR, else the source
// directory the target was built from.
#ifndef UNDERSTUDY_FUZZ_FUZZ_SUPPORT_H_
#define UNDERSTUDY_FUZZ_FUZZ_SUPPORT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/type_resolver.h>

#include "src/interaction_set.h"
#include "src/schema.h"

namespace understudy::fuzz {

std::string SourceDir();

// proto/user.proto and proto/inventory/v1/inventory.proto (wire format and JSON codec targets).
std::shared_ptr<const Schema> LoadCodecSchema();
// proto/user.proto alone, as contracts/user_service is written against.
std::shared_ptr<const Schema> LoadUserSchema();
// contracts/user_service compiled against `schema`.
std::shared_ptr<InteractionSet> LoadUserContracts(std::shared_ptr<const Schema> schema);

// Every message type defined in the schema's service files (nested ones too, map entries not),
// in file and declaration order: the type a first input byte selects.
std::vector<const google::protobuf::Descriptor*> CodecTypes(const Schema& schema);
// Every method of the schema's services, in declaration order.
std::vector<const google::protobuf::MethodDescriptor*> Methods(const Schema& schema);

// A TypeResolver over `pool` ("type.googleapis.com/...") that remembers what it resolved: protobuf's
// JSON functions ask for every type of a message again on each call, and building a
// google.protobuf.Type from descriptors costs more than the conversion. Not thread-safe.
class CachingTypeResolver : public google::protobuf::util::TypeResolver {
 public:
  explicit CachingTypeResolver(const google::protobuf::DescriptorPool* pool);
  google::protobuf::util::Status ResolveMessageType(const std::string& url,
                                                    google::protobuf::Type* type) override;
  google::protobuf::util::Status ResolveEnumType(const std::string& url,
                                                 google::protobuf::Enum* type) override;
  static std::string UrlOf(const google::protobuf::Descriptor* type) {
    return "type.googleapis.com/" + type->full_name();
  }

 private:
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  std::map<std::string, google::protobuf::Type> types_;
  std::map<std::string, google::protobuf::Enum> enums_;
};

// Silences protobuf's log (every undecodable string field logs an error, which slows fuzzing).
void QuietProtobufLogs();

// Every input sees the set as loaded: `times` counts at zero, every scenario "Started".
void ResetState(const InteractionSet& set);

// A broken invariant: prints `what` and aborts, so libFuzzer saves the input.
[[noreturn]] void Fail(const std::string& what);

}  // namespace understudy::fuzz

#endif  // UNDERSTUDY_FUZZ_FUZZ_SUPPORT_H_
