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

grpc::ServerGenericBidiReactor* MockService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  auto it = methods_.find(context->method());
  if (it == methods_.end()) return new MockCall(context, current(), nullptr, nullptr, observer_);
  return new MockCall(context, current(), it->second.method, it->second.request_prototype,
                      observer_);
}

}  // namespace understudy
