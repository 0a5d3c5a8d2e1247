// gRPC statuses with google.rpc error details, as clients (and `understudy verify`) read them:
// the details string of a grpc::Status is a serialized google.rpc.Status carrying the same code
// and message, sent as the `grpc-status-details-bin` trailer.
//
//   return BadRequest("user_id is required", {{"user_id", "must not be empty"}});
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_RPC_ERRORS_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_RPC_ERRORS_H_

#include <grpcpp/support/status.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace user_service {

// The domain of every ErrorInfo this service sends.
inline constexpr char kErrorDomain[] = "users.example.com";

struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT with a google.rpc.BadRequest.
grpc::Status BadRequest(const std::string& message, const std::vector<FieldViolation>& violations);

// `code` with a google.rpc.ErrorInfo{reason, domain: kErrorDomain, metadata}.
grpc::Status WithErrorInfo(grpc::StatusCode code, const std::string& message,
                           const std::string& reason,
                           const std::map<std::string, std::string>& metadata);

// FAILED_PRECONDITION with one google.rpc.PreconditionFailure violation.
grpc::Status PreconditionFailed(const std::string& message, const std::string& type,
                                const std::string& subject, const std::string& description);

// An unexpected store error: INTERNAL with the store's message.
grpc::Status Internal(const absl::Status& status);

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_RPC_ERRORS_H_
