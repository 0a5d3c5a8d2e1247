// The schema of a running server, fetched through gRPC server reflection (v1, or v1alpha for
// servers that only have the older one).
#ifndef UNDERSTUDY_VERIFY_REFLECTION_CLIENT_H_
#define UNDERSTUDY_VERIFY_REFLECTION_CLIENT_H_

#include <chrono>
#include <memory>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "src/schema.h"

namespace understudy {

// Every service the server lists (but reflection itself), with the files they need. Well-known
// types and google/rpc come from this binary when the server does not send them.
absl::StatusOr<std::shared_ptr<const Schema>> SchemaFromReflection(
    const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout);

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_REFLECTION_CLIENT_H_
