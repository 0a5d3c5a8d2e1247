// Selector: which interaction answers a call (SPEC.md, "Matching").
//
// Among the interactions of the call's method that match — metadata, request body or stream,
// scenario state, remaining `times` — the first in rank order wins (priority, specificity, load
// order). Choosing one counts it as served and applies its `setState`. A miss explains itself by
// naming the closest interaction and the first reason it did not match.
#ifndef UNDERSTUDY_SRC_SELECTOR_H_
#define UNDERSTUDY_SRC_SELECTOR_H_

#include <string>

#include "src/interaction_set.h"
#include "src/request.h"

namespace understudy {

enum class SelectStage {
  kWhole,             // unary, server streaming (request.body) and client streaming (request.stream)
  kBidiStart,         // a bidi call opened: only conversations the server begins are chosen now
  kBidiFirstMessage,  // the first client message is request.body: it must match the first
                      // client step of the conversation, wherever that step stands
  kBidiNoMessage,     // the client half-closed without sending anything
};

// Null on a miss, with `miss` (when not null) set to the reason (none at kBidiStart: wait).
const Interaction* Select(const InteractionSet& set, const google::protobuf::MethodDescriptor* method,
                          const Request& request, SelectStage stage, std::string* miss);

// Matches one client message against a client step of a conversation, explaining a mismatch.
bool MatchStep(const ConversationStep& step, const google::protobuf::Message& message,
               std::string* why);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_SELECTOR_H_
