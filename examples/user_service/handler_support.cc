#include "examples/user_service/handler_support.h"

#include <string>
#include <vector>

#include "examples/user_service/rpc_errors.h"
#include "re2/re2.h"

namespace user_service::internal {

bool Admit(const Backend& backend, grpc::CallbackServerContext* context,
           grpc::Status* rejection) {
  if (!backend.auth->Admit(context, rejection)) return false;
  context->AddInitialMetadata("x-served-by", "understudy");
  auto request_id = context->client_metadata().find("x-request-id");
  if (request_id != context->client_metadata().end()) {
    context->AddInitialMetadata("x-request-id", std::string(request_id->second.data(),
                                                            request_id->second.size()));
  }
  context->AddTrailingMetadata("x-backend", "users-db-1");
  return true;
}

bool IsValidEmail(const std::string& email) {
  static const LazyRE2 kEmail = {R"re([^@\s]+@[^@\s]+\.[A-Za-z]{2,})re"};
  return RE2::FullMatch(email, *kEmail);
}

grpc::Status ValidateNewUser(const user::CreateUserRequest& request, const std::string& where) {
  const bool bad_name = request.name().empty();
  const bool bad_email = !IsValidEmail(request.email());
  if (!bad_name && !bad_email) return grpc::Status::OK;
  std::vector<FieldViolation> violations;
  if (bad_name) violations.push_back({"name", "must not be empty"});
  if (bad_email) violations.push_back({"email", "must be a valid email address"});
  std::string message = bad_name && bad_email ? "A name and a valid email address are required"
                        : bad_email           ? "Invalid email address"
                                              : "name is required";
  return BadRequest(message + where, violations);
}

grpc::Status MissingUserId() {
  return BadRequest("user_id is required", {{"user_id", "must not be empty"}});
}

grpc::Status UserNotFound(const std::string& id, bool with_info) {
  std::string message = "User " + id + " not found";
  if (!with_info) return grpc::Status(grpc::StatusCode::NOT_FOUND, message);
  return WithErrorInfo(grpc::StatusCode::NOT_FOUND, message, "USER_NOT_FOUND", {{"user_id", id}});
}

grpc::Status EmailTaken(const std::string& email) {
  return WithErrorInfo(grpc::StatusCode::ALREADY_EXISTS,
                       "A user with email " + email + " already exists", "EMAIL_TAKEN",
                       {{"email", email}});
}

}  // namespace user_service::internal
