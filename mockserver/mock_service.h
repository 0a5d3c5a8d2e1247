// MockService: the generic gRPC service that answers every method of the schema from an
// InteractionSet. Methods that no registered service claims (admin, health and reflection are
// registered) arrive here; one MockCall reactor serves each call. The schema's unary methods are
// also registered (unary_methods()), and one UnaryMockCall serves each of their calls.
#ifndef UNDERSTUDY_MOCKSERVER_MOCK_SERVICE_H_
#define UNDERSTUDY_MOCKSERVER_MOCK_SERVICE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/impl/service_type.h>

#include "mockserver/mock_call.h"
#include "src/interaction_set.h"

namespace understudy {

// Bounds on what one client can make the mock hold; 0 is no bound. Exceeding one ends the call
// with RESOURCE_EXHAUSTED, saying which bound and how to raise it.
struct CallLimits {
  int64_t max_concurrent_calls = 0;  // mocked calls in flight at once; the next one is refused
  int64_t max_stream_messages = 0;   // client messages on one call
  int64_t max_call_request_bytes = 0;  // request bytes (on the wire) one call may send in all
  // Request bytes all calls in flight hold at once (their decoded messages, kept for matching
  // and templates until the call ends): the next message over it ends its call.
  int64_t max_held_request_bytes = 0;
};

class MockService final : public grpc::CallbackGenericService {
 public:
  // `observer` may be null; it must outlive the service.
  MockService(std::shared_ptr<const InteractionSet> set, CallObserver* observer,
              CallLimits limits = CallLimits());
  ~MockService() override;

  // Replaces the interactions. Calls already running keep the set they started with; calls that
  // start afterwards see the new one: never a mix. The schema must be the same.
  void Swap(std::shared_ptr<const InteractionSet> set);
  std::shared_ptr<const InteractionSet> current() const;

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

  // The schema's unary methods as a registered service, so that their calls take gRPC's unary
  // path (UnaryMockCall); register it beside this one. Null when the schema has none. Methods
  // of grpc.* services stay generic: the server registers health and reflection itself.
  grpc::Service* unary_methods();

  // Graceful shutdown, first half: calls that start from now on are refused with UNAVAILABLE;
  // returns once the calls in flight have finished or `deadline` has passed (false then).
  // grpc::Server::Shutdown alone would also wait for idle client connections to go away.
  bool Drain(std::chrono::system_clock::time_point deadline);

  // Called by each call as it ends.
  void CallDone();
  // Mocked calls started and not yet done (refused ones never count).
  int64_t calls_in_flight() const;
  const CallLimits& limits() const { return limits_; }
  // Counts `bytes` more request bytes held by `method`'s call that holds `call_bytes` already
  // (updated); false, with the RESOURCE_EXHAUSTED status in `refusal`, when a limit forbids it.
  bool HoldRequestBytes(const google::protobuf::MethodDescriptor* method, int64_t bytes,
                        int64_t* call_bytes, grpc::Status* refusal);
  // A finished call gives back what it held.
  void ReleaseRequestBytes(int64_t bytes);
  int64_t held_request_bytes() const { return held_request_bytes_.load(); }

 private:
  std::shared_ptr<const InteractionSet> set_;  // accessed with std::atomic_load/store
  struct MethodEntry {
    const google::protobuf::MethodDescriptor* method;
    const google::protobuf::Message* request_prototype;  // resolved once: no lock per call
  };
  std::unordered_map<std::string, MethodEntry> methods_;
  CallObserver* observer_;
  const CallLimits limits_;
  class UnaryMethods;
  std::unique_ptr<UnaryMethods> unary_methods_;
  grpc::ServerUnaryReactor* CreateUnaryReactor(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response,
                                               const std::string& path, const MethodEntry& entry);
  // Counts a call in; else the status it is refused with (draining, or too many in flight).
  bool StartCall(grpc::Status* refusal);

  std::atomic<int64_t> held_request_bytes_{0};
  mutable std::mutex calls_mu_;
  std::condition_variable calls_idle_;
  int64_t calls_in_flight_ = 0;  // guarded by calls_mu_
  bool draining_ = false;        // guarded by calls_mu_
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_MOCK_SERVICE_H_
