// The reactors of the three streaming methods of UserServiceImpl. Each deletes itself when its
// call is done. Internal to examples/user_service.
//
// StreamUsers: reads one row per message from the store (so rows added meanwhile are seen),
//   honouring the status filter and the limit; a limit of 1000 or more is a bulk export, limited
//   to 2 users per call: then RESOURCE_EXHAUSTED with the trailer `retry-after: 30`. Trailer
//   `x-stream-count`. Stops when the call is cancelled or its deadline passes.
// CreateUserStream: validates each message as it arrives (the first bad one ends the call),
//   then creates them all in one transaction. Trailer `x-created-count`.
// BidirectionalStream: answers each request as it arrives: "get" (a user), "ping" ("pong");
//   "delete"/"purge" end the call with PERMISSION_DENIED. Trailer `x-handled`.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_STREAMS_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_STREAMS_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "examples/user_service/handler_support.h"
#include "user.pb.h"

namespace user_service {

grpc::ServerWriteReactor<user::UserResponse>* NewStreamUsersReactor(
    const Backend& backend, grpc::CallbackServerContext* context,
    const user::StreamUsersRequest& request);

grpc::ServerReadReactor<user::CreateUserRequest>* NewCreateUserStreamReactor(
    const Backend& backend, grpc::CallbackServerContext* context,
    user::CreateUserResponse* response);

grpc::ServerBidiReactor<user::BidirectionalRequest, user::BidirectionalResponse>*
NewBidirectionalReactor(const Backend& backend, grpc::CallbackServerContext* context);

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_STREAMS_H_
