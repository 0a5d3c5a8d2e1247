// `understudy fuzz`: sends generated requests to a running server (SPEC.md, "fuzz").
#ifndef UNDERSTUDY_CLI_FUZZ_COMMAND_H_
#define UNDERSTUDY_CLI_FUZZ_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "mockserver/tls.h"
#include "src/schema.h"

namespace understudy {

// Calls in flight at most (--jobs).
inline constexpr int kMaxJobs = 64;

struct FuzzCommand {
  SchemaOptions schema;
  bool reflect = false;
  std::string target;                // HOST:PORT
  std::vector<std::string> methods;  // --method
  std::vector<std::string> paths;    // interaction files whose requests seed the corpus
  std::vector<std::string> headers;  // "KEY: VALUE"
  double duration_seconds = -1;      // negative: 60, or no time bound when --calls is given
  int64_t calls = 0;                 // zero: no bound
  int64_t deadline_ms = 1000;
  std::string out_dir = "fuzz-findings";
  std::string bug_status = "UNKNOWN,DEADLINE_EXCEEDED,INTERNAL";
  int64_t seed = -1;  // negative: drawn at random (and printed)
  int jobs = 1;
  ClientTls tls;
};

// The process exit code: 0 nothing found, 1 findings, 2 could not run.
int RunFuzz(const FuzzCommand& command);

}  // namespace understudy

#endif  // UNDERSTUDY_CLI_FUZZ_COMMAND_H_
