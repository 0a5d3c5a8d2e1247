// A gRPC status as an absl::Status. The two share their codes (gRPC's code names are abseil's),
// so the conversion keeps code and message; details stay in grpc::Status::error_details().
#ifndef UNDERSTUDY_EXAMPLES_USER_CLIENT_STATUS_H_
#define UNDERSTUDY_EXAMPLES_USER_CLIENT_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace user_client {

inline absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace user_client

#endif  // UNDERSTUDY_EXAMPLES_USER_CLIENT_STATUS_H_
