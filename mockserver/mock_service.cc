#include "mockserver/mock_service.h"

#include <deque>

#include <grpcpp/impl/codegen/server_callback_handlers.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace understudy {

// What generated code does for a service with raw callback methods, for the schema's unary
// methods: each is added by its path and served by a CallbackUnaryHandler on ByteBuffers.
class MockService::UnaryMethods final : public grpc::Service {
 public:
  explicit UnaryMethods(MockService* mock) {
    for (const auto& [path, entry] : mock->methods_) {
      if (entry.method->client_streaming() || entry.method->server_streaming() ||
          absl::StartsWith(entry.method->service()->full_name(), "grpc.")) {
        continue;
      }
      paths_.push_back(path);  // gRPC keeps the name's pointer
      AddMethod(new grpc::internal::RpcServiceMethod(
          paths_.back().c_str(), grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
      const MethodEntry* method = &entry;
      const std::string* name = &paths_.back();
      MarkMethodRawCallback(
          static_cast<int>(paths_.size() - 1),
          new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
              [mock, method, name](grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
                return mock->CreateUnaryReactor(context, request, response, *name, *method);
              }));
    }
  }
  bool empty() const { return paths_.empty(); }

 private:
  std::deque<std::string> paths_;
};

MockService::MockService(std::shared_ptr<const InteractionSet> set, CallObserver* observer,
                         CallLimits limits)
    : set_(std::move(set)), observer_(observer), limits_(limits) {
  for (const auto* service : set_->schema().services()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      methods_.emplace(absl::StrCat("/", service->full_name(), "/", method->name()),
                       MethodEntry{method, set_->schema().Prototype(method->input_type())});
    }
  }
  unary_methods_ = std::make_unique<UnaryMethods>(this);
  if (unary_methods_->empty()) unary_methods_.reset();
}

MockService::~MockService() = default;

bool MockService::HoldRequestBytes(const google::protobuf::MethodDescriptor* method, int64_t bytes,
                                   int64_t* call_bytes, grpc::Status* refusal) {
  if (limits_.max_call_request_bytes > 0 && *call_bytes + bytes > limits_.max_call_request_bytes) {
    *refusal = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("more than ", limits_.max_call_request_bytes, " request bytes on one call to ",
                     MethodName(method), " (--max-call-request-bytes)"));
    return false;
  }
  const int64_t held = held_request_bytes_.fetch_add(bytes) + bytes;
  if (limits_.max_held_request_bytes > 0 && held > limits_.max_held_request_bytes) {
    held_request_bytes_.fetch_sub(bytes);
    *refusal = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the calls in flight already hold ", held - bytes, " request bytes, the ",
                     "mock's limit is ", limits_.max_held_request_bytes,
                     " (--max-held-request-bytes); try again later"));
    return false;
  }
  *call_bytes += bytes;
  return true;
}

void MockService::ReleaseRequestBytes(int64_t bytes) {
  if (bytes != 0) held_request_bytes_.fetch_sub(bytes);
}

grpc::Service* MockService::unary_methods() { return unary_methods_.get(); }

void MockService::Swap(std::shared_ptr<const InteractionSet> set) {
  std::atomic_store(&set_, std::move(set));
}

std::shared_ptr<const InteractionSet> MockService::current() const {
  return std::atomic_load(&set_);
}

namespace {

// Answers a call that arrives while the server drains, or beyond the calls it may hold.
template <typename Reactor>
class RefusedCall final : public Reactor {
 public:
  explicit RefusedCall(const grpc::Status& status) { this->Finish(status); }
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

int64_t MockService::calls_in_flight() const {
  std::lock_guard<std::mutex> lock(calls_mu_);
  return calls_in_flight_;
}

bool MockService::StartCall(grpc::Status* refusal) {
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (draining_) {
    *refusal = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the mock is shutting down");
    return false;
  }
  if (limits_.max_concurrent_calls > 0 && calls_in_flight_ >= limits_.max_concurrent_calls) {
    *refusal = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the mock already serves ", calls_in_flight_,
                     " calls, its limit (--max-concurrent-calls); try again later"));
    return false;
  }
  ++calls_in_flight_;
  return true;
}

grpc::ServerUnaryReactor* MockService::CreateUnaryReactor(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response,
                                                          const std::string& path,
                                                          const MethodEntry& entry) {
  grpc::Status refusal;
  if (!StartCall(&refusal)) return new RefusedCall<grpc::ServerUnaryReactor>(refusal);
  return new UnaryMockCall(context, request, response, path, current(), entry.method,
                           entry.request_prototype, observer_, this);
}

grpc::ServerGenericBidiReactor* MockService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  grpc::Status refusal;
  if (!StartCall(&refusal)) return new RefusedCall<grpc::ServerGenericBidiReactor>(refusal);
  auto it = methods_.find(context->method());
  if (it == methods_.end()) {
    return new MockCall(context, current(), nullptr, nullptr, observer_, this);
  }
  return new MockCall(context, current(), it->second.method, it->second.request_prototype,
                      observer_, this);
}

}  // namespace understudy
