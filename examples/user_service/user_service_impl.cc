#include "examples/user_service/user_service_impl.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "examples/user_service/rpc_errors.h"
#include "examples/user_service/user_streams.h"

namespace user_service {
namespace {

using internal::Admit;
using internal::MissingUserId;
using internal::UserNotFound;

constexpr int kMaxPageSize = 100;
constexpr int kDefaultPageSize = 50;

// Every unary call: admit, then answer with `handle()`'s status.
template <typename Handle>
grpc::ServerUnaryReactor* Unary(const Backend& backend, grpc::CallbackServerContext* context,
                                Handle handle) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status rejection;
  reactor->Finish(Admit(backend, context, &rejection) ? handle() : rejection);
  return reactor;
}

// The changes `request` asks for, or INVALID_ARGUMENT. An empty mask means every field that is
// set (not its default).
grpc::Status ChangesOf(const user::UpdateUserRequest& request, UserChanges* out) {
  std::vector<std::string> paths(request.update_mask().paths().begin(),
                                 request.update_mask().paths().end());
  if (paths.empty()) {
    if (!request.name().empty()) paths.push_back("name");
    if (!request.email().empty()) paths.push_back("email");
    if (request.status() != user::USER_STATUS_UNSPECIFIED) paths.push_back("status");
  }
  std::vector<FieldViolation> violations;
  for (const std::string& path : paths) {
    if (path == "name") {
      out->name = request.name();
      if (request.name().empty()) violations.push_back({"name", "must not be empty"});
    } else if (path == "email") {
      out->email = request.email();
      if (!internal::IsValidEmail(request.email())) {
        violations.push_back({"email", "must be a valid email address"});
      }
    } else if (path == "status") {
      out->status = request.status();
      if (request.status() == user::USER_STATUS_UNSPECIFIED) {
        violations.push_back({"status", "must be set"});
      }
    } else {
      violations.push_back({"update_mask", absl::StrCat("unknown path \"", path,
                                                        "\": expected name, email or status")});
    }
  }
  if (violations.empty()) return grpc::Status::OK;
  return BadRequest("Invalid update", violations);
}

}  // namespace

grpc::ServerUnaryReactor* UserServiceImpl::GetUser(grpc::CallbackServerContext* context,
                                                   const user::GetUserRequest* request,
                                                   user::GetUserResponse* response) {
  return Unary(backend_, context, [&] { return DoGetUser(*request, response); });
}

grpc::Status UserServiceImpl::DoGetUser(const user::GetUserRequest& request,
                                        user::GetUserResponse* response) {
  if (request.user_id().empty()) return MissingUserId();
  absl::StatusOr<StoredUser> found = backend_.store->GetUser(request.user_id(), true);
  if (absl::IsNotFound(found.status())) return UserNotFound(request.user_id(), true);
  if (!found.ok()) return Internal(found.status());
  if (found->deleted) {
    return WithErrorInfo(grpc::StatusCode::NOT_FOUND,
                         absl::StrCat("User ", request.user_id(), " was deleted"), "USER_DELETED",
                         {{"user_id", request.user_id()}});
  }
  *response->mutable_user() = std::move(found->user);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* UserServiceImpl::ListUsers(grpc::CallbackServerContext* context,
                                                     const user::ListUsersRequest* request,
                                                     user::ListUsersResponse* response) {
  return Unary(backend_, context, [&] { return DoListUsers(context, *request, response); });
}

grpc::Status UserServiceImpl::DoListUsers(grpc::CallbackServerContext* context,
                                          const user::ListUsersRequest& request,
                                          user::ListUsersResponse* response) {
  if (request.limit() < 0 || request.limit() > kMaxPageSize) {
    return BadRequest("limit must be between 0 and 100",
                      {{"limit", "must be between 0 and 100"}});
  }
  if (request.offset() < 0) {
    return BadRequest("offset must not be negative", {{"offset", "must not be negative"}});
  }
  int limit = request.limit() == 0 ? kDefaultPageSize : request.limit();
  absl::StatusOr<UserPage> page =
      backend_.store->ListUsers(request.status(), limit, request.offset());
  if (!page.ok()) return Internal(page.status());
  for (user::User& u : page->users) *response->add_users() = std::move(u);
  response->set_total_count(static_cast<int32_t>(page->total_count));
  context->AddTrailingMetadata("x-total-count", absl::StrCat(page->total_count));
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* UserServiceImpl::CreateUser(grpc::CallbackServerContext* context,
                                                      const user::CreateUserRequest* request,
                                                      user::CreateUserResponse* response) {
  return Unary(backend_, context, [&] { return DoCreateUser(context, *request, response); });
}

grpc::Status UserServiceImpl::DoCreateUser(grpc::CallbackServerContext* context,
                                           const user::CreateUserRequest& request,
                                           user::CreateUserResponse* response) {
  if (grpc::Status invalid = internal::ValidateNewUser(request, ""); !invalid.ok()) {
    return invalid;
  }
  NewUser n{request.name(), request.email(),
            request.status() == user::USER_STATUS_UNSPECIFIED ? user::USER_STATUS_ACTIVE
                                                              : request.status()};
  absl::StatusOr<std::vector<user::User>> created = backend_.store->CreateUsers({n});
  if (absl::IsAlreadyExists(created.status())) return internal::EmailTaken(request.email());
  if (!created.ok()) return Internal(created.status());
  user::User& u = created->front();
  context->AddInitialMetadata("location", absl::StrCat("/users/", u.id()));
  response->add_user_ids(u.id());
  response->set_created_count(1);
  *response->mutable_user() = std::move(u);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* UserServiceImpl::UpdateUser(grpc::CallbackServerContext* context,
                                                      const user::UpdateUserRequest* request,
                                                      user::UpdateUserResponse* response) {
  return Unary(backend_, context, [&] { return DoUpdateUser(*request, response); });
}

grpc::Status UserServiceImpl::DoUpdateUser(const user::UpdateUserRequest& request,
                                           user::UpdateUserResponse* response) {
  if (request.user_id().empty()) return MissingUserId();
  UserChanges changes;
  if (grpc::Status invalid = ChangesOf(request, &changes); !invalid.ok()) return invalid;
  absl::StatusOr<user::User> updated = backend_.store->UpdateUser(request.user_id(), changes);
  if (absl::IsNotFound(updated.status())) return UserNotFound(request.user_id(), true);
  if (absl::IsFailedPrecondition(updated.status())) {
    return PreconditionFailed(
        absl::StrCat("User ", request.user_id(), " is suspended and cannot be updated"),
        "USER_SUSPENDED", absl::StrCat("users/", request.user_id()),
        "unsuspend the user first");
  }
  if (absl::IsAlreadyExists(updated.status())) return internal::EmailTaken(request.email());
  if (!updated.ok()) return Internal(updated.status());
  *response->mutable_user() = std::move(*updated);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* UserServiceImpl::DeleteUser(grpc::CallbackServerContext* context,
                                                      const user::DeleteUserRequest* request,
                                                      user::DeleteUserResponse* response) {
  return Unary(backend_, context, [&] { return DoDeleteUser(*request, response); });
}

grpc::Status UserServiceImpl::DoDeleteUser(const user::DeleteUserRequest& request,
                                           user::DeleteUserResponse* response) {
  if (request.user_id().empty()) return MissingUserId();
  if (request.user_id() == internal::kAdministratorId) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "The administrator account cannot be deleted");
  }
  absl::Status deleted = backend_.store->DeleteUser(request.user_id());
  if (absl::IsNotFound(deleted)) return UserNotFound(request.user_id(), false);
  if (!deleted.ok()) return Internal(deleted);
  response->set_success(true);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<user::UserResponse>* UserServiceImpl::StreamUsers(
    grpc::CallbackServerContext* context, const user::StreamUsersRequest* request) {
  return NewStreamUsersReactor(backend_, context, *request);
}

grpc::ServerReadReactor<user::CreateUserRequest>* UserServiceImpl::CreateUserStream(
    grpc::CallbackServerContext* context, user::CreateUserResponse* response) {
  return NewCreateUserStreamReactor(backend_, context, response);
}

grpc::ServerBidiReactor<user::BidirectionalRequest, user::BidirectionalResponse>*
UserServiceImpl::BidirectionalStream(grpc::CallbackServerContext* context) {
  return NewBidirectionalReactor(backend_, context);
}

}  // namespace user_service
