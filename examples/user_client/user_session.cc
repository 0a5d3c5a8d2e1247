#include "examples/user_client/user_session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "examples/user_client/status.h"

namespace user_client {

UserSession::UserSession(user::UserService::Stub* stub,
                         std::unique_ptr<grpc::ClientContext> context)
    : context_(std::move(context)), stream_(stub->BidirectionalStream(context_.get())) {}

UserSession::~UserSession() {
  if (final_status_.has_value()) return;
  context_->TryCancel();
  stream_->Finish();
}

absl::StatusOr<user::BidirectionalResponse> UserSession::Get(const std::string& user_id) {
  return Send("get", user_id);
}

absl::StatusOr<user::BidirectionalResponse> UserSession::Ping() { return Send("ping", ""); }

absl::StatusOr<user::BidirectionalResponse> UserSession::Send(const std::string& action,
                                                              const std::string& user_id) {
  if (final_status_.has_value()) {
    return final_status_->ok() ? absl::FailedPreconditionError("the session has ended")
                               : *final_status_;
  }
  user::BidirectionalRequest request;
  request.set_request_id(absl::StrCat("r", next_request_++));
  request.set_action(action);
  request.set_user_id(user_id);
  user::BidirectionalResponse response;
  // Write or Read fail only when the call has ended; its status says why.
  if (!stream_->Write(request) || !stream_->Read(&response)) {
    absl::Status status = Finish();
    if (status.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the service ended the session before answering ", request.request_id()));
    }
    return status;
  }
  // Answers without a request id (the service's "pong") answer the latest request.
  if (!response.request_id().empty() && response.request_id() != request.request_id()) {
    return absl::InternalError(absl::StrCat("answer to ", response.request_id(),
                                            " while waiting for ", request.request_id()));
  }
  return response;
}

absl::Status UserSession::Close() {
  if (final_status_.has_value()) return *final_status_;
  stream_->WritesDone();  // fails harmlessly when the service has already ended the call
  return Finish();
}

absl::Status UserSession::Finish() {
  final_status_ = ToAbsl(stream_->Finish());
  return *final_status_;
}

}  // namespace user_client
