// MockCall: one call to the mock, for every RPC kind, as a gRPC callback reactor.
//
// The call's path: bytes in (OnReadDone) → decode with the method's input type → choose an
// interaction (src/selector.h) → answer: headers, messages with their delays (grpc::Alarm, no
// thread held), trailers and status. Unary and server-streaming calls choose on their one
// message, client-streaming calls once the client half-closes, bidirectional calls walk their
// conversation step by step. A cancelled call (client gone, deadline passed) stops at once: no
// further reads, writes or timers are started, pending timers are cancelled.
//
// UnaryMockCall serves unary calls to the schema's methods on gRPC's unary callback path (the
// methods are registered, see MockService::unary_methods): the request arrives with the call and
// the answer leaves in one batch, which costs gRPC about a fifth less per call than a
// bidirectional reactor. Both choose and answer the same way.
#ifndef UNDERSTUDY_MOCKSERVER_MOCK_CALL_H_
#define UNDERSTUDY_MOCKSERVER_MOCK_CALL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/byte_buffer.h>

#include "src/interaction_set.h"
#include "src/request.h"
#include "src/selector.h"

namespace understudy {

// Told about every finished call, on a gRPC callback thread: implementations must be
// thread-safe and quick (no blocking), and keep only what `Record` lets them share. (The
// journal.)
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  struct Record {
    std::string method;  // "/pkg.Service/Method"
    const MetadataView* metadata;
    // Every request message, in arrival order, read-only. An observer that wants to keep one
    // keeps its shared_ptr (no copy): each keeps the schema that owns its type alive, so it
    // outlives the call, a reload and the mock. The journal keeps them this way.
    const std::vector<std::shared_ptr<const google::protobuf::Message>>* requests;
    const std::vector<std::chrono::system_clock::time_point>* received;  // one per request
    const Interaction* interaction;  // the one chosen; null when none was
    std::string miss;                // why nothing matched (or the conversation diverged)
    grpc::StatusCode code;
    std::string message;
    std::chrono::system_clock::time_point start;  // when the call arrived
    int64_t messages_sent;                         // response messages written
    int64_t request_bytes;                         // the request messages' wire size, in all
  };
  virtual void OnCallDone(const Record& record) = 0;
};

class MockService;

// One timer of a call, cancelled with the call: `then(true)` when it fires, `then(false)` when
// the call was cancelled first (before or after the timer was set).
class CallTimer {
 public:
  void Start(int64_t delay_ms, std::function<void(bool)> then);
  void Cancel();  // from OnCancel

 private:
  std::mutex mu_;
  bool cancelled_ = false;
  std::vector<std::unique_ptr<grpc::Alarm>> alarms_;
};

class MockCall final : public grpc::ServerGenericBidiReactor {
 public:
  // `method` (and `request_prototype`, its input type's default instance) are null when the
  // schema does not have the called method.
  MockCall(grpc::GenericCallbackServerContext* context, std::shared_ptr<const InteractionSet> set,
           const google::protobuf::MethodDescriptor* method,
           const google::protobuf::Message* request_prototype, CallObserver* observer,
           MockService* service);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Start();
  bool Decode(const google::protobuf::Message** out);
  void Choose(SelectStage stage);
  // Sends the chosen interaction's answer from `next_message_` on (unary and streams).
  void SendNext();
  // Walks the conversation from `step_` until it needs a client message or ends.
  void Converse();
  void WriteMessage(const ServerMessage& message);
  void After(int64_t delay_ms, void (MockCall::*then)());
  // Ends the call once; with `last_message`, writes it and ends in one batch.
  void FinishWith(const grpc::Status& status, const grpc::ByteBuffer* last_message = nullptr);
  // Adds the chosen interaction's trailers and returns its rendered status.
  grpc::Status ChosenStatus();
  void FinishChosen();
  Request CurrentRequest() const;

  grpc::GenericCallbackServerContext* const context_;
  const std::shared_ptr<const InteractionSet> set_;
  const google::protobuf::MethodDescriptor* const method_;
  const google::protobuf::Message* const request_prototype_;
  CallObserver* const observer_;
  MockService* const service_;  // told when the call is done
  const RpcKind kind_;

  std::mutex mu_;  // guards the fields below against OnCancel and timer callbacks
  bool cancelled_ = false;
  bool finished_ = false;
  CallTimer timer_;

  MetadataView metadata_;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
  std::vector<std::unique_ptr<google::protobuf::Message>> requests_;
  std::vector<std::chrono::system_clock::time_point> received_;  // kept only with an observer
  int64_t request_bytes_ = 0;  // wire bytes of requests_, bounded by the call's limits
  const std::chrono::system_clock::time_point start_;
  int64_t messages_sent_ = 0;
  const Interaction* chosen_ = nullptr;
  std::string miss_;
  size_t next_message_ = 0;  // unary/server streaming: next entry of chosen_->messages
  size_t step_ = 0;          // bidi: next conversation step
  size_t consumed_ = 0;      // bidi: client messages the conversation has matched
  bool waited_ = false;      // the current message's delay has passed
};

class UnaryMockCall final : public grpc::ServerUnaryReactor {
 public:
  // `request` is the call's one message (invalid when the client sent none); the answer goes
  // to `response`. `path` ("/pkg.Service/Method") outlives the call.
  UnaryMockCall(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                grpc::ByteBuffer* response, const std::string& path,
                std::shared_ptr<const InteractionSet> set,
                const google::protobuf::MethodDescriptor* method,
                const google::protobuf::Message* request_prototype, CallObserver* observer,
                MockService* service);

  void OnCancel() override;
  void OnDone() override;

 private:
  void Respond();
  void FinishWith(const grpc::Status& status);
  Request CurrentRequest() const;

  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const response_;
  const std::string* const path_;
  const std::shared_ptr<const InteractionSet> set_;
  const google::protobuf::MethodDescriptor* const method_;
  CallObserver* const observer_;
  MockService* const service_;
  const std::chrono::system_clock::time_point start_;

  std::mutex mu_;
  bool finished_ = false;  // guarded by mu_
  CallTimer timer_;
  MetadataView metadata_;
  std::vector<std::unique_ptr<google::protobuf::Message>> requests_;
  std::vector<std::chrono::system_clock::time_point> received_;
  int64_t request_bytes_ = 0;
  const Interaction* chosen_ = nullptr;
  std::string miss_;
  int64_t messages_sent_ = 0;
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_MOCK_CALL_H_
