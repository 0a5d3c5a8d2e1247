// The libFuzzer entry points of a service fuzzer (service_fuzzer.h), compiled into every target
// that understudy_add_service_fuzzer() makes, around the target's UnderstudyServiceFuzzer().
// A finding is printed to stderr and aborts, so that libFuzzer (or the replay main) stops on the
// input. UNDERSTUDY_FUZZ_VERBOSE=1 prints every call and its status.
//
// Under libFuzzer, -detect_leaks=0 and -entropic=0 are the defaults (give them to override): see
// UseGrpcFuzzingDefaults.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "fuzz/service_fuzzer.h"

namespace {

understudy::fuzz::ServiceHarness& Harness() {
  static understudy::fuzz::ServiceHarness* harness = [] {
    // Every request that does not decode logs an error; that would slow fuzzing down.
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    auto started = understudy::fuzz::ServiceHarness::Start(UnderstudyServiceFuzzer());
    if (!started.ok()) {
      std::fprintf(stderr, "service fuzzer: %s\n", std::string(started.status().message()).c_str());
      std::exit(2);
    }
    return started->release();
  }();
  return *harness;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  understudy::fuzz::UseGrpcFuzzingDefaults(argc, argv);
  Harness();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  understudy::fuzz::RunResult result = Harness().Run(data, size);
  static const bool verbose = std::getenv("UNDERSTUDY_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    for (const auto& call : result.calls) {
      std::fprintf(stderr, "%s: %d \"%s\", %d responses, %lld ms\n", call.method.c_str(),
                   static_cast<int>(call.code), call.message.c_str(), call.responses,
                   static_cast<long long>(call.elapsed.count()));
    }
  }
  if (result.finding.has_value()) {
    std::fputs(result.finding->report.c_str(), stderr);
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return Harness().Mutate(data, size, max_size, seed);
}
