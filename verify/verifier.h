// Verifier: plays every interaction of a set of files against a real server.
//
//   auto verifier = Verifier::Create(schema, {"contracts/user_service"}, options);
//   if (!verifier.ok()) { /* every problem, one per line: exit 2 */ }
//   auto results = (*verifier)->Run(channel, [](const CaseResult& r) { print(r); });
//
// Order: interactions without `given` and outside scenarios are independent and run first, up to
// `jobs` at a time over the one channel; then the others, one at a time in file order, each with
// `given` after the setup hook has prepared the provider (a scenario's state carries over).
#ifndef UNDERSTUDY_VERIFY_VERIFIER_H_
#define UNDERSTUDY_VERIFY_VERIFIER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "src/interaction_set.h"
#include "verify/verify_case.h"

namespace understudy {

struct VerifyOptions {
  MetadataPairs headers;                      // --header, on every call
  std::chrono::milliseconds timeout{10000};   // per call
  int jobs = 1;                               // independent interactions in parallel
  // Run through /bin/sh before each interaction with `given`; its standard input is
  // {"interaction": NAME, "file": FILE, "method": METHOD, "states": [...]}.
  std::string setup_command;
  // How long the hook may take; then its process group is killed and the run stops.
  std::chrono::milliseconds setup_timeout{60000};
};

struct CaseResult {
  const Interaction* interaction = nullptr;
  std::vector<Difference> differences;
  double seconds = 0;
  // Why the run could not go on after this interaction (the setup hook timed out); "" normally.
  std::string cannot_run;
  bool passed() const { return differences.empty(); }
};

class Verifier {
 public:
  // Loads and plans every interaction; fails with every problem when any cannot be played.
  static absl::StatusOr<std::unique_ptr<Verifier>> Create(std::shared_ptr<const Schema> schema,
                                                          const std::vector<std::string>& paths,
                                                          VerifyOptions options);

  size_t size() const { return cases_.size(); }
  // Plays every interaction; `on_result` sees each result once, in the order they are returned.
  // A result with `cannot_run` is the last: the interactions after it were not played.
  std::vector<CaseResult> Run(const std::shared_ptr<grpc::Channel>& channel,
                              const std::function<void(const CaseResult&)>& on_result) const;

 private:
  Verifier() = default;
  CaseResult RunOne(const VerifyCase& c, grpc::GenericStub* stub) const;
  // "" or what went wrong; `timed_out` when the hook outlived options_.setup_timeout.
  std::string Setup(const Interaction& interaction, bool* timed_out) const;

  std::shared_ptr<InteractionSet> set_;
  VerifyOptions options_;
  std::vector<std::unique_ptr<VerifyCase>> cases_;  // independent ones first, then the others
  size_t independent_ = 0;
};

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_VERIFIER_H_
