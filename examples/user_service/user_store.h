// UserStore: the users, their orders and order items of the reference UserService, in SQLite.
//
//   absl::StatusOr<std::unique_ptr<UserStore>> store = UserStore::Open("users.db");
//   if (!store.ok()) return store.status();
//   absl::StatusOr<StoredUser> ada = (*store)->GetUser("42", /*with_orders=*/true);
//
// Nothing is cached: every method reads the database, so rows written by another process (e.g.
// `user_service seed` while the server runs) are seen by the next call. A file database is opened
// in WAL mode with a busy timeout, so such a writer waits for the server instead of failing.
//
// Users are listed in insertion order. Deleting a user is a soft delete: the row stays, marked,
// and its email becomes free again.
//
// Errors: NOT_FOUND, FAILED_PRECONDITION and ALREADY_EXISTS as documented per method; INTERNAL
// (with SQLite's message) when the database fails.
//
// Thread safety: all methods may be called from any thread at once (one connection, guarded).
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_STORE_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "user.pb.h"

struct sqlite3;

namespace user_service {

// A user row: the user, and whether it was (soft) deleted.
struct StoredUser {
  user::User user;
  bool deleted = false;
};

// A user to create; the store assigns id and timestamps.
struct NewUser {
  std::string name;
  std::string email;
  user::UserStatus status = user::USER_STATUS_ACTIVE;
};

// The fields UpdateUser changes; unset members stay as they are.
struct UserChanges {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<user::UserStatus> status;
};

struct UserPage {
  std::vector<user::User> users;
  int64_t total_count = 0;  // users matching the filter, over all pages
};

// One user of a scan, and where the scan continues after it.
struct ScannedUser {
  int64_t position = 0;
  user::User user;
};

class UserStore {
 public:
  // Opens (creating when missing) the database at `path`; ":memory:" is a private, empty one.
  static absl::StatusOr<std::unique_ptr<UserStore>> Open(const std::string& path);
  ~UserStore();
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;

  // The user with this id, deleted or not, with its orders (newest first) when `with_orders`.
  // NOT_FOUND when no row has this id.
  absl::StatusOr<StoredUser> GetUser(const std::string& id, bool with_orders);

  // Live users in `status` (USER_STATUS_UNSPECIFIED: any), `limit` of them from `offset`.
  absl::StatusOr<UserPage> ListUsers(user::UserStatus status, int limit, int offset);

  // The first live user in `status` (UNSPECIFIED: any) after scan position `after` (0: from the
  // start); nullopt at the end. Reads one row, so a long scan sees rows added meanwhile.
  absl::StatusOr<std::optional<ScannedUser>> NextUser(user::UserStatus status, int64_t after);

  // Creates all of `users` or none, in order, with ids from the next-user-id counter.
  // ALREADY_EXISTS, with the email as the message, when an email is taken by a live user or
  // appears twice in `users`.
  absl::StatusOr<std::vector<user::User>> CreateUsers(const std::vector<NewUser>& users);

  // Applies `changes` and sets updated_at to now. NOT_FOUND when the user does not exist or was
  // deleted; FAILED_PRECONDITION when the user is suspended and `changes` are not a change of
  // status alone (unsuspending is the only change allowed); ALREADY_EXISTS, with the email as the
  // message, when the new email belongs to another live user.
  absl::StatusOr<user::User> UpdateUser(const std::string& id, const UserChanges& changes);

  // Marks the user deleted. NOT_FOUND when it does not exist or was already deleted.
  absl::Status DeleteUser(const std::string& id);

  // For provider states and example data.
  // Removes every user, order and item, and resets the next user id to 1.
  absl::Status Reset();
  // Inserts `user` as given (id, timestamps, orders and their items), after the existing users.
  absl::Status InsertUser(const user::User& user);
  // The id the next created user gets (skipping ids in use).
  absl::Status SetNextUserId(int64_t id);
  absl::StatusOr<bool> HasUsers();
  // Rows inserted, updated or deleted through this store since it opened (rolled-back changes
  // included): unchanged means the data is as it was, e.g. for a fuzzer that restores it only
  // when needed.
  int64_t ChangeCount();

 private:
  explicit UserStore(sqlite3* db) : db_(db) {}
  absl::StatusOr<int64_t> NextId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status LoadOrders(user::User* user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InsertUserLocked(const user::User& user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_STORE_H_
