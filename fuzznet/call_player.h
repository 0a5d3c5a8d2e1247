// Plays one fuzz request against a server and sums up what came back.
//
//   grpc::GenericStub stub(channel);
//   CallOutcome outcome = PlayCall(&stub, request, headers, std::chrono::milliseconds(1000));
//   if (outcome.code == grpc::StatusCode::INTERNAL) { ... }
//   uint64_t key = OutcomeHash(request.method, outcome, schema);  // new: a request worth keeping
//
// Every RPC kind is played the same way: send every client message, half-close, read every
// server message, then the status. That is also the order the finding file writes (a
// bidirectional conversation lists the client steps, then one step per server message), so
// `understudy verify` replays the call as it was made.
#ifndef UNDERSTUDY_FUZZNET_CALL_PLAYER_H_
#define UNDERSTUDY_FUZZNET_CALL_PLAYER_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzznet/request_generator.h"
#include "verify/generic_call.h"

namespace understudy::fuzznet {

// The gRPC status codes are 0 (OK) to 16 (UNAUTHENTICATED).
inline constexpr int kStatusCodeCount = 17;

struct CallOutcome {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;         // the status message
  int responses = 0;           // server messages received
  std::string first_response;  // serialized, when there was one
  double seconds = 0;          // from start to status
};

CallOutcome PlayCall(grpc::GenericStub* stub, const FuzzRequest& request,
                     const MetadataPairs& headers, std::chrono::milliseconds deadline);

// The status message with what varies from call to call blurred: quoted text becomes "*", UUIDs
// <uuid>, runs of 8 or more hex digits <hex>, digit runs '#'; long messages are cut. Messages
// that echo request data still vary (unquoted names), so findings are also capped per method and
// code (FindingLimiter in finding.h).
std::string MessageShape(const std::string& message);

// What the fuzzer counts as one kind of answer: the method, the code, the message shape and, for
// answers with messages, which top-level fields the first one set and how many came (0, 1, 2,
// many). A request that produced a key not seen before joins the corpus.
std::string OutcomeKey(const google::protobuf::MethodDescriptor* method, const CallOutcome& outcome,
                       const Schema& schema);
// OutcomeKey as a 64-bit hash (FNV-1a): what the fuzzer remembers of each answer.
uint64_t OutcomeHash(const google::protobuf::MethodDescriptor* method, const CallOutcome& outcome,
                     const Schema& schema);

// 64-bit FNV-1a: stable across runs and platforms (file names derive from it).
uint64_t Fnv1a64(absl::string_view text);

}  // namespace understudy::fuzznet

#endif  // UNDERSTUDY_FUZZNET_CALL_PLAYER_H_
