// UserSession: one BidirectionalStream call of user.UserService, driven one request at a time:
// each request is sent, then its answer is awaited.
//
//   std::unique_ptr<user_client::UserSession> session = directory.OpenSession();
//   absl::StatusOr<user::BidirectionalResponse> ada = session->Get("42");
//   absl::StatusOr<user::BidirectionalResponse> pong = session->Ping();
//   absl::Status status = session->Close();   // the call's final status
//
// When the service ends the call (an error, or simply the end of its conversation), the pending
// request and every later one return the call's status; Close() returns it too.
//
// Thread safety: none; one thread drives a session.
#ifndef UNDERSTUDY_EXAMPLES_USER_CLIENT_USER_SESSION_H_
#define UNDERSTUDY_EXAMPLES_USER_CLIENT_USER_SESSION_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "user.grpc.pb.h"

namespace user_client {

class UserSession {
 public:
  // `context` has its metadata and deadline set; the call is started here.
  UserSession(user::UserService::Stub* stub, std::unique_ptr<grpc::ClientContext> context);
  ~UserSession();  // cancels the call unless Close() finished it
  UserSession(const UserSession&) = delete;
  UserSession& operator=(const UserSession&) = delete;

  // Looks up `user_id`.
  absl::StatusOr<user::BidirectionalResponse> Get(const std::string& user_id);
  // A no-op the service answers with "pong".
  absl::StatusOr<user::BidirectionalResponse> Ping();
  // Any action, with a fresh request id ("r1", "r2", ...). An answer naming another request id
  // is an INTERNAL error.
  absl::StatusOr<user::BidirectionalResponse> Send(const std::string& action,
                                                   const std::string& user_id);
  // Half-closes and waits for the call's status.
  absl::Status Close();

 private:
  // Ends the call and keeps its status.
  absl::Status Finish();

  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<user::BidirectionalRequest, user::BidirectionalResponse>>
      stream_;
  int next_request_ = 1;
  std::optional<absl::Status> final_status_;  // set once the call has ended
};

}  // namespace user_client

#endif  // UNDERSTUDY_EXAMPLES_USER_CLIENT_USER_SESSION_H_
