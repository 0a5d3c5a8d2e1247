#include "fuzz/testing/buggy_service.h"

#include <string>

namespace understudy::fuzztest {
namespace {

bool Authorized(grpc::CallbackServerContext* context) {
  auto it = context->client_metadata().find("authorization");
  return it != context->client_metadata().end() &&
         std::string(it->second.data(), it->second.size()) == "Bearer t";
}

const grpc::Status kUnauthenticated(grpc::StatusCode::UNAUTHENTICATED, "no token");

class CollectReactor final : public grpc::ServerReadReactor<Request> {
 public:
  CollectReactor(grpc::CallbackServerContext* context, Reply* reply) : reply_(reply) {
    if (!Authorized(context)) {
      Finish(kUnauthenticated);
      return;
    }
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      reply_->set_text(std::to_string(count_) + " messages");
      return Finish(grpc::Status::OK);
    }
    if (count_++ > 0 && request_.inner().value() == 7) {
      return Finish(grpc::Status(grpc::StatusCode::UNKNOWN, "seven after the first"));
    }
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  Reply* const reply_;
  Request request_;
  int count_ = 0;
};

class WatchReactor final : public grpc::ServerWriteReactor<Reply> {
 public:
  WatchReactor(grpc::CallbackServerContext* context, const Request& request) : request_(request) {
    if (!Authorized(context)) {
      Finish(kUnauthenticated);
      return;
    }
    stalled_ = request_.stall();
    if (!stalled_) Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    Next();
  }
  // Only a stalled call is still without a write or a status when cancelled.
  void OnCancel() override {
    if (stalled_) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (sent_ == request_.items_size()) return Finish(grpc::Status::OK);
    reply_.set_text(request_.items(sent_++).tag());
    StartWrite(&reply_);
  }

  const Request request_;
  Reply reply_;
  bool stalled_ = false;
  int sent_ = 0;
};

class ChatReactor final : public grpc::ServerBidiReactor<Request, Reply> {
 public:
  explicit ChatReactor(grpc::CallbackServerContext* context) {
    if (!Authorized(context)) {
      Finish(kUnauthenticated);
      return;
    }
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    if (request_.inner().value() == -1) {
      return Finish(grpc::Status(grpc::StatusCode::INTERNAL, "minus one"));
    }
    reply_.set_text(request_.name());
    StartWrite(&reply_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  Request request_;
  Reply reply_;
};

}  // namespace

grpc::ServerUnaryReactor* BuggyServiceImpl::Check(grpc::CallbackServerContext* context,
                                                  const Request* request, Reply* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Authorized(context)) {
    reactor->Finish(kUnauthenticated);
  } else if (request->inner().tag() == "boom") {
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  } else if (request->name() == "invalid") {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid name"));
  } else {
    reply->set_text("checked " + request->name());
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerReadReactor<Request>* BuggyServiceImpl::Collect(grpc::CallbackServerContext* context,
                                                            Reply* reply) {
  return new CollectReactor(context, reply);
}

grpc::ServerWriteReactor<Reply>* BuggyServiceImpl::Watch(grpc::CallbackServerContext* context,
                                                         const Request* request) {
  return new WatchReactor(context, *request);
}

grpc::ServerBidiReactor<Request, Reply>* BuggyServiceImpl::Chat(
    grpc::CallbackServerContext* context) {
  return new ChatReactor(context);
}

ServiceFuzzer BuggyFuzzer(std::atomic<int>* resets) {
  ServiceFuzzer f;
  f.services = {"understudy.fuzztest.BuggyService"};
  f.register_services = [](grpc::ServerBuilder& builder) {
    builder.RegisterService(new BuggyServiceImpl);
  };
  if (resets != nullptr) f.reset = [resets] { resets->fetch_add(1); };
  f.deadline = std::chrono::milliseconds(300);
  f.metadata = {{"authorization", "Bearer t"}};
  f.extra_metadata_keys = {"x-trace-bin"};
  return f;
}

}  // namespace understudy::fuzztest
