// The planted bugs of buggy_service.proto, on the callback API, and the ServiceFuzzer that fuzzes
// them (what a user's fuzz target returns). Every method answers UNAUTHENTICATED unless the call
// carries `authorization: Bearer t`.
#ifndef UNDERSTUDY_FUZZ_TESTING_BUGGY_SERVICE_H_
#define UNDERSTUDY_FUZZ_TESTING_BUGGY_SERVICE_H_

#include <atomic>

#include "buggy_service.grpc.pb.h"
#include "fuzz/service_fuzzer.h"

namespace understudy::fuzztest {

class BuggyServiceImpl final : public BuggyService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context, const Request* request,
                                  Reply* reply) override;
  grpc::ServerReadReactor<Request>* Collect(grpc::CallbackServerContext* context,
                                            Reply* reply) override;
  grpc::ServerWriteReactor<Reply>* Watch(grpc::CallbackServerContext* context,
                                         const Request* request) override;
  grpc::ServerBidiReactor<Request, Reply>* Chat(grpc::CallbackServerContext* context) override;
};

// A fuzzer of a new BuggyServiceImpl (leaked: it must outlive the server), 300 ms deadline,
// `authorization: Bearer t` as default metadata. `resets` (optional) counts the resets.
ServiceFuzzer BuggyFuzzer(std::atomic<int>* resets = nullptr);

}  // namespace understudy::fuzztest

#endif  // UNDERSTUDY_FUZZ_TESTING_BUGGY_SERVICE_H_
