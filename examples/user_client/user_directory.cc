#include "examples/user_client/user_directory.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "examples/user_client/status.h"

namespace user_client {

UserDirectory::UserDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                             UserDirectoryOptions options)
    : options_(std::move(options)), stub_(user::UserService::NewStub(std::move(channel))) {}

void UserDirectory::Prepare(grpc::ClientContext* context,
                            std::chrono::milliseconds timeout) const {
  if (!options_.authorization.empty()) {
    context->AddMetadata("authorization", options_.authorization);
  }
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

absl::StatusOr<user::User> UserDirectory::GetUser(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  absl::StatusOr<user::User> user = FetchUser(id);
  if (user.ok()) {
    absl::MutexLock lock(&mu_);
    cache_[id] = *user;
  }
  return user;
}

absl::StatusOr<user::User> UserDirectory::FetchUser(const std::string& id) const {
  user::GetUserRequest request;
  request.set_user_id(id);
  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;  // one per attempt: a context serves a single call
    Prepare(&context, options_.deadline);
    user::GetUserResponse response;
    grpc::Status status = stub_->GetUser(&context, request, &response);
    if (status.ok()) return std::move(*response.mutable_user());
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || attempt >= options_.max_attempts) {
      return ToAbsl(status);
    }
    // Production code would add jitter here, so that many clients do not retry in step.
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void UserDirectory::Forget(const std::string& id) {
  absl::MutexLock lock(&mu_);
  cache_.erase(id);
}

void UserDirectory::ClearCache() {
  absl::MutexLock lock(&mu_);
  cache_.clear();
}

size_t UserDirectory::CachedUsers() const {
  absl::MutexLock lock(&mu_);
  return cache_.size();
}

absl::StatusOr<std::vector<user::User>> UserDirectory::ListAllUsers(user::UserStatus status) {
  std::vector<user::User> users;
  user::ListUsersRequest request;
  request.set_limit(options_.page_size);
  request.set_status(status);
  while (true) {
    request.set_offset(static_cast<int32_t>(users.size()));
    grpc::ClientContext context;
    Prepare(&context, options_.deadline);
    user::ListUsersResponse page;
    grpc::Status call = stub_->ListUsers(&context, request, &page);
    if (!call.ok()) return ToAbsl(call);
    for (user::User& user : *page.mutable_users()) users.push_back(std::move(user));
    // An empty page ends the loop even if total_count promised more: the users may have been
    // deleted meanwhile, and asking again would loop forever.
    if (page.users_size() == 0 || static_cast<int64_t>(users.size()) >= page.total_count()) {
      return users;
    }
  }
}

absl::Status UserDirectory::StreamUsers(const user::StreamUsersRequest& request,
                                        const std::function<void(const user::User&)>& on_user) {
  grpc::ClientContext context;
  Prepare(&context, options_.stream_deadline);
  std::unique_ptr<grpc::ClientReader<user::UserResponse>> reader =
      stub_->StreamUsers(&context, request);
  user::UserResponse message;
  while (reader->Read(&message)) on_user(message.user());
  return ToAbsl(reader->Finish());
}

absl::StatusOr<std::vector<user::User>> UserDirectory::StreamUsers(
    const user::StreamUsersRequest& request) {
  std::vector<user::User> users;
  absl::Status status =
      StreamUsers(request, [&users](const user::User& user) { users.push_back(user); });
  if (!status.ok()) return status;
  return users;
}

absl::StatusOr<user::CreateUserResponse> UserDirectory::CreateUsers(
    const std::vector<user::CreateUserRequest>& users) {
  grpc::ClientContext context;
  Prepare(&context, options_.stream_deadline);
  user::CreateUserResponse response;
  std::unique_ptr<grpc::ClientWriter<user::CreateUserRequest>> writer =
      stub_->CreateUserStream(&context, &response);
  for (const user::CreateUserRequest& user : users) {
    // A failed write means the call has ended (the service answered early, or the deadline
    // passed): Finish() says why.
    if (!writer->Write(user)) break;
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return ToAbsl(status);
  return response;
}

std::unique_ptr<UserSession> UserDirectory::OpenSession() {
  auto context = std::make_unique<grpc::ClientContext>();
  Prepare(context.get(), options_.stream_deadline);
  return std::make_unique<UserSession>(stub_.get(), std::move(context));
}

}  // namespace user_client
