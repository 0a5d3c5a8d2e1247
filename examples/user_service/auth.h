// Bearer-token authentication of the UserService, as a server interceptor.
//
//   Authenticator auth({"secret-1"});              // no tokens: any non-empty bearer token
//   builder.experimental().SetInterceptorCreators(Interceptors(&auth));
//   ...
//   grpc::Status rejection;                        // in each handler, first:
//   if (!auth.Admit(context, &rejection)) return Finish(rejection);
//
// gRPC 1.51's server interceptors can watch a call but not end it with a status of their own, so
// the work is split: the interceptor judges the `authorization` metadata of every call as it
// arrives and records the verdict; the handlers of the protected service ask for it (Admit) and
// end a rejected call themselves, before touching any data. Services that never ask (health,
// reflection) stay open. A call the interceptor did not see is rejected.
//
// Thread safety: every method may be called from any thread.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_AUTH_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_AUTH_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace user_service {

class Authenticator {
 public:
  // Accepts `authorization: Bearer T` for T in `tokens`, or any non-empty T when it is empty.
  explicit Authenticator(std::vector<std::string> tokens);

  // True when every `authorization` value of a call (at least one) carries an accepted token;
  // two values that disagree are not a way in.
  bool Accepts(const std::vector<std::string>& authorization_values) const;

  // True when the interceptor admitted `call`. Otherwise false, with `rejection` set to
  // UNAUTHENTICATED and the `www-authenticate` trailer added to `call`.
  bool Admit(grpc::ServerContextBase* call, grpc::Status* rejection) const;

  // The interceptor's side.
  void Record(const grpc::ServerContextBase* call, bool accepted);
  void Forget(const grpc::ServerContextBase* call);

  // Calls started and not yet over (every service's), for a graceful shutdown.
  int64_t InFlight() const { return in_flight_.load(); }
  std::atomic<int64_t> in_flight_{0};

 private:
  const std::set<std::string> tokens_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, bool> verdicts_ ABSL_GUARDED_BY(mu_);
};

// The interceptor factories to install on a server whose handlers call `auth->Admit`.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> Interceptors(
    Authenticator* auth);

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_AUTH_H_
