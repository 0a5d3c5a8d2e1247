// What the UserService handlers share: admitting a call, validating users, the errors the
// contracts spell out. Internal to examples/user_service.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_HANDLER_SUPPORT_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_HANDLER_SUPPORT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "examples/user_service/auth.h"
#include "examples/user_service/user_store.h"
#include "user.pb.h"

namespace user_service {

struct ServiceOptions {
  // A pause before each StreamUsers message (a slow backend; 0: none).
  std::chrono::milliseconds stream_interval{0};
};

// What every handler reaches: owned by the server, outliving every call.
struct Backend {
  UserStore* store;
  const Authenticator* auth;
  ServiceOptions options;
};

namespace internal {

// The id no one may delete.
inline constexpr char kAdministratorId[] = "1";

// Checks the caller's credentials; on success adds the headers and trailers every answer carries
// (`x-served-by`, `x-backend`, `x-request-id` echoed). False with `rejection` set otherwise.
bool Admit(const Backend& backend, grpc::CallbackServerContext* context,
           grpc::Status* rejection);

bool IsValidEmail(const std::string& email);

// OK, or INVALID_ARGUMENT with a BadRequest naming the missing name and/or the bad email.
// `where` ends the message, e.g. " in message 2".
grpc::Status ValidateNewUser(const user::CreateUserRequest& request, const std::string& where);

// INVALID_ARGUMENT "user_id is required" with a BadRequest on user_id.
grpc::Status MissingUserId();

// NOT_FOUND "User <id> not found", with ErrorInfo USER_NOT_FOUND when `with_info`.
grpc::Status UserNotFound(const std::string& id, bool with_info);

// ALREADY_EXISTS "A user with email <email> already exists", ErrorInfo EMAIL_TAKEN.
grpc::Status EmailTaken(const std::string& email);

}  // namespace internal
}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_HANDLER_SUPPORT_H_
