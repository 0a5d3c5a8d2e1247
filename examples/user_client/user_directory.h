// UserDirectory: a client of user.UserService (proto/user.proto), and the code under test of the
// example suite beside it. It caches users, retries GetUser while the service is UNAVAILABLE,
// pages through ListUsers, collects StreamUsers, creates users over the client stream and opens
// bidirectional sessions. Every call carries a deadline.
//
//   user_client::UserDirectoryOptions options;
//   options.authorization = "Bearer " + token;
//   user_client::UserDirectory directory(grpc::CreateChannel(address, credentials), options);
//   absl::StatusOr<user::User> ada = directory.GetUser("42");
//   if (!ada.ok()) return ada.status();   // NOT_FOUND, UNAVAILABLE, DEADLINE_EXCEEDED, ...
//
// Errors are the service's gRPC status as an absl::Status: same code, same message.
//
// Thread safety: all methods may be called from any thread at once.
#ifndef UNDERSTUDY_EXAMPLES_USER_CLIENT_USER_DIRECTORY_H_
#define UNDERSTUDY_EXAMPLES_USER_CLIENT_USER_DIRECTORY_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "examples/user_client/user_session.h"
#include "user.grpc.pb.h"

namespace user_client {

struct UserDirectoryOptions {
  // Sent as the `authorization` header of every call, when not empty.
  std::string authorization;
  // The deadline of each unary attempt (each GetUser try, each ListUsers page).
  std::chrono::milliseconds deadline = std::chrono::seconds(5);
  // The deadline of a whole streaming call: StreamUsers, CreateUsers, a session.
  std::chrono::milliseconds stream_deadline = std::chrono::seconds(30);
  // GetUser tries at most this many times while the service answers UNAVAILABLE (1: no retry),
  // waiting `initial_backoff` before the second try, then twice as long each time, at most
  // `max_backoff`.
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(50);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(2);
  // Users asked for per ListUsers page; the service accepts 1 to 100.
  int page_size = 100;
};

class UserDirectory {
 public:
  explicit UserDirectory(std::shared_ptr<grpc::ChannelInterface> channel,
                         UserDirectoryOptions options = {});

  // The user `id`: from the cache when an earlier call found it, else from the service. Only
  // UNAVAILABLE is retried: GetUser is idempotent and UNAVAILABLE means the call did not reach a
  // working server, while a DEADLINE_EXCEEDED try would likely wait as long again. Errors are
  // not cached.
  absl::StatusOr<user::User> GetUser(const std::string& id);
  // Drops `id` from the cache, e.g. after changing the user; the next GetUser asks the service.
  void Forget(const std::string& id);
  void ClearCache();
  size_t CachedUsers() const;

  // Every user in `status` (USER_STATUS_UNSPECIFIED: all), asking page after page until the
  // service's total_count is reached or a page comes back empty.
  absl::StatusOr<std::vector<user::User>> ListAllUsers(
      user::UserStatus status = user::USER_STATUS_UNSPECIFIED);

  // Calls `on_user` for each streamed user as it arrives, then returns the call's status: a
  // stream may end with an error after some users (which `on_user` has seen).
  absl::Status StreamUsers(const user::StreamUsersRequest& request,
                           const std::function<void(const user::User&)>& on_user);
  // The whole stream; on an error, the error alone.
  absl::StatusOr<std::vector<user::User>> StreamUsers(const user::StreamUsersRequest& request);

  // Creates `users` over one CreateUserStream call; the service answers once all are sent.
  absl::StatusOr<user::CreateUserResponse> CreateUsers(
      const std::vector<user::CreateUserRequest>& users);

  // Opens a BidirectionalStream call (see user_session.h).
  std::unique_ptr<UserSession> OpenSession();

 private:
  // Sets the authorization header and a deadline `timeout` from now.
  void Prepare(grpc::ClientContext* context, std::chrono::milliseconds timeout) const;
  absl::StatusOr<user::User> FetchUser(const std::string& id) const;

  const UserDirectoryOptions options_;
  const std::unique_ptr<user::UserService::Stub> stub_;

  mutable absl::Mutex mu_;
  std::map<std::string, user::User> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace user_client

#endif  // UNDERSTUDY_EXAMPLES_USER_CLIENT_USER_DIRECTORY_H_
