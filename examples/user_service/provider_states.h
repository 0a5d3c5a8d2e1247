// Provider states: the named situations a contract's `"given"` asks for, applied to a UserStore
// before the verifier plays an interaction (Pact style). `user_service seed` runs them.
//
//   absl::Status s = ApplyProviderStates(store, {"the example users exist", "user 500 exists"});
//
// States (exact strings):
//   "the example users exist"       every table emptied, then users 42, 7, 13, 21, 58 (in that
//                                   order) with 42's order ord-1001; the next user id is 101
//   "user 500 exists"               adds user 500, Barbara Liskov
//   "next user id is N"             the next user created gets id N
//   "a user with email E exists"    adds a user with that email (the next id)
//
// INVALID_ARGUMENT naming the first unknown state, before any state is applied.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_PROVIDER_STATES_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_PROVIDER_STATES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "examples/user_service/user_store.h"

namespace user_service {

absl::Status ApplyProviderStates(UserStore* store, const std::vector<std::string>& states);

// The example users of contracts/user_service (the first state above, without the reset).
absl::Status InsertExampleUsers(UserStore* store);

// The states above, one per line, for help and error messages.
const char* ProviderStatesHelp();

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_PROVIDER_STATES_H_
