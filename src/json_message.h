// JSON (already parsed) to a message in the proto3 JSON mapping, quickly.
//
//   JsonMessageResult r = JsonToMessage(body, message.get());
//   if (!r.status.ok()) { /* protobuf's error */ }
//   if (!r.direct) { /* protobuf's parser took it: it may have been lenient (FindLenientJson) */ }
//
// protobuf's JsonStringToMessage re-parses text and, for a run-time pool, re-describes every type
// on every call: most of the time of loading interaction files. Most bodies are plain (strings,
// numbers, booleans, enums by name, nested messages, arrays, maps with string or integer keys),
// and those are set here directly through reflection, from the JSON that is already parsed.
// Anything else, or anything that could be an error, goes to protobuf's parser unchanged (from a
// cleared message), so the result and the errors are always exactly protobuf's; ctest and the
// json_codec fuzz target check that the two agree.
#ifndef UNDERSTUDY_SRC_JSON_MESSAGE_H_
#define UNDERSTUDY_SRC_JSON_MESSAGE_H_

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"

namespace understudy {

struct JsonMessageResult {
  absl::Status status;
  // Set directly, in the strict mapping; false when protobuf's parser decided.
  bool direct = false;
};

JsonMessageResult JsonToMessage(const nlohmann::json& json, google::protobuf::Message* message);

// Only the direct path: true when it set `message` from `json`; false (message cleared) when the
// JSON needs protobuf's parser. For tests.
bool JsonToMessageDirect(const nlohmann::json& json, google::protobuf::Message* message);

// What a message that fails IsInitialized() lacks, for an error: `missing required field "id" of
// pkg.Reply (proto2 required)`, every missing path named ("inner.code", "items[0].code").
// protobuf aborts the process on serializing such a message (SerializeToString and friends), so
// whatever may be partial is checked first, or serialized with the Partial variants.
std::string MissingRequiredFields(const google::protobuf::Message& message);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_JSON_MESSAGE_H_
