#include "examples/user_service/auth.h"

#include <utility>

#include "absl/strings/match.h"

namespace user_service {
namespace {

constexpr char kBearer[] = "Bearer ";

class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(grpc::experimental::ServerRpcInfo* info, Authenticator* auth)
      : call_(info->server_context()), auth_(auth) {
    auth_->in_flight_.fetch_add(1);
  }
  // Interceptors die with their call's context: the verdict goes with them.
  ~AuthInterceptor() override {
    auth_->Forget(call_);
    auth_->in_flight_.fetch_sub(1);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::vector<std::string> values;
      auto* metadata = methods->GetRecvInitialMetadata();
      auto [begin, end] = metadata->equal_range("authorization");
      for (auto it = begin; it != end; ++it) {
        values.emplace_back(it->second.data(), it->second.size());
      }
      auth_->Record(call_, auth_->Accepts(values));
    }
    methods->Proceed();
  }

 private:
  const grpc::ServerContextBase* const call_;
  Authenticator* const auth_;
};

class AuthInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(Authenticator* auth) : auth_(auth) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuthInterceptor(info, auth_);
  }

 private:
  Authenticator* const auth_;
};

}  // namespace

Authenticator::Authenticator(std::vector<std::string> tokens)
    : tokens_(tokens.begin(), tokens.end()) {}

bool Authenticator::Accepts(const std::vector<std::string>& authorization_values) const {
  if (authorization_values.empty()) return false;
  for (const std::string& value : authorization_values) {
    if (!absl::StartsWith(value, kBearer)) return false;
    std::string token = value.substr(sizeof(kBearer) - 1);
    if (token.empty() || (!tokens_.empty() && tokens_.count(token) == 0)) return false;
  }
  return true;
}

bool Authenticator::Admit(grpc::ServerContextBase* call, grpc::Status* rejection) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = verdicts_.find(call);
    if (it != verdicts_.end() && it->second) return true;
  }
  call->AddTrailingMetadata("www-authenticate", "Bearer realm=\"users\"");
  *rejection = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                            "missing or invalid authorization header");
  return false;
}

void Authenticator::Record(const grpc::ServerContextBase* call, bool accepted) {
  absl::MutexLock lock(&mu_);
  verdicts_[call] = accepted;
}

void Authenticator::Forget(const grpc::ServerContextBase* call) {
  absl::MutexLock lock(&mu_);
  verdicts_.erase(call);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> Interceptors(
    Authenticator* auth) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<AuthInterceptorFactory>(auth));
  return out;
}

}  // namespace user_service
