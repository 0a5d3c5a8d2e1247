// Response pieces compiled ahead of any call: messages, metadata and status.
//
// A message with no template is serialized once at load and sent as those bytes. A message with
// templates keeps a parsed prototype and the places (slots) the templates fill in; a call copies
// the prototype, sets the slots through reflection and serializes. No JSON is touched per call.
#ifndef UNDERSTUDY_SRC_RESPONSE_H_
#define UNDERSTUDY_SRC_RESPONSE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/diagnostics.h"
#include "src/request.h"
#include "src/template.h"

namespace understudy {

class Schema;

// Where compile errors go and what templates may quote.
struct ResponseContext {
  const Schema* schema;
  std::string file;
  Diagnostics* diagnostics;
  const google::protobuf::Descriptor* request_type;  // for template paths
};

class ResponseMessage {
 public:
  // `body` is the message in the proto3 JSON mapping (matchers already replaced by examples).
  static std::optional<ResponseMessage> Compile(const nlohmann::json& body,
                                                const google::protobuf::Descriptor* type,
                                                const ResponseContext& context,
                                                const std::string& pointer);
  bool HasTemplates() const { return !slots_.empty(); }
  // The wire bytes; fixed bytes when there are no templates.
  absl::StatusOr<std::string> Render(const Request& request) const;
  const std::string& fixed_bytes() const { return bytes_; }

 private:
  struct Step {
    const google::protobuf::FieldDescriptor* field;
    int index = -1;
    std::string map_key;
    bool is_map_key = false;
  };
  struct Slot {
    std::vector<Step> path;
    Template value;
    std::string pointer;
  };
  static bool Walk(nlohmann::json* value, const google::protobuf::Descriptor* type,
                   std::vector<Step>* path, std::vector<Slot>* slots,
                   const ResponseContext& context, const std::string& pointer);
  static absl::Status Fill(google::protobuf::Message* message, const Slot& slot,
                           const std::string& text);

  std::string bytes_;
  std::shared_ptr<const google::protobuf::Message> prototype_;
  std::vector<Slot> slots_;
};

// Header or trailer entries; values may be templates. A `-bin` value without templates is
// base64, decoded at load; with templates, the rendered bytes are the value (so
// `{{request.metadata.x-id-bin}}` echoes a client's binary header).
struct MetadataEntry {
  std::string key;
  Template value;
  bool binary = false;  // a -bin key: any bytes may be sent
};
std::vector<MetadataEntry> CompileMetadata(const nlohmann::json& spec,
                                           const ResponseContext& context,
                                           const std::string& pointer);
// Renders `entries` for `request` into `out` (key, value), checking each value as gRPC would:
// a value it refuses (gRPC aborts the process on one) is an InvalidArgument naming the key and
// what is wrong, and nothing is added to `out`.
absl::Status RenderMetadata(const std::vector<MetadataEntry>& entries, const Request& request,
                            std::vector<std::pair<std::string, std::string>>* out);

struct ResponseStatus {
  int code = 0;  // grpc::StatusCode
  // A code written as a template ("{{request.body.code}}"): rendered per call to a name or a
  // number 0-16, `code` unused.
  std::optional<Template> code_template;
  Template message;
  // google.protobuf.Any details: type URL and the message, which may hold templates.
  std::vector<std::pair<std::string, ResponseMessage>> details;

  // grpc-status-details-bin (a serialized google.rpc.Status) for the rendered `message`, or ""
  // when there are no details.
  absl::StatusOr<std::string> DetailsBin(const Request& request, const std::string& message) const;
  // `code`, or the rendered template's; InvalidArgument when it renders no status code.
  absl::StatusOr<int> Code(const Request& request) const;
};
std::optional<ResponseStatus> CompileStatus(const nlohmann::json& spec,
                                            const ResponseContext& context,
                                            const std::string& pointer);

// Metadata keys a gRPC peer may send: lower-case letters, digits, - _ . (not grpc- or :).
bool IsSendableMetadataKey(absl::string_view key);
// A -bin key: its values are bytes ("-bin" alone is not one, for gRPC).
bool IsBinaryMetadataKey(absl::string_view key);
// Header names that HTTP/2 or gRPC's transport own (content-type, te, connection, ...): gRPC
// drops or replaces them, aborts on a value it cannot parse as its own (grpclb_client_stats),
// or clients reset the stream (connection-specific headers are an HTTP/2 PROTOCOL_ERROR).
bool IsReservedMetadataKey(absl::string_view key);
// Empty when gRPC sends `value` under `key` as it is; else what is wrong with it. Plain keys
// take printable ASCII (0x20-0x7E) only; -bin keys any bytes.
std::string MetadataValueProblem(absl::string_view key, absl::string_view value);
// The bytes of a -bin metadata value written in base64 (standard or web-safe, padding optional).
bool DecodeBinaryMetadata(absl::string_view base64, std::string* bytes);

// "NOT_FOUND" or "5" → 5; -1 when unknown.
int StatusCodeFromName(const std::string& name);
const char* StatusCodeName(int code);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_RESPONSE_H_
