// Fuzz your own gRPC service, in process, through the real gRPC stack. Write one function that
// says how to build the server, and link the target with understudy_add_service_fuzzer()
// (cmake/UnderstudyServiceFuzzer.cmake), which supplies main (libFuzzer's, or a replay of files):
//
//   #include <understudy/service_fuzzer.h>
//
//   understudy::ServiceFuzzer UnderstudyServiceFuzzer() {
//     understudy::ServiceFuzzer f;
//     f.services = {"user.UserService"};        // full names, from the generated code's pool
//     f.register_services = [](grpc::ServerBuilder& builder) {
//       static auto* service = new MyServiceImpl(...);
//       builder.RegisterService(service);
//     };
//     f.interceptors = [] { return MyInterceptors(); };   // optional
//     f.reset = [] { ... };                      // optional: same state before every input
//     f.metadata = {{"authorization", "Bearer fuzz"}};
//     return f;
//   }
//
// Each input is a sequence of up to four calls (service_input.h): a method of those services, a
// request message (client-streaming methods: several) that the custom mutator changes one field
// at a time, and metadata. A finding is a crash, a sanitizer report, a status listed in
// `bug_codes` (UNKNOWN and INTERNAL by default) or a call still running at its deadline. The
// fuzz target prints it (`FINDING pkg.Service/Method INTERNAL`, the status message, the requests
// as JSON) and aborts, so libFuzzer keeps the input.
//
// ServiceHarness is the engine under those entry points, for tests and other drivers.
#ifndef UNDERSTUDY_FUZZ_SERVICE_FUZZER_H_
#define UNDERSTUDY_FUZZ_SERVICE_FUZZER_H_

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/status/statusor.h"
#include "fuzz/service_input.h"

namespace understudy {

// What a service fuzzer fuzzes and what counts as a bug.
struct ServiceFuzzer {
  // Full names of the services whose methods are called ("pkg.Service"); their generated code
  // must be linked in (DescriptorPool::generated_pool()). Required.
  std::vector<std::string> services;
  // Registers the implementations (and options) on the builder; called once. The services must
  // outlive the process. No listening port is needed. Required.
  std::function<void(grpc::ServerBuilder&)> register_services;
  // The server's interceptors (e.g. authentication), if any. Give them here rather than with
  // builder.experimental().SetInterceptorCreators(), which would replace the harness's own: it
  // counts the calls the server still holds, so that an input starts only once the server is
  // done with the calls of the one before (a handler still running would act during the next).
  std::function<
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>()>
      interceptors;
  // Called before every input, so that an input replays alike (e.g. reload test data). Optional.
  std::function<void()> reset;
  // A call ending with one of these is a finding.
  std::vector<grpc::StatusCode> bug_codes = {grpc::StatusCode::UNKNOWN,
                                             grpc::StatusCode::INTERNAL};
  // Each call's deadline; a call that runs into it is a finding.
  std::chrono::milliseconds deadline{1000};
  // Metadata every call sends unless its input leaves the defaults out; the mutator also sends
  // these keys with other values, and the keys of `extra_metadata_keys` ("-bin": any bytes).
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> extra_metadata_keys;
};

}  // namespace understudy

// Defined by the fuzz target (see above); called once, before the first input.
understudy::ServiceFuzzer UnderstudyServiceFuzzer();

namespace understudy::fuzz {

// How one call ended.
struct CallOutcome {
  std::string method;  // "pkg.Service/Method"
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  int responses = 0;
  std::chrono::milliseconds elapsed{0};
};

struct Finding {
  std::string method;  // "pkg.Service/Method"
  std::string what;    // the status code's name ("INTERNAL"), or "deadline overrun"
  // Several lines: the FINDING line, the status, the calls of the input with requests as JSON.
  std::string report;
};

struct RunResult {
  std::vector<CallOutcome> calls;  // those made, in order
  std::optional<Finding> finding;  // the first; the calls after it are not made
};

namespace internal {
class ServerCalls;  // the calls the server holds, counted by an interceptor
}  // namespace internal

// One in-process server and a generic client to it, kept for every input.
// Thread safety: Run and Mutate are not to be called concurrently with Run.
class ServiceHarness {
 public:
  // NOT_FOUND for a service missing from the generated pool, INVALID_ARGUMENT for a fuzzer
  // without services or register_services, UNAVAILABLE when the server does not start.
  static absl::StatusOr<std::unique_ptr<ServiceHarness>> Start(ServiceFuzzer options);
  ~ServiceHarness();

  // Calls `reset`, then makes the input's calls one after the other until one is a finding, then
  // waits (up to a second) until the server has cleaned up every call.
  // After a call that never ends (10 s past its deadline; reported as a finding) the harness
  // must not be used again.
  RunResult Run(const ServiceInput& input);
  RunResult Run(const uint8_t* data, size_t size) { return Run(Decode(data, size)); }

  // libFuzzer's custom mutator: one structure-aware change (a request field, a message, the
  // method, metadata or the calls), now and then a plain byte mutation. Returns the new size.
  size_t Mutate(uint8_t* data, size_t size, size_t max_size, unsigned seed) const;

  ServiceInput Decode(const uint8_t* data, size_t size) const;
  std::string Encode(const ServiceInput& input) const;

  // The methods an input's method index selects, in declaration order, service after service.
  const std::vector<const google::protobuf::MethodDescriptor*>& methods() const {
    return methods_;
  }
  // The metadata keys an input's key index selects: those of `metadata`, then the extra ones.
  const std::vector<std::string>& metadata_keys() const { return keys_; }

 private:
  struct Prepared;  // a call's requests, parsed
  class Call;       // one call on the completion queue

  explicit ServiceHarness(ServiceFuzzer options) : options_(std::move(options)) {}
  Prepared Prepare(const ServiceCall& call) const;
  CallOutcome Make(const ServiceCall& call, const Prepared& prepared, bool* never_ended);
  // The finding of the last call of `prepared` (all made so far), if it is one.
  std::optional<Finding> Judge(const ServiceInput& input, const std::vector<Prepared>& prepared,
                               const CallOutcome& outcome, bool never_ended) const;

  const ServiceFuzzer options_;
  std::shared_ptr<internal::ServerCalls> server_calls_;  // held by the server's interceptors
  std::vector<const google::protobuf::MethodDescriptor*> methods_;
  std::vector<std::string> keys_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::unique_ptr<grpc::CompletionQueue> cq_;
};

// For the LLVMFuzzerInitialize of a target that makes gRPC calls: libFuzzer flags that suit one,
// added unless the command line sets them. gRPC's threads allocate, free and run code in the
// background, so the allocation count and the coverage of nearly every input differ:
//   -detect_leaks=0  otherwise a full leak scan runs after almost every input (about 30 ms, most
//                    of an input's time); leaks are still reported when the process exits;
//   -entropic=0      the entropic scheduler's per-feature bookkeeping, fed that noise, took about
//                    60% of the time (measured: 2 to 3 times the inputs per second without it).
// Does nothing outside libFuzzer (a replay main).
void UseGrpcFuzzingDefaults(int* argc, char*** argv);

}  // namespace understudy::fuzz

#endif  // UNDERSTUDY_FUZZ_SERVICE_FUZZER_H_
