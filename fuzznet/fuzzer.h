// Fuzzer: sends structure-aware requests to a running gRPC server and keeps what breaks it.
//
//   FuzzOptions options;
//   options.duration = std::chrono::seconds(20);
//   auto fuzzer = Fuzzer::Create(schema, options);  // unknown --method, bad seed files: an error
//   if (!fuzzer.ok()) { ... exit 2 ... }
//   auto stats = (*fuzzer)->Run(channel, [](const Finding& f) { print(f.method, f.status); });
//
// A black-box loop: each call sends a mutant (src/mutator.h) of a request from the corpus of its
// method; a request whose answer is new — method, status code, status message shape, and for
// answers with messages the fields set and their count — joins the corpus. Seeds are the empty
// request of each method and the requests of the interaction files given.
//
// A finding is a call that ended with a code of `bug_codes` (by default UNKNOWN, INTERNAL and
// DEADLINE_EXCEEDED) or after which the server could no longer be reached (a crash: fuzzing
// stops). A deadline is a finding only when the same request, sent again with a long deadline
// (LongDeadline), times out too: a slow answer is not a bug, and a stream that sent messages
// before its deadline is long-lived, not hung. Findings with the same method, status and message
// shape are one: one file in `out_dir`, one callback; a method and status give at most
// kMaxShapesPerStatus findings.
//
// Memory stays bounded however long the run: the corpus keeps kMaxCorpusPerMethod requests per
// method and the fuzzer kMaxOutcomesPerMethod outcome hashes (past that, no request joins the
// corpus for being new).
#ifndef UNDERSTUDY_FUZZNET_FUZZER_H_
#define UNDERSTUDY_FUZZNET_FUZZER_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "fuzznet/call_player.h"
#include "fuzznet/finding.h"
#include "fuzznet/request_generator.h"
#include "src/schema.h"
#include "verify/generic_call.h"

namespace understudy::fuzznet {

// Distinct outcomes remembered per method.
inline constexpr size_t kMaxOutcomesPerMethod = 4096;

// The deadline a call that timed out is sent again with: 10 times the fuzzing deadline, at least
// the 10 s `understudy verify` waits by default, so that a finding replays.
std::chrono::milliseconds LongDeadline(std::chrono::milliseconds deadline);

struct FuzzOptions {
  // "pkg.Service/Method", "/pkg.Service/Method" or "pkg.Service" (all its methods). Empty: every
  // method of every service of the schema.
  std::vector<std::string> methods;
  std::vector<std::string> seed_paths;  // interaction files or directories
  MetadataPairs headers;                // sent with every call
  std::chrono::milliseconds deadline{1000};
  std::chrono::milliseconds duration{60000};  // zero: no time bound
  int64_t max_calls = 0;                      // zero: no bound on calls
  std::set<int> bug_codes = {grpc::StatusCode::UNKNOWN, grpc::StatusCode::DEADLINE_EXCEEDED,
                             grpc::StatusCode::INTERNAL};
  unsigned seed = 1;
  int jobs = 1;  // calls in flight; with 1 a seed replays the same requests
  std::string out_dir = "fuzz-findings";
};

struct Finding {
  std::string method;   // package.Service/Method
  std::string status;   // the code's name, or "crash"
  std::string message;  // the status message seen
  std::string file;     // the interaction file written
  std::string note;     // why the file may not replay, when the checks say so
  int64_t call = 0;     // the number of the call that found it, from 1
  double seconds = 0;   // since the start
};

struct FuzzStats {
  int64_t calls = 0;
  double seconds = 0;
  size_t findings = 0;
  size_t corpus = 0;  // requests in the corpus at the end
  bool crashed = false;
  int64_t generation_failures = 0;       // requests that could not be made (no JSON form, too big)
  std::map<std::string, int64_t> codes;  // code name → calls that ended with it
};

class Fuzzer {
 public:
  static absl::StatusOr<std::unique_ptr<Fuzzer>> Create(std::shared_ptr<const Schema> schema,
                                                        FuzzOptions options);
  ~Fuzzer();

  const std::vector<const google::protobuf::MethodDescriptor*>& methods() const { return methods_; }
  size_t seeds() const { return seeds_; }            // requests taken from the interaction files
  size_t skipped_seeds() const { return skipped_; }  // of those, the ones that did not parse

  // Fuzzes until the budget is spent or the server crashed. `on_finding` sees each new finding
  // once, one at a time. Fails only when a finding could not be written.
  absl::StatusOr<FuzzStats> Run(const std::shared_ptr<grpc::Channel>& channel,
                                const std::function<void(const Finding&)>& on_finding);

 private:
  Fuzzer() = default;
  absl::Status LoadSeeds();
  void Work(int worker, grpc::GenericStub* stub, const std::shared_ptr<grpc::Channel>& channel,
            const std::function<void(const Finding&)>& on_finding);
  // Classifies one call; returns false when fuzzing must stop (a crash, a write error).
  bool Judge(const FuzzRequest& request, const CallOutcome& outcome, int64_t call,
             grpc::GenericStub* stub, const std::shared_ptr<grpc::Channel>& channel,
             std::minstd_rand* rng, const std::function<void(const Finding&)>& on_finding);
  // Whether a DEADLINE_EXCEEDED call is a hang: the same request times out again with
  // LongDeadline. Sets `description` for the finding.
  bool StillHangs(const FuzzRequest& request, const CallOutcome& outcome, int64_t call,
                  grpc::GenericStub* stub, std::string* description);
  // Writes and announces a new finding; returns false when fuzzing must stop.
  bool Report(const FuzzRequest& request, const CallOutcome& outcome, bool crashed, int64_t call,
              const std::string& description,
              const std::function<void(const Finding&)>& on_finding);
  bool OutOfBudget();

  std::shared_ptr<const Schema> schema_;
  FuzzOptions options_;
  std::vector<const google::protobuf::MethodDescriptor*> methods_;
  std::unique_ptr<RequestCorpus> corpus_;
  size_t seeds_ = 0, skipped_ = 0;

  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> calls_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> generation_failures_{0};
  std::atomic<int64_t> codes_[kStatusCodeCount] = {};

  std::mutex mu_;
  // Guarded by mu_: OutcomeHash of the answers so far, at most kMaxOutcomesPerMethod a method.
  std::map<const google::protobuf::MethodDescriptor*, std::unordered_set<uint64_t>> outcomes_;
  FindingLimiter findings_;   // guarded by mu_
  bool crashed_ = false;      // guarded by mu_
  absl::Status write_error_;  // guarded by mu_
  // Held while a finding is announced (not while its file is written): one callback at a time.
  std::mutex announce_mu_;
};

}  // namespace understudy::fuzznet

#endif  // UNDERSTUDY_FUZZNET_FUZZER_H_
