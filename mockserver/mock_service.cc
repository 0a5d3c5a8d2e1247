#include "mockserver/mock_service.h"

#include "absl/strings/str_cat.h"

namespace understudy {

MockService::MockService(std::shared_ptr<const InteractionSet> set, CallObserver* observer)
    : set_(std::move(set)), observer_(observer) {
  for (const auto* service : set_->schema().services()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      methods_.emplace(absl::StrCat("/", service->full_name(), "/", method->name()),
                       MethodEntry{method, set_->schema().Prototype(method->input_type())});
    }
  }
}

void MockService::Swap(std::shared_ptr<const InteractionSet> set) {
  std::atomic_store(&set_, std::move(set));
}

std::shared_ptr<const InteractionSet> MockService::current() const {
  return std::atomic_load(&set_);
}

namespace {

// Answers a call that arrives while the server drains.
class RefusedCall final : public grpc::ServerGenericBidiReactor {
 public:
  RefusedCall() {
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the mock is shutting down"));
  }
  void OnDone() override { delete this; }
};

}  // namespace

bool MockService::Drain(std::chrono::system_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(calls_mu_);
  draining_ = true;
  return calls_idle_.wait_until(lock, deadline, [this] { return calls_in_flight_ == 0; });
}

void MockService::CallDone() {
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (--calls_in_flight_ == 0) calls_idle_.notify_all();
}

grpc::ServerGenericBidiReactor* MockService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    if (draining_) return new RefusedCall();
    ++calls_in_flight_;
  }
  auto it = methods_.find(context->method());
  if (it == methods_.end()) {
    return new MockCall(context, current(), nullptr, nullptr, observer_, this);
  }
  return new MockCall(context, current(), it->second.method, it->second.request_prototype,
                      observer_, this);
}

}  // namespace understudy
