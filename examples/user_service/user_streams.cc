#include "examples/user_service/user_streams.h"

#include <grpcpp/alarm.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "examples/user_service/rpc_errors.h"

namespace user_service {
namespace {

using internal::Admit;

// A StreamUsers limit from which a call is a bulk export, and what one call of it may send.
constexpr int kBulkExportLimit = 1000;
constexpr int kBulkQuota = 2;
constexpr char kBulkRetryAfterSeconds[] = "30";
constexpr size_t kMaxUsersPerStream = 1000;

class StreamUsersReactor final : public grpc::ServerWriteReactor<user::UserResponse> {
 public:
  StreamUsersReactor(const Backend& backend, grpc::CallbackServerContext* context,
                     const user::StreamUsersRequest& request)
      : backend_(backend),
        context_(context),
        status_(request.status()),
        limit_(request.limit()),
        bulk_(request.limit() >= kBulkExportLimit) {
    grpc::Status rejection;
    if (!Admit(backend, context, &rejection)) {
      Finish(rejection);
    } else if (request.limit() < 0) {
      Finish(BadRequest("limit must not be negative", {{"limit", "must not be negative"}}));
    } else {
      Next();
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(grpc::Status::CANCELLED);  // the client went away
    ++sent_;
    Next();
  }

  void OnCancel() override {
    bool armed;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      armed = alarm_armed_;
    }
    if (armed) alarm_.Cancel();  // its callback then runs with false and ends the call
  }

  void OnDone() override { delete this; }

 private:
  // Sends the next user, or ends the call. Exactly one of StartWrite, an alarm or End.
  void Next() {
    if (context_->IsCancelled()) return End(grpc::Status::CANCELLED);
    if (limit_ > 0 && !bulk_ && sent_ >= limit_) return End(grpc::Status::OK);
    absl::StatusOr<std::optional<ScannedUser>> next = backend_.store->NextUser(status_, position_);
    if (!next.ok()) return End(Internal(next.status()));
    if (!next->has_value()) return End(grpc::Status::OK);
    if (bulk_ && sent_ >= kBulkQuota) {
      context_->AddTrailingMetadata("retry-after", kBulkRetryAfterSeconds);
      return End(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              absl::StrCat("Stream quota exceeded: at most ", kBulkQuota,
                                           " users per call")));
    }
    position_ = (*next)->position;
    *response_.mutable_user() = std::move((*next)->user);
    if (backend_.options.stream_interval.count() == 0) return StartWrite(&response_);
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        alarm_armed_ = true;
        alarm_.Set(std::chrono::system_clock::now() + backend_.options.stream_interval,
                   [this](bool fired) { OnAlarm(fired); });
        return;
      }
    }
    End(grpc::Status::CANCELLED);  // outside the lock: Finish may lead to OnDone and delete
  }

  void OnAlarm(bool fired) {
    {
      absl::MutexLock lock(&mu_);
      alarm_armed_ = false;
    }
    if (fired) {
      StartWrite(&response_);
    } else {
      End(grpc::Status::CANCELLED);
    }
  }

  void End(const grpc::Status& status) {
    context_->AddTrailingMetadata("x-stream-count", absl::StrCat(sent_));
    Finish(status);
  }

  const Backend backend_;
  grpc::CallbackServerContext* const context_;
  const user::UserStatus status_;
  const int limit_;
  const bool bulk_;
  int sent_ = 0;
  int64_t position_ = 0;
  user::UserResponse response_;
  grpc::Alarm alarm_;
  absl::Mutex mu_;  // OnCancel runs concurrently with the write and alarm callbacks
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool alarm_armed_ ABSL_GUARDED_BY(mu_) = false;
};

class CreateUserStreamReactor final : public grpc::ServerReadReactor<user::CreateUserRequest> {
 public:
  CreateUserStreamReactor(const Backend& backend, grpc::CallbackServerContext* context,
                          user::CreateUserResponse* response)
      : backend_(backend), context_(context), response_(response) {
    grpc::Status rejection;
    if (!Admit(backend, context, &rejection)) {
      Finish(rejection);
    } else {
      StartRead(&request_);
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Complete();  // the client finished sending (or went away)
    std::string where = absl::StrCat(" in message ", users_.size());
    if (grpc::Status invalid = internal::ValidateNewUser(request_, where); !invalid.ok()) {
      return Finish(invalid);
    }
    if (users_.size() == kMaxUsersPerStream) {
      return Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 absl::StrCat("At most ", kMaxUsersPerStream, " users per call")));
    }
    users_.push_back(NewUser{request_.name(), request_.email(),
                             request_.status() == user::USER_STATUS_UNSPECIFIED
                                 ? user::USER_STATUS_ACTIVE
                                 : request_.status()});
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  void Complete() {
    if (context_->IsCancelled()) return Finish(grpc::Status::CANCELLED);
    if (users_.empty()) {
      return Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "At least one user is required"));
    }
    absl::StatusOr<std::vector<user::User>> created = backend_.store->CreateUsers(users_);
    if (absl::IsAlreadyExists(created.status())) {
      return Finish(internal::EmailTaken(std::string(created.status().message())));
    }
    if (!created.ok()) return Finish(Internal(created.status()));
    for (const user::User& u : *created) response_->add_user_ids(u.id());
    response_->set_created_count(static_cast<int32_t>(created->size()));
    *response_->mutable_user() = std::move(created->back());
    context_->AddTrailingMetadata("x-created-count", absl::StrCat(created->size()));
    Finish(grpc::Status::OK);
  }

  const Backend backend_;
  grpc::CallbackServerContext* const context_;
  user::CreateUserResponse* const response_;
  user::CreateUserRequest request_;
  std::vector<NewUser> users_;
};

class BidirectionalReactor final
    : public grpc::ServerBidiReactor<user::BidirectionalRequest, user::BidirectionalResponse> {
 public:
  BidirectionalReactor(const Backend& backend, grpc::CallbackServerContext* context)
      : backend_(backend), context_(context) {
    grpc::Status rejection;
    if (!Admit(backend, context, &rejection)) {
      Finish(rejection);
    } else {
      StartRead(&request_);
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return End(context_->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK);
    }
    response_.Clear();
    response_.set_request_id(request_.request_id());
    if (grpc::Status status = Answer(); !status.ok()) return End(status);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(grpc::Status::CANCELLED);
    ++handled_;
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  // Fills response_ for request_; a non-OK status ends the call instead.
  grpc::Status Answer() {
    const std::string& action = request_.action();
    if (action == "ping") {
      response_.set_message("pong");
    } else if (action == "get") {
      absl::StatusOr<StoredUser> found = backend_.store->GetUser(request_.user_id(), false);
      if (!found.ok() && !absl::IsNotFound(found.status())) return Internal(found.status());
      if (found.ok() && !found->deleted) {
        *response_.mutable_user() = std::move(found->user);
        response_.set_message("user found");
      } else {
        response_.set_message("user not found");
      }
    } else if (action == "delete" || action == "purge") {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "Destructive actions are not allowed over the stream");
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("Unknown action \"", action, "\": expected get or ping"));
    }
    return grpc::Status::OK;
  }

  void End(const grpc::Status& status) {
    context_->AddTrailingMetadata("x-handled", absl::StrCat(handled_));
    Finish(status);
  }

  const Backend backend_;
  grpc::CallbackServerContext* const context_;
  user::BidirectionalRequest request_;
  user::BidirectionalResponse response_;
  int handled_ = 0;
};

}  // namespace

grpc::ServerWriteReactor<user::UserResponse>* NewStreamUsersReactor(
    const Backend& backend, grpc::CallbackServerContext* context,
    const user::StreamUsersRequest& request) {
  return new StreamUsersReactor(backend, context, request);
}

grpc::ServerReadReactor<user::CreateUserRequest>* NewCreateUserStreamReactor(
    const Backend& backend, grpc::CallbackServerContext* context,
    user::CreateUserResponse* response) {
  return new CreateUserStreamReactor(backend, context, response);
}

grpc::ServerBidiReactor<user::BidirectionalRequest, user::BidirectionalResponse>*
NewBidirectionalReactor(const Backend& backend, grpc::CallbackServerContext* context) {
  return new BidirectionalReactor(backend, context);
}

}  // namespace user_service
