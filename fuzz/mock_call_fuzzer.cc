// The mock's call path, end to end: an in-process MockServer of proto/user.proto and
// contracts/user_service (made once, delays cut to 1 ms) takes one call per input, of any method (bad paths, health
// and reflection included), with metadata and any number of request messages (call_input.h),
// through grpc::GenericStub with a 500 ms deadline.
//
// Once the client has sent everything, a server silent for kIdle is cancelled (as a client that
// gives up would): calls the mock keeps open on purpose (health's Watch, slow streams) end there
// instead of at their deadline, and cancellation in every state of a call gets exercised.
//
// Beside the contracts, interactions that any call carrying `x-custom` reaches put what the
// client sent into every templated position — headers (plain and -bin), trailers, the status
// code, message and details, body fields, stream messages, conversation steps — so hostile
// bytes (a -bin value in a plain header or a proto3 string, CR/LF, NUL or non-ASCII text from a
// body in a header, a status code that is no code) reach each check gRPC would abort on.
//
// Invariant: every call ends with a status, and the process's memory stays bounded. A crash, a
// sanitizer report, a call that never ends (no status 10 s after its deadline or its
// cancellation) or a resident size past kMaxRssBytes is a finding.
// UNDERSTUDY_FUZZ_VERBOSE=1 prints each call and its status.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "fuzz/call_input.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/service_fuzzer.h"
#include "src/mutator.h"
#include "mockserver/mock_server.h"

namespace {

namespace pb = google::protobuf;
using understudy::fuzz::CallInput;
using understudy::fuzz::Fail;

// Every "delayMs" of `value` cut to 1 ms: the timers still run, but a fuzzer that waits 50 ms for
// a slow answer makes 20 calls a second.
void CapDelays(nlohmann::json* value) {
  if (value->is_array()) {
    for (auto& element : *value) CapDelays(&element);
  } else if (value->is_object()) {
    for (auto& [key, element] : value->items()) {
      if (key == "delayMs" && element.is_number() && element.get<double>() > 1) {
        element = 1;
      } else {
        CapDelays(&element);
      }
    }
  }
}

// contracts/user_service with its delays capped, copied into a fresh temporary directory.
std::string FastContracts() {
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / "understudy-mock-call-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) Fail("cannot create a temporary directory");
  fs::path contracts = understudy::fuzz::SourceDir() + "/contracts/user_service";
  for (const auto& entry : fs::directory_iterator(contracts)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    nlohmann::json contract = nlohmann::json::parse(in);
    CapDelays(&contract);
    std::ofstream(fs::path(dir) / entry.path().filename()) << contract.dump(2);
  }
  return dir;
}

// Hostile requests' values echoed everywhere a template may stand (see the top of the file).
constexpr char kEchoEverywhere[] = R"({"interactions": [
  {"name": "echo into headers, trailers and body", "method": "user.UserService/GetUser",
   "priority": 100, "request": {"metadata": {"x-custom": {"$regex": "(?s)h.*"}}},
   "response": {
     "headers": {"x-echo": "{{request.body.userId}}", "x-echo-bin": "{{request.metadata.x-trace-bin}}",
                 "x-custom-echo": "<{{request.metadata.x-custom}}>"},
     "trailers": {"x-echo": "{{request.metadata.x-trace-bin}}", "x-id": "{{request.body.userId}}"},
     "body": {"user": {"id": "{{request.metadata.x-trace-bin}}", "name": "{{request.body.userId}}",
                       "email": "{{request.metadata.x-tenant}}"}}}},
  {"name": "echo into the status", "method": "user.UserService/GetUser",
   "priority": 100, "request": {"metadata": {"x-custom": {"$regex": "(?s)s.*"}}},
   "response": {
     "trailers": {"x-echo-bin": "{{request.metadata.x-trace-bin}}"},
     "status": {"code": "{{request.metadata.x-tenant}}",
                "message": "{{request.body.userId}} {{request.metadata.x-trace-bin}}",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "{{request.metadata.x-trace-bin}}",
                             "domain": "{{request.body.userId}}",
                             "metadata": {"tenant": "{{request.metadata.x-tenant}}"}}]}}},
  {"name": "echo into a stream", "method": "user.UserService/StreamUsers",
   "priority": 100, "request": {"metadata": {"x-custom": {"$regex": "(?s).*"}}},
   "response": {
     "headers": {"x-echo": "{{request.metadata.x-trace-bin}}"},
     "stream": [{"body": {"user": {"id": "{{request.metadata.x-trace-bin}}"}}},
                {"body": {"user": {"name": "{{request.metadata.x-custom}}"}}}],
     "trailers": {"x-echo": "{{request.metadata.x-custom}}"},
     "status": {"code": "{{request.metadata.x-tenant}}", "message": "after the stream"}}},
  {"name": "echo client messages", "method": "user.UserService/CreateUserStream",
   "priority": 100, "request": {"metadata": {"x-custom": {"$regex": "(?s).*"}}},
   "response": {
     "headers": {"x-first": "{{request.stream.0.name}}", "x-last": "{{request.body.email}}"},
     "trailers": {"x-first-bin": "{{request.stream.0.name}}"},
     "body": {"createdCount": "{{request.metadata.x-tenant}}"}}},
  {"name": "echo a conversation", "method": "user.UserService/BidirectionalStream",
   "priority": 100, "request": {"metadata": {"x-custom": {"$regex": "(?s).*"}}},
   "response": {"headers": {"x-echo": "{{request.metadata.x-trace-bin}}"},
                "trailers": {"x-last": "{{request.body.requestId}}"},
                "status": {"code": "{{request.metadata.x-tenant}}"}},
   "conversation": [{"client": {}}, {"server": {"requestId": "{{request.body.requestId}}",
                                                "message": "{{request.metadata.x-trace-bin}}"}},
                    {"client": {}}, {"server": {"requestId": "{{request.stream.0.userId}}"}}]}
]})";

// Resident memory past this is a finding: the mock's bounds keep it far below (ASan's shadow
// memory and quarantine included).
constexpr int64_t kMaxRssBytes = int64_t{3} << 30;

int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return 0;
}

std::unique_ptr<understudy::MockServer> StartMock() {
  understudy::MockServerOptions options;
  options.prebuilt_schema = understudy::fuzz::LoadUserSchema();
  options.interaction_paths = {FastContracts()};
  options.interaction_json = {kEchoEverywhere};
  options.listen = "";
  options.journal_size = 16;
  auto mock = understudy::MockServer::Start(options);
  std::filesystem::remove_all(options.interaction_paths[0]);  // loaded: no longer needed
  if (!mock.ok()) Fail("the mock does not start: " + std::string(mock.status().message()));
  return std::move(*mock);
}

struct Target {
  std::unique_ptr<understudy::MockServer> mock = StartMock();
  std::shared_ptr<grpc::Channel> channel = mock->Channel();
  grpc::GenericStub stub{channel};
  grpc::CompletionQueue cq;
  std::vector<std::string> methods = understudy::fuzz::CallMethods(mock->schema());
  pb::DynamicMessageFactory factory{mock->schema().pool()};
  // The request type of each entry of `methods`; null when it is not known here (health).
  std::vector<const pb::Message*> prototypes;

  Target() {
    for (const auto& path : methods) {
      const pb::Message* prototype = nullptr;
      if (const auto* method = mock->schema().FindMethod(path)) {
        prototype = factory.GetPrototype(method->input_type());
      } else if (path.find("reflection") != std::string::npos) {
        std::string version = path.find(".v1.") != std::string::npos ? "v1" : "v1alpha";
        const auto* type = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
            "grpc.reflection." + version + ".ServerReflectionRequest");
        if (type != nullptr) prototype = pb::MessageFactory::generated_factory()->GetPrototype(type);
      }
      prototypes.push_back(prototype);
    }
  }
  int method_count() const { return static_cast<int>(methods.size()); }
};

Target& GetTarget() {
  static Target* target = [] {
    understudy::fuzz::QuietProtobufLogs();
    return new Target;
  }();
  return *target;
}

// One call's operations on the completion queue. A read stays pending while the client writes:
// the in-process transport does not buffer, so a client that wrote everything before reading
// would wait for a server waiting for it.
constexpr auto kIdle = std::chrono::milliseconds(20);

class Call {
 public:
  Call(grpc::ClientContext* context, grpc::GenericClientAsyncReaderWriter* stream,
       grpc::CompletionQueue* cq)
      : context_(context), stream_(stream), cq_(cq) {}
  void StartReading() {
    reading_ = true;
    stream_->Read(&response_, &response_);
  }
  // Waits for the operation `tag` (null: for the reads to end, cancelling the call when the
  // server stays silent for kIdle), serving reads meanwhile; false when it failed (the call is
  // over).
  bool Await(void* tag) {
    while (tag != nullptr || reading_) {
      void* got = nullptr;
      bool ok = false;
      bool idle_cancel = tag == nullptr && !cancelled_;
      auto now = std::chrono::system_clock::now();
      auto status = cq_->AsyncNext(&got, &ok, now + (idle_cancel ? kIdle : std::chrono::seconds(10)));
      if (status == grpc::CompletionQueue::TIMEOUT && idle_cancel) {
        context_->TryCancel();
        cancelled_ = true;
        continue;
      }
      if (status != grpc::CompletionQueue::GOT_EVENT) {
        Fail("a call to the mock did not end 10 s after its deadline or its cancellation");
      }
      if (got == &response_) {
        if (ok && ++reads_ < 1000) {
          stream_->Read(&response_, &response_);
        } else {
          reading_ = false;
        }
      } else if (got == tag) {
        return ok;
      } else {
        Fail("an unexpected completion");
      }
    }
    return false;
  }

 private:
  grpc::ClientContext* context_;
  grpc::GenericClientAsyncReaderWriter* stream_;
  grpc::CompletionQueue* cq_;
  grpc::ByteBuffer response_;
  bool reading_ = false;
  bool cancelled_ = false;
  int reads_ = 0;
};

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  understudy::fuzz::UseGrpcFuzzingDefaults(argc, argv);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = GetTarget();
  CallInput input = CallInput::Decode(data, size, t.method_count());
  understudy::fuzz::ResetState(*t.mock->interactions());

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  const auto& keys = understudy::fuzz::CallMetadataKeys();
  for (const auto& [key, value] : input.metadata) {
    context.AddMetadata(keys[key], understudy::fuzz::LegalMetadataValue(keys[key], value));
  }
  auto stream = t.stub.PrepareCall(&context, t.methods[input.method], &t.cq);
  Call call(&context, stream.get(), &t.cq);
  stream->StartCall(&context);
  if (call.Await(&context)) {
    call.StartReading();
    // The client always half-closes, with the last message or after a failed write: otherwise
    // gRPC 1.51's in-process transport may never free the call (see fuzz/service_fuzzer.cc).
    bool half_closed = false;
    for (size_t i = 0; i < input.messages.size(); ++i) {
      grpc::ByteBuffer buffer = Buffer(input.messages[i]);
      const bool last = i + 1 == input.messages.size();
      if (last) {
        stream->WriteLast(buffer, grpc::WriteOptions(), &buffer);
      } else {
        stream->Write(buffer, &buffer);
      }
      half_closed = last;  // a failed WriteLast has half-closed too: no WritesDone after it
      if (!call.Await(&buffer)) break;
    }
    if (!half_closed) {
      stream->WritesDone(&stream);
      call.Await(&stream);
    }
    call.Await(nullptr);
  }
  grpc::Status status;
  stream->Finish(&status, &status);
  call.Await(&status);
  static const bool verbose = std::getenv("UNDERSTUDY_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s, %zu metadata, %zu messages: %d %s\n", t.methods[input.method].c_str(),
                 input.metadata.size(), input.messages.size(), status.error_code(),
                 status.error_message().c_str());
  }
  if (status.error_code() < grpc::OK || status.error_code() > grpc::UNAUTHENTICATED) {
    Fail("a call ended with status code " + std::to_string(status.error_code()));
  }
  static int calls = 0;
  if (++calls % 256 == 0 && ResidentBytes() > kMaxRssBytes) {
    Fail("the process holds " + std::to_string(ResidentBytes()) + " bytes after " +
         std::to_string(calls) + " calls");
  }
  return 0;
}

// Structure-aware: changes the method, the metadata, the number of messages or (most often) one
// message, through the descriptor-driven mutator when it decodes as the method's request type.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  Target& t = GetTarget();
  std::minstd_rand rng(seed);
  if (rng() % 8 == 0) return understudy::fuzz::MutateBytes(data, size, max_size, &rng);
  CallInput call = CallInput::Decode(data, size, t.method_count());
  int keys = static_cast<int>(understudy::fuzz::CallMetadataKeys().size());
  auto mutate_text = [&rng](std::string* text, size_t limit) {
    size_t n = text->size();
    text->resize(std::min(limit, n + 16));
    text->resize(understudy::fuzz::MutateBytes(reinterpret_cast<uint8_t*>(text->data()), n,
                                               text->size(), &rng));
  };
  switch (rng() % 8) {
    case 0:
      call.method = static_cast<int>(rng() % t.method_count());
      break;
    case 1:
      if (call.metadata.empty() || rng() % 3 == 0) {
        call.metadata.emplace_back(static_cast<int>(rng() % keys), "Bearer fuzz");
      } else {
        mutate_text(&call.metadata[rng() % call.metadata.size()].second,
                    understudy::fuzz::kMaxMetadataValue);
      }
      break;
    case 2:
      if (!call.messages.empty() && rng() % 2 == 0) {
        call.messages.erase(call.messages.begin() + rng() % call.messages.size());
      } else {
        call.messages.push_back(call.messages.empty() ? "" : call.messages[rng() % call.messages.size()]);
      }
      break;
    default: {
      if (call.messages.empty()) call.messages.emplace_back();
      std::string& message = call.messages[rng() % call.messages.size()];
      const pb::Message* prototype = t.prototypes[call.method];
      std::unique_ptr<pb::Message> parsed(prototype != nullptr ? prototype->New() : nullptr);
      if (parsed != nullptr && parsed->ParseFromString(message)) {
        understudy::fuzz::MessageMutator(seed).Mutate(parsed.get());
        parsed->SerializePartialToString(&message);  // a mutation may clear a required field
      } else {
        mutate_text(&message, understudy::fuzz::kMaxMessageBytes);
      }
    }
  }
  std::string out = call.Encode(t.method_count());
  if (out.size() > max_size) return understudy::fuzz::MutateBytes(data, size, max_size, &rng);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
