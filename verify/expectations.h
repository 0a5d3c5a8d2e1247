// What a VerifyCase expects of the server's answer; internal to verify/.
#ifndef UNDERSTUDY_VERIFY_EXPECTATIONS_H_
#define UNDERSTUDY_VERIFY_EXPECTATIONS_H_

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "src/matcher.h"
#include "verify/verify_case.h"

namespace understudy {

struct ExpectedMessage {
  std::unique_ptr<Matcher> matcher;  // null: any message of the output type
  std::string pointer;               // relative to the interaction
};

struct ExpectedMetadata {
  std::string key;  // lower case
  std::unique_ptr<Matcher> matcher;
  bool binary = false;  // a -bin key: the file writes base64
  std::string pointer;
};

struct ExpectedDetail {
  const google::protobuf::Descriptor* type;
  std::unique_ptr<Matcher> matcher;  // over the unpacked message
  std::string pointer;
};

struct VerifyCase::Expectations {
  bool check_messages = false;  // false: the interaction does not say what the server sends
  // Unary and client streaming: the body; server streaming: the stream; bidi: the server steps.
  std::vector<ExpectedMessage> messages;
  std::string messages_pointer;  // where missing or extra messages are reported
  std::vector<ExpectedMetadata> headers, trailers;
  int code = 0;
  std::unique_ptr<Matcher> status_message;  // null: any message
  std::vector<ExpectedDetail> details;
};

// What the server did.
struct VerifyCase::Outcome {
  grpc::Status status;
  std::vector<std::string> messages;  // serialized, in arrival order
  // The server sent more messages than expected: the verifier cancelled the call after the first
  // extra one, so the status and trailers are not the server's.
  bool cut_short = false;
  MetadataPairs headers, trailers;
};

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_EXPECTATIONS_H_
