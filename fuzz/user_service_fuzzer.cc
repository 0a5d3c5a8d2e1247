// The reference UserService (examples/user_service) under the service harness (service_fuzzer.h):
// its real implementation, authentication interceptor included, on an in-memory SQLite database
// that holds the example users of contracts/user_service at the start of every input (restored
// when the last input changed anything: most inputs only read or are refused).
//
// Calls send `authorization: Bearer fuzz-token` (the one accepted token) unless an input leaves
// the default metadata out or replaces it; `x-request-id` is echoed by the service.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "examples/user_service/auth.h"
#include "examples/user_service/provider_states.h"
#include "examples/user_service/user_service_impl.h"
#include "examples/user_service/user_store.h"
#include "fuzz/service_fuzzer.h"

namespace {

struct UserBackend {
  std::unique_ptr<user_service::UserStore> store;
  user_service::Authenticator auth{{"fuzz-token"}};
  std::unique_ptr<user_service::UserServiceImpl> service;
  int64_t restored_at = -1;  // the store's ChangeCount() right after the last restore
};

[[noreturn]] void Die(const absl::Status& status) {
  std::fprintf(stderr, "user_service_fuzzer: %s\n", std::string(status.message()).c_str());
  std::exit(2);
}

UserBackend& Backend() {
  static UserBackend* backend = [] {
    auto* b = new UserBackend;
    auto store = user_service::UserStore::Open(":memory:");
    if (!store.ok()) Die(store.status());
    b->store = std::move(*store);
    b->service = std::make_unique<user_service::UserServiceImpl>(
        user_service::Backend{b->store.get(), &b->auth, user_service::ServiceOptions{}});
    return b;
  }();
  return *backend;
}

}  // namespace

understudy::ServiceFuzzer UnderstudyServiceFuzzer() {
  understudy::ServiceFuzzer f;
  f.services = {"user.UserService"};
  f.register_services = [](grpc::ServerBuilder& builder) {
    builder.RegisterService(Backend().service.get());
  };
  f.interceptors = [] { return user_service::Interceptors(&Backend().auth); };
  f.reset = [] {
    UserBackend& b = Backend();
    if (b.store->ChangeCount() == b.restored_at) return;
    absl::Status status = user_service::ApplyProviderStates(b.store.get(), {"the example users exist"});
    if (!status.ok()) Die(status);
    b.restored_at = b.store->ChangeCount();
  };
  f.metadata = {{"authorization", "Bearer fuzz-token"}};
  f.extra_metadata_keys = {"x-request-id"};
  return f;
}
