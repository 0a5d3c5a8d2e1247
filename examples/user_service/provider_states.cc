#include "examples/user_service/provider_states.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace user_service {
namespace {

// As contracts/user_service shows them, in the order the lists show them.
constexpr const char* kExampleUsers[] = {
    R"json({"id": "42", "name": "Ada Lovelace", "email": "ada@example.com",
      "status": "USER_STATUS_ACTIVE",
      "createdAt": "2024-01-15T10:30:00Z", "updatedAt": "2024-02-01T09:00:00Z",
      "orders": [{"id": "ord-1001", "userId": "42", "total": 59.97, "status": "shipped",
        "createdAt": "2024-02-20T13:45:00Z",
        "items": [
          {"productId": "sku-123", "name": "Analytical Engine manual", "price": 19.99,
           "quantity": 2},
          {"productId": "sku-456", "name": "Punch cards (100)", "price": 19.99, "quantity": 1}]}]})json",
    R"json({"id": "7", "name": "Grace Hopper", "email": "grace@example.com",
      "status": "USER_STATUS_INACTIVE",
      "createdAt": "2023-11-02T08:15:00Z", "updatedAt": "2024-01-20T16:45:00Z"})json",
    R"json({"id": "13", "name": "Alan Turing", "email": "alan@example.com",
      "status": "USER_STATUS_SUSPENDED",
      "createdAt": "2023-06-23T12:00:00Z", "updatedAt": "2024-03-05T11:20:00Z"})json",
    R"json({"id": "21", "name": "Katherine Johnson", "email": "katherine@example.com",
      "status": "USER_STATUS_ACTIVE",
      "createdAt": "2024-02-10T14:00:00Z", "updatedAt": "2024-02-10T14:00:00Z"})json",
    R"json({"id": "58", "name": "Edsger Dijkstra", "email": "edsger@example.com",
      "status": "USER_STATUS_ACTIVE",
      "createdAt": "2024-03-01T07:00:00Z", "updatedAt": "2024-03-01T07:00:00Z"})json",
};

constexpr char kUser500[] = R"json({"id": "500", "name": "Barbara Liskov",
  "email": "barbara@example.com", "status": "USER_STATUS_ACTIVE",
  "createdAt": "2024-01-02T03:04:05Z", "updatedAt": "2024-01-02T03:04:05Z"})json";

constexpr int64_t kFirstCreatedId = 101;

absl::Status InsertJson(UserStore* store, const char* json) {
  user::User u;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &u);
  if (!parsed.ok()) return absl::InternalError(std::string(parsed.message()));
  return store->InsertUser(u);
}

absl::Status AddUserWithEmail(UserStore* store, const std::string& email) {
  NewUser n;
  n.name = "Existing User";
  n.email = email;
  absl::StatusOr<std::vector<user::User>> created = store->CreateUsers({n});
  return created.ok() || absl::IsAlreadyExists(created.status()) ? absl::OkStatus()
                                                                  : created.status();
}

// The action of `state`, or nullptr when it is not a known state.
std::function<absl::Status(UserStore*)> Resolve(const std::string& state) {
  if (state == "the example users exist") {
    return [](UserStore* store) {
      if (absl::Status s = store->Reset(); !s.ok()) return s;
      return InsertExampleUsers(store);
    };
  }
  if (state == "user 500 exists") {
    return [](UserStore* store) {
      absl::Status s = InsertJson(store, kUser500);
      return absl::IsAlreadyExists(s) ? absl::OkStatus() : s;  // it exists: the state holds
    };
  }
  std::string text;
  int64_t id = 0;
  if (RE2::FullMatch(state, R"(next user id is (\d{1,18}))", &text) &&
      absl::SimpleAtoi(text, &id)) {
    return [id](UserStore* store) { return store->SetNextUserId(id); };
  }
  if (RE2::FullMatch(state, R"(a user with email (\S+@\S+) exists)", &text)) {
    return [text](UserStore* store) { return AddUserWithEmail(store, text); };
  }
  return nullptr;
}

}  // namespace

absl::Status InsertExampleUsers(UserStore* store) {
  for (const char* json : kExampleUsers) {
    if (absl::Status s = InsertJson(store, json); !s.ok()) return s;
  }
  return store->SetNextUserId(kFirstCreatedId);
}

absl::Status ApplyProviderStates(UserStore* store, const std::vector<std::string>& states) {
  std::vector<std::function<absl::Status(UserStore*)>> actions;
  for (const std::string& state : states) {
    actions.push_back(Resolve(state));
    if (actions.back() == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown provider state \"", state, "\""));
    }
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    if (absl::Status s = actions[i](store); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("provider state \"", states[i], "\": ",
                                                 s.message()));
    }
  }
  return absl::OkStatus();
}

const char* ProviderStatesHelp() {
  return "  the example users exist\n"
         "  user 500 exists\n"
         "  next user id is N\n"
         "  a user with email E exists\n";
}

}  // namespace user_service
