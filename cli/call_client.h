// A grpcurl-style client for any method of a run-time schema: JSON in, JSON out.
#ifndef UNDERSTUDY_CLI_CALL_CLIENT_H_
#define UNDERSTUDY_CLI_CALL_CLIENT_H_

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mockserver/tls.h"
#include "src/schema.h"

namespace understudy {

struct CallOptions {
  std::string target;               // HOST:PORT
  std::string method;               // package.Service/Method
  std::string data = "{}";          // one JSON object per request message, concatenated
  std::vector<std::pair<std::string, std::string>> headers;
  double timeout_seconds = 30;
  bool compact = false;             // one line per message instead of indented JSON
  bool verbose = false;             // print response headers and trailers to `err`
  ClientTls tls;
};

// The payload under which CallMethod keeps grpc-status-details-bin.
inline constexpr char kStatusDetailsPayload[] = "grpc-status-details-bin";

// Calls the method and prints every response message to `out` as JSON. Returns the call's gRPC
// status (as an absl::Status with the same code, details as a payload), or InvalidArgument for
// bad input.
absl::Status CallMethod(const Schema& schema, const CallOptions& options, std::ostream& out,
                        std::ostream& err);

// "KEY: VALUE" (as -H and --header take it) → lower-case KEY and VALUE; false without a colon.
bool SplitHeader(const std::string& header, std::string* key, std::string* value);

// What ParseHeaderFlags does with the base64 value of a -bin key.
enum class BinaryHeaders {
  kDecode,  // the bytes it stands for: what is sent (call, fuzz)
  kKeep,    // as written, checked: a later step decodes it (verify's plan, with the files' own)
};

// The values of a repeatable "KEY: VALUE" flag (`flag` is its name in the errors) as metadata:
// keys lower-cased and checked as gRPC allows (MetadataProblem), -bin values base64.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseHeaderFlags(
    const std::vector<std::string>& headers, const std::string& flag, BinaryHeaders binary);

// A status's details (a google.rpc.Status) as indented JSON; "" when it has none.
std::string DetailsAsJson(const Schema& schema, const absl::Status& status);

}  // namespace understudy

#endif  // UNDERSTUDY_CLI_CALL_CLIENT_H_
