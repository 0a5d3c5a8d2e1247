#include "mockserver/mock_call.h"

#include <chrono>
#include <map>
#include <utility>

#include <grpcpp/support/proto_buffer_reader.h>

#include "absl/strings/str_cat.h"
#include "mockserver/mock_service.h"
#include "src/json_message.h"
#include "src/selector.h"

namespace understudy {

namespace pb = google::protobuf;

namespace {

MetadataView ViewOf(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) {
  MetadataView out;
  out.reserve(client_metadata.size());
  for (const auto& [key, value] : client_metadata) {
    out.emplace_back(absl::string_view(key.data(), key.size()),
                     absl::string_view(value.data(), value.size()));
  }
  return out;
}

// What matchers and templates see of a call: its metadata, the last message and all of them.
Request RequestOf(const MetadataView& metadata,
                  const std::vector<std::unique_ptr<pb::Message>>& requests) {
  Request request;
  request.metadata = &metadata;
  request.body = requests.empty() ? nullptr : requests.back().get();
  request.stream = &requests;
  return request;
}

// Request message `index` of a call to `method`; null, with the INVALID_ARGUMENT status to end
// the call with in `error`, when the bytes are not one.
std::unique_ptr<pb::Message> DecodeMessage(grpc::ByteBuffer* in, const pb::Message& prototype,
                                           const pb::MethodDescriptor* method, size_t index,
                                           grpc::Status* error) {
  std::unique_ptr<pb::Message> message(prototype.New());
  grpc::ProtoBufferReader reader(in);
  bool ok = message->ParsePartialFromZeroCopyStream(&reader) && reader.status().ok();
  in->Clear();
  if (ok && message->IsInitialized()) return message;
  // A proto2 request without its required fields is refused, as gRPC's generated servers do (with
  // INTERNAL there): matching, templates and the journal all see complete messages only.
  *error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("request message ", index, " of ", MethodName(method),
                                     " is not a valid ", method->input_type()->full_name(),
                                     ok ? absl::StrCat(": ", MissingRequiredFields(*message)) : ""));
  return nullptr;
}

// Renders `entries` (the chosen interaction's headers or trailers) and hands each to `add`;
// false, with the INTERNAL status in `error`, when a template rendered a value gRPC cannot send
// (gRPC would abort the process on it), in which case none is added.
template <typename Add>
bool AddMetadata(const std::vector<MetadataEntry>& entries, const Interaction& chosen,
                 const Request& request, Add add, grpc::Status* error) {
  if (entries.empty()) return true;
  std::vector<std::pair<std::string, std::string>> rendered;
  absl::Status status = RenderMetadata(entries, request, &rendered);
  if (!status.ok()) {
    *error = grpc::Status(grpc::StatusCode::INTERNAL,
                          absl::StrCat(chosen.Label(), ": ", status.message()));
    return false;
  }
  for (auto& [key, value] : rendered) add(key, value);
  return true;
}

bool AddHeaders(grpc::CallbackServerContext* context, const Interaction& chosen,
                const Request& request, grpc::Status* error) {
  return AddMetadata(
      chosen.headers, chosen, request,
      [context](const std::string& k, const std::string& v) { context->AddInitialMetadata(k, v); },
      error);
}

// Adds the interaction's trailers and returns its rendered status.
grpc::Status RenderStatus(grpc::CallbackServerContext* context, const Interaction& chosen,
                          const Request& request) {
  grpc::Status error;
  auto add = [context](const std::string& k, const std::string& v) {
    context->AddTrailingMetadata(k, v);
  };
  if (!AddMetadata(chosen.trailers, chosen, request, add, &error)) return error;
  const ResponseStatus& status = chosen.status;
  std::string message = status.message.Render(request);
  absl::StatusOr<std::string> details = status.DetailsBin(request, message);
  if (!details.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat(chosen.Label(), ": ", details.status().message()));
  }
  absl::StatusOr<int> code = status.Code(request);
  if (!code.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat(chosen.Label(), ": ", code.status().message()));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(*code), message, *details);
}

// The bytes of a message to send; false, with the INTERNAL status in `error`, when a template
// cannot be rendered.
bool MessageBuffer(const ServerMessage& message, const Interaction& chosen, const Request& request,
                   grpc::ByteBuffer* out, grpc::Status* error) {
  if (message.message.HasTemplates()) {
    absl::StatusOr<std::string> bytes = message.message.Render(request);
    if (!bytes.ok()) {
      *error = grpc::Status(grpc::StatusCode::INTERNAL,
                            absl::StrCat(chosen.Label(), ": ", bytes.status().message()));
      return false;
    }
    grpc::Slice slice(*bytes);
    *out = grpc::ByteBuffer(&slice, 1);
  } else {
    // Copied once, straight from the compiled bytes (the set may be swapped while gRPC sends).
    grpc::Slice slice(message.message.fixed_bytes());
    *out = grpc::ByteBuffer(&slice, 1);
  }
  return true;
}

// Tells `observer` of a finished call. The call hands its messages over as shared, read-only
// ones: each keeps `schema` (which owns its type) alive, so an observer may keep any of them.
void TellObserver(CallObserver* observer, const std::string& method, const MetadataView& metadata,
                  std::vector<std::unique_ptr<pb::Message>>* requests,
                  const std::vector<std::chrono::system_clock::time_point>& received,
                  const Interaction* chosen, const std::string& miss, const grpc::Status& status,
                  std::chrono::system_clock::time_point start, int64_t messages_sent,
                  int64_t request_bytes, const std::shared_ptr<const Schema>& schema) {
  std::vector<std::shared_ptr<const pb::Message>> shared;
  shared.reserve(requests->size());
  for (auto& message : *requests) {
    shared.emplace_back(message.release(), [schema](const pb::Message* m) { delete m; });
  }
  requests->clear();  // the call reads no message once it has finished
  CallObserver::Record record{method,         &metadata, &shared, &received, chosen,
                              miss,           status.error_code(), status.error_message(),
                              start,          messages_sent, request_bytes};
  observer->OnCallDone(record);
}

}  // namespace

MockCall::MockCall(grpc::GenericCallbackServerContext* context, std::shared_ptr<const InteractionSet> set,
                   const pb::MethodDescriptor* method, const pb::Message* request_prototype,
                   CallObserver* observer, MockService* service)
    : context_(context),
      set_(std::move(set)),
      method_(method),
      request_prototype_(request_prototype),
      observer_(observer),
      service_(service),
      kind_(method != nullptr ? KindOf(method) : RpcKind::kUnary),
      start_(observer != nullptr ? std::chrono::system_clock::now()
                                 : std::chrono::system_clock::time_point()) {
  metadata_ = ViewOf(context_->client_metadata());
  Start();
}

void MockCall::Start() {
  if (method_ == nullptr) {
    FinishWith(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            absl::StrCat("unknown method ", context_->method(),
                                         ": not in the mock's schema")));
    return;
  }
  if (kind_ == RpcKind::kBidiStreaming) {
    chosen_ = Select(*set_, method_, CurrentRequest(), SelectStage::kBidiStart, nullptr);
    if (chosen_ != nullptr) {
      Choose(SelectStage::kBidiStart);
      return;
    }
  }
  StartRead(&in_);
}

Request MockCall::CurrentRequest() const { return RequestOf(metadata_, requests_); }

bool MockCall::Decode(const pb::Message** out) {
  const int64_t limit = service_ != nullptr ? service_->limits().max_stream_messages : 0;
  if (limit > 0 && static_cast<int64_t>(requests_.size()) >= limit) {
    FinishWith(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("more than ", limit, " messages on one call to ",
                                         MethodName(method_), " (--max-stream-messages)")));
    return false;
  }
  grpc::Status error;
  if (service_ != nullptr &&
      !service_->HoldRequestBytes(method_, static_cast<int64_t>(in_.Length()), &request_bytes_,
                                  &error)) {
    in_.Clear();
    FinishWith(error);
    return false;
  }
  std::unique_ptr<pb::Message> message =
      DecodeMessage(&in_, *request_prototype_, method_, requests_.size(), &error);
  if (message == nullptr) {
    FinishWith(error);
    return false;
  }
  requests_.push_back(std::move(message));
  if (observer_ != nullptr) received_.push_back(std::chrono::system_clock::now());
  *out = requests_.back().get();
  return true;
}

void MockCall::OnReadDone(bool ok) {
  if (!ok) {
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled = cancelled_;
    }
    if (cancelled || context_->IsCancelled()) {
      FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
      return;
    }
    switch (kind_) {
      case RpcKind::kUnary:
      case RpcKind::kServerStreaming:
        FinishWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                absl::StrCat(MethodName(method_), " expects one request message, ",
                                             "the client sent none")));
        return;
      case RpcKind::kClientStreaming:
        Choose(SelectStage::kWhole);
        return;
      case RpcKind::kBidiStreaming:
        if (chosen_ == nullptr) {
          Choose(SelectStage::kBidiNoMessage);
        } else {
          miss_ = absl::StrCat("the client closed its stream, but ", chosen_->Label(),
                               " expects a client message at ", chosen_->conversation[step_].pointer);
          FinishWith(grpc::Status(grpc::StatusCode::NOT_FOUND, miss_));
        }
        return;
    }
  }
  const pb::Message* message = nullptr;
  if (!Decode(&message)) return;
  switch (kind_) {
    case RpcKind::kUnary:
    case RpcKind::kServerStreaming:
      Choose(SelectStage::kWhole);
      return;
    case RpcKind::kClientStreaming:
      StartRead(&in_);
      return;
    case RpcKind::kBidiStreaming:
      if (chosen_ == nullptr) {
        Choose(SelectStage::kBidiFirstMessage);
      } else {
        Converse();
      }
      return;
  }
}

void MockCall::Choose(SelectStage stage) {
  if (stage != SelectStage::kBidiStart) {
    chosen_ = Select(*set_, method_, CurrentRequest(), stage, &miss_);
  }
  if (chosen_ == nullptr) {
    FinishWith(grpc::Status(grpc::StatusCode::NOT_FOUND, miss_));
    return;
  }
  grpc::Status error;
  if (!AddHeaders(context_, *chosen_, CurrentRequest(), &error)) {
    FinishWith(error);
    return;
  }
  if (kind_ == RpcKind::kBidiStreaming) {
    step_ = 0;
    if (chosen_->delay_ms > 0) {
      After(chosen_->delay_ms, &MockCall::Converse);
    } else {
      Converse();
    }
    return;
  }
  if (chosen_->delay_ms > 0) {
    After(chosen_->delay_ms, &MockCall::SendNext);
  } else {
    SendNext();
  }
}

void MockCall::SendNext() {
  if (next_message_ >= chosen_->messages.size()) {
    FinishChosen();
    return;
  }
  const ServerMessage& message = chosen_->messages[next_message_];
  if (message.delay_ms > 0 && !waited_) {
    waited_ = true;
    After(message.delay_ms, &MockCall::SendNext);
    return;
  }
  waited_ = false;
  WriteMessage(message);
}

void MockCall::Converse() {
  const auto& conversation = chosen_->conversation;
  // Client steps take the messages received so far, in order, then wait for the next one.
  while (step_ < conversation.size() && conversation[step_].client != nullptr) {
    if (consumed_ >= requests_.size()) {
      StartRead(&in_);
      return;
    }
    std::string why;
    if (!MatchStep(conversation[step_], *requests_[consumed_], &why)) {
      miss_ = absl::StrCat("client message ", consumed_, " does not match ", chosen_->Label(),
                           " at ", conversation[step_].pointer, "/client", why.empty() ? "" : ": ",
                           why);
      FinishWith(grpc::Status(grpc::StatusCode::NOT_FOUND, miss_));
      return;
    }
    ++consumed_;
    ++step_;
  }
  if (step_ >= conversation.size()) {
    FinishChosen();
    return;
  }
  const ConversationStep& step = conversation[step_];
  if (step.server->delay_ms > 0 && !waited_) {
    waited_ = true;
    After(step.server->delay_ms, &MockCall::Converse);
    return;
  }
  waited_ = false;
  WriteMessage(*step.server);
}

void MockCall::WriteMessage(const ServerMessage& message) {
  grpc::Status error;
  if (!MessageBuffer(message, *chosen_, CurrentRequest(), &out_, &error)) {
    FinishWith(error);
    return;
  }
  ++messages_sent_;
  const bool last = kind_ == RpcKind::kBidiStreaming
                        ? step_ + 1 == chosen_->conversation.size()
                        : next_message_ + 1 == chosen_->messages.size();
  if (last) {
    // The last message goes out with the status in one batch: one round of the completion
    // queue fewer per call, which is most of a unary call's cost.
    FinishWith(ChosenStatus(), &out_);
    return;
  }
  StartWrite(&out_);
}

void MockCall::OnWriteDone(bool ok) {
  if (!ok) {
    FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    return;
  }
  if (kind_ == RpcKind::kBidiStreaming) {
    ++step_;
    Converse();
  } else {
    ++next_message_;
    SendNext();
  }
}

void CallTimer::Start(int64_t delay_ms, std::function<void(bool)> then) {
  grpc::Alarm* alarm = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      alarms_.push_back(std::make_unique<grpc::Alarm>());
      alarm = alarms_.back().get();
    }
  }
  if (alarm == nullptr) {
    then(false);
    return;
  }
  alarm->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms),
             std::move(then));
  // Cancel may have run between registering the alarm and setting it, when cancelling it was a
  // no-op: cancel it now so a cancelled call does not wait out its delay.
  bool cancel_now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_now = cancelled_;
  }
  if (cancel_now) alarm->Cancel();
}

void CallTimer::Cancel() {
  std::vector<grpc::Alarm*> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    for (auto& alarm : alarms_) pending.push_back(alarm.get());
  }
  for (grpc::Alarm* alarm : pending) alarm->Cancel();
}

void MockCall::After(int64_t delay_ms, void (MockCall::*then)()) {
  timer_.Start(delay_ms, [this, then](bool fired) {
    if (!fired) {
      FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
      return;
    }
    (this->*then)();
  });
}

void MockCall::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  timer_.Cancel();
}

grpc::Status MockCall::ChosenStatus() { return RenderStatus(context_, *chosen_, CurrentRequest()); }

void MockCall::FinishChosen() { FinishWith(ChosenStatus()); }

void MockCall::FinishWith(const grpc::Status& status, const grpc::ByteBuffer* last_message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  if (observer_ != nullptr) {
    TellObserver(observer_, context_->method(), metadata_, &requests_, received_, chosen_, miss_,
                 status, start_, messages_sent_, request_bytes_, set_->shared_schema());
  }
  if (last_message != nullptr) {
    StartWriteAndFinish(last_message, grpc::WriteOptions(), status);
  } else {
    Finish(status);
  }
}

void MockCall::OnDone() {
  MockService* service = service_;
  const int64_t held = request_bytes_;
  delete this;
  if (service != nullptr) {
    service->ReleaseRequestBytes(held);
    service->CallDone();
  }
}

UnaryMockCall::UnaryMockCall(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                             grpc::ByteBuffer* response, const std::string& path,
                             std::shared_ptr<const InteractionSet> set,
                             const pb::MethodDescriptor* method,
                             const pb::Message* request_prototype, CallObserver* observer,
                             MockService* service)
    : context_(context),
      response_(response),
      path_(&path),
      set_(std::move(set)),
      method_(method),
      observer_(observer),
      service_(service),
      start_(observer != nullptr ? std::chrono::system_clock::now()
                                 : std::chrono::system_clock::time_point()) {
  metadata_ = ViewOf(context_->client_metadata());
  if (!request->Valid()) {
    FinishWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat(MethodName(method_), " expects one request message, ",
                                         "the client sent none")));
    return;
  }
  grpc::ByteBuffer in(*request);  // shares the slices
  grpc::Status error;
  if (service_ != nullptr &&
      !service_->HoldRequestBytes(method_, static_cast<int64_t>(in.Length()), &request_bytes_,
                                  &error)) {
    FinishWith(error);
    return;
  }
  std::unique_ptr<pb::Message> message = DecodeMessage(&in, *request_prototype, method_, 0, &error);
  if (message == nullptr) {
    FinishWith(error);
    return;
  }
  requests_.push_back(std::move(message));
  if (observer_ != nullptr) received_.push_back(std::chrono::system_clock::now());
  chosen_ = Select(*set_, method_, CurrentRequest(), SelectStage::kWhole, &miss_);
  if (chosen_ == nullptr) {
    FinishWith(grpc::Status(grpc::StatusCode::NOT_FOUND, miss_));
    return;
  }
  if (!AddHeaders(context_, *chosen_, CurrentRequest(), &error)) {
    FinishWith(error);
    return;
  }
  // The interaction's delay, then its one message's (the same wait as the generic path's).
  int64_t delay =
      chosen_->delay_ms + (chosen_->messages.empty() ? 0 : chosen_->messages[0].delay_ms);
  if (delay <= 0) {
    Respond();
    return;
  }
  timer_.Start(delay, [this](bool fired) {
    if (fired) {
      Respond();
    } else {
      FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
    }
  });
}

Request UnaryMockCall::CurrentRequest() const { return RequestOf(metadata_, requests_); }

void UnaryMockCall::Respond() {
  Request request = CurrentRequest();
  // Non-OK answers have no message; OK ones have exactly one.
  if (chosen_->status.code == 0 && !chosen_->messages.empty()) {
    grpc::Status error;
    if (!MessageBuffer(chosen_->messages[0], *chosen_, request, response_, &error)) {
      FinishWith(error);
      return;
    }
    messages_sent_ = 1;
  }
  FinishWith(RenderStatus(context_, *chosen_, request));
}

void UnaryMockCall::FinishWith(const grpc::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  if (observer_ != nullptr) {
    TellObserver(observer_, *path_, metadata_, &requests_, received_, chosen_, miss_, status,
                 start_, messages_sent_, request_bytes_, set_->shared_schema());
  }
  Finish(status);
}

void UnaryMockCall::OnCancel() { timer_.Cancel(); }

void UnaryMockCall::OnDone() {
  MockService* service = service_;
  const int64_t held = request_bytes_;
  delete this;
  if (service != nullptr) {
    service->ReleaseRequestBytes(held);
    service->CallDone();
  }
}

}  // namespace understudy
