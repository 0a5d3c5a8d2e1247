// Interaction: one compiled entry of an interaction file (see SPEC.md, "Interaction files").
//
// Everything is resolved when the file loads: the method's descriptor, matchers compiled against
// the request type, response messages serialized (or prepared for templates), status details
// encoded. Only `served` changes afterwards.
#ifndef UNDERSTUDY_SRC_INTERACTION_H_
#define UNDERSTUDY_SRC_INTERACTION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "src/matcher.h"
#include "src/response.h"
#include "src/schema.h"

namespace understudy {

struct MetadataMatcher {
  std::string key;  // lower case
  std::unique_ptr<Matcher> matcher;
  bool binary = false;  // a -bin key: the matcher sees the value in base64, as files write it
};

// A message the server sends, and how long to wait before sending it.
struct ServerMessage {
  ResponseMessage message;
  int64_t delay_ms = 0;
};

// One step of a bidirectional conversation: a client message to match or a server message.
struct ConversationStep {
  std::unique_ptr<Matcher> client;      // set for client steps
  std::optional<ServerMessage> server;  // set for server steps
  std::string pointer;                  // of the step, for mismatch reports
};

struct Interaction {
  // Identity.
  std::string name;
  std::string file;
  std::string pointer;  // "/interactions/N" within `file`
  size_t load_order = 0;

  const google::protobuf::MethodDescriptor* method = nullptr;
  RpcKind kind = RpcKind::kUnary;

  // Selection.
  int64_t priority = 0;
  int specificity = 0;
  int64_t times = -1;  // -1: unlimited
  std::string scenario, when_state, set_state;
  std::vector<std::string> given;

  // Request side.
  std::vector<MetadataMatcher> metadata;
  std::unique_ptr<Matcher> body;                  // unary and server streaming; null: any
  bool has_stream = false;                        // client streaming: `stream` was given
  std::vector<std::unique_ptr<Matcher>> stream;   // one per client message
  std::vector<ConversationStep> conversation;     // bidirectional streaming

  // Response side.
  std::vector<MetadataEntry> headers;
  std::vector<MetadataEntry> trailers;
  std::vector<ServerMessage> messages;  // the body (one) or the stream, in order
  ResponseStatus status;
  int64_t delay_ms = 0;

  // The interaction as written, as compact JSON text: a parsed copy kept for each of a large set
  // would take more memory than everything compiled from it. Shared by every recompilation of
  // the interaction (a mock's live set).
  std::shared_ptr<const std::string> source_text;
  // The interaction as written, parsed.
  nlohmann::json Source() const { return nlohmann::json::parse(*source_text); }

  // How many calls it has answered; with `times`, it stops matching at that count.
  mutable std::atomic<int64_t> served{0};

  // "name" (file)
  std::string Label() const { return "\"" + name + "\" (" + file + ")"; }
};

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_INTERACTION_H_
