#include "fuzz/service_fuzzer.h"

#include <grpcpp/completion_queue.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <cstring>
#include <random>

#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "src/mutator.h"

// Defined by libFuzzer only: tells its run from a replay main's.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size)
    __attribute__((weak));

namespace understudy::fuzz {
namespace {

namespace pb = google::protobuf;

// A server-streaming or bidi call is cancelled after this many responses: an endless stream is
// not a finding, and reading it to its deadline would be.
constexpr int kMaxResponses = 1000;
// How long past its deadline a call may take to end before it counts as never ending.
constexpr std::chrono::seconds kGrace{10};

std::string MethodName(const pb::MethodDescriptor* method) {
  return absl::StrCat(method->service()->full_name(), "/", method->name());
}

std::string CodeName(grpc::StatusCode code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("code ", static_cast<int>(code)) : name;
}

std::string Json(const pb::Message& message) {
  std::string out;
  // The JSON printer aborts on a message without its proto2 required fields.
  if (!message.IsInitialized() || !pb::util::MessageToJsonString(message, &out).ok()) {
    return message.ShortDebugString();
  }
  return out;
}

const pb::Message* Prototype(const pb::MethodDescriptor* method) {
  return pb::MessageFactory::generated_factory()->GetPrototype(method->input_type());
}

}  // namespace

namespace internal {

class ServerCalls {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++live_;
    seen_ = true;
  }
  void Remove() {
    absl::MutexLock lock(&mu_);
    --live_;
  }
  // Waits until the server holds no call, at most `timeout`. False right away when no call was
  // ever counted (the interceptor was replaced).
  bool AwaitIdle(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    if (!seen_) return false;
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](int* live) { return *live == 0; }, &live_),
                                timeout);
  }

 private:
  absl::Mutex mu_;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
  bool seen_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace internal

namespace {

// Lives as long as the server's side of one call.
class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(std::shared_ptr<internal::ServerCalls> calls)
      : calls_(std::move(calls)) {
    calls_->Add();
  }
  ~CountingInterceptor() override { calls_->Remove(); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  const std::shared_ptr<internal::ServerCalls> calls_;
};

class CountingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingFactory(std::shared_ptr<internal::ServerCalls> calls)
      : calls_(std::move(calls)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* /*info*/) override {
    return new CountingInterceptor(calls_);
  }

 private:
  const std::shared_ptr<internal::ServerCalls> calls_;
};

}  // namespace

struct ServiceHarness::Prepared {
  // What the call sends: one message unless the method streams requests; a message that does
  // not parse as the request type is sent empty (the service never sees undecodable bytes).
  std::vector<std::unique_ptr<pb::Message>> requests;
};

// One call's operations on the completion queue. A read stays pending while the client writes:
// the in-process transport does not buffer, so a client that wrote everything before reading
// would wait for a server waiting for it.
class ServiceHarness::Call {
 public:
  Call(grpc::GenericClientAsyncReaderWriter* stream, grpc::ClientContext* context,
       grpc::CompletionQueue* cq, std::chrono::system_clock::time_point give_up)
      : stream_(stream), context_(context), cq_(cq), give_up_(give_up) {}

  void StartReading() {
    reading_ = true;
    stream_->Read(&response_, &response_);
  }

  // Waits for the operation `tag` (null: for the reads to end), serving reads meanwhile; false
  // when it failed (the call is over) or when nothing happened until the give-up time (stuck).
  bool Await(void* tag) {
    while (!stuck_ && (tag != nullptr || reading_)) {
      void* got = nullptr;
      bool ok = false;
      if (cq_->AsyncNext(&got, &ok, give_up_) != grpc::CompletionQueue::GOT_EVENT) {
        stuck_ = true;
      } else if (got == &response_) {
        if (ok) ++responses_;
        if (ok && responses_ < kMaxResponses) {
          stream_->Read(&response_, &response_);
        } else {
          reading_ = false;
          if (ok) context_->TryCancel();
        }
      } else if (got == tag) {
        return ok;
      }
    }
    return false;
  }

  bool stuck() const { return stuck_; }
  int responses() const { return responses_; }

 private:
  grpc::GenericClientAsyncReaderWriter* const stream_;
  grpc::ClientContext* const context_;
  grpc::CompletionQueue* const cq_;
  const std::chrono::system_clock::time_point give_up_;
  grpc::ByteBuffer response_;
  bool reading_ = false;
  bool stuck_ = false;
  int responses_ = 0;
};

absl::StatusOr<std::unique_ptr<ServiceHarness>> ServiceHarness::Start(ServiceFuzzer options) {
  if (options.services.empty()) {
    return absl::InvalidArgumentError("a service fuzzer needs at least one service");
  }
  if (!options.register_services) {
    return absl::InvalidArgumentError("a service fuzzer needs register_services");
  }
  std::unique_ptr<ServiceHarness> harness(new ServiceHarness(std::move(options)));
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  for (const std::string& name : harness->options_.services) {
    const pb::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) {
      return absl::NotFoundError(absl::StrCat("service ", name,
                                              " is not in the generated descriptor pool: link "
                                              "its generated code (.pb.cc, .grpc.pb.cc)"));
    }
    for (int i = 0; i < service->method_count(); ++i) harness->methods_.push_back(service->method(i));
  }
  if (harness->methods_.empty()) return absl::InvalidArgumentError("the services have no methods");
  std::vector<std::string>& keys = harness->keys_;
  for (const auto& [key, value] : harness->options_.metadata) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  for (const std::string& key : harness->options_.extra_metadata_keys) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }

  harness->server_calls_ = std::make_shared<internal::ServerCalls>();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (harness->options_.interceptors) interceptors = harness->options_.interceptors();
  interceptors.push_back(std::make_unique<CountingFactory>(harness->server_calls_));
  grpc::ServerBuilder builder;
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  harness->options_.register_services(builder);
  harness->server_ = builder.BuildAndStart();
  if (harness->server_ == nullptr) return absl::UnavailableError("the server does not start");
  harness->channel_ = harness->server_->InProcessChannel(grpc::ChannelArguments());
  harness->stub_ = std::make_unique<grpc::GenericStub>(harness->channel_);
  harness->cq_ = std::make_unique<grpc::CompletionQueue>();
  return harness;
}

ServiceHarness::~ServiceHarness() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  if (cq_ != nullptr) {
    cq_->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_->Next(&tag, &ok)) {
    }
  }
}

ServiceInput ServiceHarness::Decode(const uint8_t* data, size_t size) const {
  return ServiceInput::Decode(data, size, static_cast<int>(methods_.size()),
                              static_cast<int>(keys_.size()));
}

std::string ServiceHarness::Encode(const ServiceInput& input) const {
  return input.Encode(static_cast<int>(methods_.size()), static_cast<int>(keys_.size()));
}

ServiceHarness::Prepared ServiceHarness::Prepare(const ServiceCall& call) const {
  const pb::MethodDescriptor* method = methods_[call.method];
  const pb::Message* prototype = Prototype(method);
  size_t count = method->client_streaming() ? call.messages.size() : 1;
  Prepared out;
  for (size_t i = 0; i < count; ++i) {
    std::unique_ptr<pb::Message> message(prototype->New());
    // Partial: fuzzed requests may lack proto2 required fields, which the service must survive.
    if (i < call.messages.size() && !message->ParsePartialFromString(call.messages[i])) {
      message->Clear();
    }
    out.requests.push_back(std::move(message));
  }
  return out;
}

CallOutcome ServiceHarness::Make(const ServiceCall& call, const Prepared& prepared,
                                 bool* never_ended) {
  CallOutcome outcome;
  outcome.method = MethodName(methods_[call.method]);
  auto context = std::make_unique<grpc::ClientContext>();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = std::chrono::system_clock::now() + options_.deadline;
  context->set_deadline(deadline);
  if (call.default_metadata) {
    for (const auto& entry : options_.metadata) {
      bool replaced = std::any_of(call.metadata.begin(), call.metadata.end(),
                                  [&](const auto& m) { return keys_[m.first] == entry.first; });
      if (!replaced) context->AddMetadata(entry.first, entry.second);
    }
  }
  for (const auto& [key, value] : call.metadata) {
    context->AddMetadata(keys_[key], LegalMetadataValue(keys_[key], value));
  }

  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream =
      stub_->PrepareCall(context.get(), "/" + outcome.method, cq_.get());
  auto ops = std::make_unique<Call>(stream.get(), context.get(), cq_.get(), deadline + kGrace);
  stream->StartCall(context.get());
  if (ops->Await(context.get())) {
    ops->StartReading();
    // The client always half-closes: with the last message, in one batch as generated stubs
    // do, or with WritesDone after a failed write. Measured with gRPC 1.51's in-process
    // transport: a call whose client half-closes in a batch of its own while the server
    // finishes, or never, is not freed (about 20 KB a call). A server that ends a streaming call
    // without reading every message still leaves its call behind (fuzz/README.md).
    const size_t count = prepared.requests.size();
    bool half_closed = false;
    for (size_t i = 0; i < count; ++i) {
      std::string bytes = prepared.requests[i]->SerializePartialAsString();
      grpc::Slice slice(bytes);
      grpc::ByteBuffer buffer(&slice, 1);
      const bool last = i + 1 == count;
      if (last) {
        stream->WriteLast(buffer, grpc::WriteOptions(), &buffer);
      } else {
        stream->Write(buffer, &buffer);
      }
      half_closed = last;  // a failed WriteLast has half-closed too: no WritesDone after it
      if (!ops->Await(&buffer)) break;
    }
    if (!half_closed) {
      stream->WritesDone(&stream);
      ops->Await(&stream);
    }
    ops->Await(nullptr);
  }
  grpc::Status status;
  if (!ops->stuck()) {
    stream->Finish(&status, &status);
    ops->Await(&status);
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  outcome.responses = ops->responses();
  if (ops->stuck()) {
    // gRPC may still write into these: they outlive the call, as the harness ends with it.
    *never_ended = true;
    context.release();
    stream.release();
    ops.release();
    outcome.code = grpc::StatusCode::DEADLINE_EXCEEDED;
    outcome.message = absl::StrCat("no status ", kGrace.count(), " s after the deadline");
    return outcome;
  }
  outcome.code = status.error_code();
  outcome.message = status.error_message();
  return outcome;
}

std::optional<Finding> ServiceHarness::Judge(const ServiceInput& input,
                                             const std::vector<Prepared>& prepared,
                                             const CallOutcome& outcome, bool never_ended) const {
  Finding finding;
  finding.method = outcome.method;
  if (never_ended || (outcome.code == grpc::StatusCode::DEADLINE_EXCEEDED &&
                      outcome.elapsed >= options_.deadline)) {
    finding.what = "deadline overrun";
  } else if (std::find(options_.bug_codes.begin(), options_.bug_codes.end(), outcome.code) !=
             options_.bug_codes.end()) {
    finding.what = CodeName(outcome.code);
  } else {
    return std::nullopt;
  }
  std::string& r = finding.report;
  absl::StrAppend(&r, "FINDING ", finding.method, " ", finding.what, "\n");
  absl::StrAppend(&r, "  status: ", CodeName(outcome.code), " \"", outcome.message, "\" after ",
                  outcome.elapsed.count(), " ms (deadline ", options_.deadline.count(), " ms), ",
                  outcome.responses, " responses\n");
  for (size_t i = 0; i < prepared.size(); ++i) {
    const ServiceCall& call = input.calls[i];
    absl::StrAppend(&r, "  call ", i + 1, " of ", input.calls.size(), ": ",
                    MethodName(methods_[call.method]),
                    call.default_metadata ? "" : " without the default metadata", "\n");
    for (const auto& [key, value] : call.metadata) {
      absl::StrAppend(&r, "    metadata ", keys_[key], ": ", LegalMetadataValue(keys_[key], value), "\n");
    }
    for (const auto& request : prepared[i].requests) {
      absl::StrAppend(&r, "    request: ", Json(*request), "\n");
    }
  }
  return finding;
}

RunResult ServiceHarness::Run(const ServiceInput& input) {
  if (options_.reset) options_.reset();
  RunResult result;
  std::vector<Prepared> prepared;
  for (const ServiceCall& raw : input.calls) {
    ServiceCall call = raw;
    call.method = std::clamp(call.method, 0, static_cast<int>(methods_.size()) - 1);
    if (keys_.empty()) call.metadata.clear();
    for (auto& m : call.metadata) m.first = std::clamp(m.first, 0, static_cast<int>(keys_.size()) - 1);
    prepared.push_back(Prepare(call));
    bool never_ended = false;
    result.calls.push_back(Make(call, prepared.back(), &never_ended));
    result.finding = Judge(input, prepared, result.calls.back(), never_ended);
    if (result.finding.has_value()) break;
  }
  server_calls_->AwaitIdle(absl::Seconds(1));
  return result;
}

size_t ServiceHarness::Mutate(uint8_t* data, size_t size, size_t max_size, unsigned seed) const {
  std::minstd_rand rng(seed);
  if (rng() % 8 == 0) return MutateBytes(data, size, max_size, &rng);
  ServiceInput input = Decode(data, size);
  auto& calls = input.calls;
  const size_t at = rng() % calls.size();
  ServiceCall& call = calls[at];
  const int keys = static_cast<int>(keys_.size());
  auto mutate_text = [&rng](std::string* text, size_t limit) {
    size_t n = text->size();
    text->resize(std::min(limit, n + 16));
    text->resize(MutateBytes(reinterpret_cast<uint8_t*>(text->data()), n, text->size(), &rng));
  };
  switch (rng() % 10) {
    case 0:
      call.method = static_cast<int>(rng() % methods_.size());
      break;
    case 1:
      if (keys == 0 || rng() % 4 == 0) {
        call.default_metadata = !call.default_metadata;
      } else if (call.metadata.empty() || rng() % 3 == 0) {
        int key = static_cast<int>(rng() % keys);
        std::string value = "fuzz";
        for (const auto& [k, v] : options_.metadata) {
          if (k == keys_[key]) value = v;
        }
        call.metadata.emplace_back(key, value);
      } else if (rng() % 3 == 0) {
        call.metadata.erase(call.metadata.begin() + rng() % call.metadata.size());
      } else {
        mutate_text(&call.metadata[rng() % call.metadata.size()].second,
                    kMaxServiceMetadataValue);
      }
      break;
    case 2:
      if (calls.size() > 1 && (calls.size() == kMaxServiceCalls || rng() % 2 == 0)) {
        calls.erase(calls.begin() + at);
      } else {
        ServiceCall copy = call;
        if (rng() % 2 == 0) copy.method = static_cast<int>(rng() % methods_.size());
        calls.insert(calls.begin() + rng() % (calls.size() + 1), std::move(copy));
      }
      break;
    case 3:
      if (!call.messages.empty() && rng() % 2 == 0) {
        call.messages.erase(call.messages.begin() + rng() % call.messages.size());
      } else {
        call.messages.push_back(call.messages.empty() ? ""
                                                      : call.messages[rng() % call.messages.size()]);
      }
      break;
    default: {
      const pb::MethodDescriptor* method = methods_[std::clamp(
          call.method, 0, static_cast<int>(methods_.size()) - 1)];
      if (call.messages.empty()) call.messages.emplace_back();
      size_t index = method->client_streaming() ? rng() % call.messages.size() : 0;
      std::string& message = call.messages[index];
      std::unique_ptr<pb::Message> parsed(Prototype(method)->New());
      if (!parsed->ParsePartialFromString(message)) parsed->Clear();
      MessageMutator(static_cast<unsigned>(rng())).Mutate(parsed.get());
      parsed->SerializePartialToString(&message);
    }
  }
  std::string out = Encode(input);
  if (out.size() > max_size) return MutateBytes(data, size, max_size, &rng);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

void UseGrpcFuzzingDefaults(int* argc, char*** argv) {
  // libFuzzer parses its flags after LLVMFuzzerInitialize returns, from the argv left there.
  if (LLVMFuzzerMutate == nullptr) return;
  static char no_leak_scan[] = "-detect_leaks=0";
  static char no_entropic[] = "-entropic=0";
  static std::vector<char*> args;
  args.assign(*argv, *argv + *argc);
  for (char* flag : {no_leak_scan, no_entropic}) {
    std::string name(flag, std::strchr(flag, '=') + 1);
    bool given = std::any_of(*argv, *argv + *argc, [&name](const char* arg) {
      return std::string(arg).rfind(name, 0) == 0;
    });
    if (!given) args.push_back(flag);
  }
  *argc = static_cast<int>(args.size());
  args.push_back(nullptr);
  *argv = args.data();
}

}  // namespace understudy::fuzz
