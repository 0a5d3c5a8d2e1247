#include "mockserver/mock_call.h"

#include <chrono>

#include <grpcpp/support/proto_buffer_reader.h>

#include "absl/strings/str_cat.h"
#include "mockserver/mock_service.h"
#include "src/selector.h"

namespace understudy {

namespace pb = google::protobuf;

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
  const auto& client_metadata = context_->client_metadata();
  metadata_.reserve(client_metadata.size());
  for (const auto& [key, value] : client_metadata) {
    metadata_.emplace_back(absl::string_view(key.data(), key.size()),
                           absl::string_view(value.data(), value.size()));
  }
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

Request MockCall::CurrentRequest() const {
  Request request;
  request.metadata = &metadata_;
  request.body = requests_.empty() ? nullptr : requests_.back().get();
  request.stream = &requests_;
  return request;
}

bool MockCall::Decode(const pb::Message** out) {
  const pb::Descriptor* type = method_->input_type();
  std::unique_ptr<pb::Message> message(request_prototype_->New());
  grpc::ProtoBufferReader reader(&in_);
  bool ok = message->ParseFromZeroCopyStream(&reader) && reader.status().ok();
  in_.Clear();
  if (!ok) {
    FinishWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("request message ", requests_.size(), " of ",
                                         MethodName(method_), " is not a valid ",
                                         type->full_name())));
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
  Request request = CurrentRequest();
  for (const auto& header : chosen_->headers) {
    context_->AddInitialMetadata(header.key, header.value.Render(request));
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
  absl::StatusOr<std::string> bytes = message.message.Render(CurrentRequest());
  if (!bytes.ok()) {
    FinishWith(grpc::Status(grpc::StatusCode::INTERNAL,
                            absl::StrCat(chosen_->Label(), ": ", bytes.status().message())));
    return;
  }
  grpc::Slice slice(*bytes);
  out_ = grpc::ByteBuffer(&slice, 1);
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

void MockCall::After(int64_t delay_ms, void (MockCall::*then)()) {
  grpc::Alarm* alarm;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      alarms_.push_back(std::make_unique<grpc::Alarm>());
      alarm = alarms_.back().get();
    } else {
      alarm = nullptr;
    }
  }
  if (alarm == nullptr) {
    FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
    return;
  }
  alarm->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms),
             [this, then](bool fired) {
               if (!fired) {
                 FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
                 return;
               }
               (this->*then)();
             });
  // OnCancel may have run between registering the alarm and setting it, when cancelling it was
  // a no-op: cancel it now so a cancelled call does not wait out its delay.
  bool cancel_now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_now = cancelled_;
  }
  if (cancel_now) alarm->Cancel();
}

void MockCall::OnCancel() {
  std::vector<grpc::Alarm*> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    for (auto& alarm : alarms_) pending.push_back(alarm.get());
  }
  for (grpc::Alarm* alarm : pending) alarm->Cancel();
}

grpc::Status MockCall::ChosenStatus() {
  Request request = CurrentRequest();
  for (const auto& trailer : chosen_->trailers) {
    context_->AddTrailingMetadata(trailer.key, trailer.value.Render(request));
  }
  const ResponseStatus& status = chosen_->status;
  std::string message = status.message.Render(request);
  absl::StatusOr<std::string> details = status.DetailsBin(request, message);
  if (!details.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat(chosen_->Label(), ": ", details.status().message()));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code), message, *details);
}

void MockCall::FinishChosen() { FinishWith(ChosenStatus()); }

void MockCall::FinishWith(const grpc::Status& status, const grpc::ByteBuffer* last_message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  if (observer_ != nullptr) {
    CallObserver::Record record{context_->method(), &metadata_,          &requests_,
                                &received_,         chosen_,             miss_,
                                status.error_code(), status.error_message(), start_,
                                messages_sent_};
    observer_->OnCallDone(record);
  }
  if (last_message != nullptr) {
    StartWriteAndFinish(last_message, grpc::WriteOptions(), status);
  } else {
    Finish(status);
  }
}

void MockCall::OnDone() {
  MockService* service = service_;
  delete this;
  if (service != nullptr) service->CallDone();
}

}  // namespace understudy
