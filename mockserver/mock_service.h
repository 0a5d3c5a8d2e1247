// MockService: the generic gRPC service that answers every method of the schema from an
// InteractionSet. Methods that no registered service claims (admin, health and reflection are
// registered) arrive here; one MockCall reactor serves each call.
#ifndef UNDERSTUDY_MOCKSERVER_MOCK_SERVICE_H_
#define UNDERSTUDY_MOCKSERVER_MOCK_SERVICE_H_

#include <memory>
#include <string>
#include <unordered_map>

#include <grpcpp/generic/async_generic_service.h>

#include "mockserver/mock_call.h"
#include "src/interaction_set.h"

namespace understudy {

class MockService final : public grpc::CallbackGenericService {
 public:
  // `observer` may be null; it must outlive the service.
  MockService(std::shared_ptr<const InteractionSet> set, CallObserver* observer);

  // Replaces the interactions. Calls already running keep the set they started with; calls that
  // start afterwards see the new one: never a mix. The schema must be the same.
  void Swap(std::shared_ptr<const InteractionSet> set);
  std::shared_ptr<const InteractionSet> current() const;

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  std::shared_ptr<const InteractionSet> set_;  // accessed with std::atomic_load/store
  struct MethodEntry {
    const google::protobuf::MethodDescriptor* method;
    const google::protobuf::Message* request_prototype;  // resolved once: no lock per call
  };
  std::unordered_map<std::string, MethodEntry> methods_;
  CallObserver* observer_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_MOCK_SERVICE_H_
