// VerifyCase: one interaction, planned for playing against a real server.
//
//   Diagnostics problems;
//   auto c = VerifyCase::Plan(interaction, schema, {{"authorization", "Bearer t"}}, &problems);
//   std::vector<Difference> diffs = c->Run(&stub, std::chrono::seconds(10));
//
// Planning turns the request side of the interaction into concrete messages (literals as written,
// a matcher's `$example`, the first `$oneOf` alternative; `$any`/`$absent` fields left unset) and
// checks that they match the interaction's own request matchers. The response side becomes
// matchers: bodies match partially unless `$exact`, `$example` is ignored, templates are rendered
// from the request the verifier sends. Running plays the call and lists every difference, each
// with a JSON pointer into the interaction (e.g. /response/stream/2/body/user/name).
#ifndef UNDERSTUDY_VERIFY_VERIFY_CASE_H_
#define UNDERSTUDY_VERIFY_VERIFY_CASE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>

#include "src/diagnostics.h"
#include "src/interaction.h"
#include "src/schema.h"
#include "verify/generic_call.h"

namespace understudy {

struct Difference {
  std::string pointer;  // into the interaction; "" for the call as a whole
  std::string message;  // e.g. `expected "Ada", got "Ado"`
  // For a value difference, the two sides of `message` as shown there (`"Ada"`, `"Ado"`; long
  // values summarised); both empty for other differences (a missing key, an extra message).
  std::string expected, actual;
};

// Why gRPC would refuse to send metadata `key: value` (it aborts the process rather than fail the
// call), or "" when it is fine: keys of a-z 0-9 - _ . (not grpc-), printable ASCII values unless
// the key ends in -bin.
std::string MetadataProblem(const std::string& key, const std::string& value);

// How ConcreteValue treats a matcher that names no value.
enum class ConcreteMode {
  kStrict,   // the verifier's: `unresolved` is called with the matcher's pointer
  kLenient,  // a fuzzer's seed: also the bound of $gt/$lt and the text of $contains; else unset
};

// The concrete value a request spec stands for: literals as written, a matcher's `$example` or
// `$eq`, the first `$oneOf` alternative, the bound of `$gte`/`$lte`; nullopt (the field unset) for
// `$any`, `$absent` and matchers that name no value. `pointer` locates `spec` for `unresolved`.
std::optional<nlohmann::json> ConcreteValue(
    const nlohmann::json& spec, const std::string& pointer, ConcreteMode mode,
    const std::function<void(const std::string& pointer)>& unresolved);

class VerifyCase {
 public:
  // Null, with every problem added to `diagnostics`, when the interaction cannot be played.
  // `headers` (e.g. --header) go with every call, except keys the interaction wants `$absent`.
  static std::unique_ptr<VerifyCase> Plan(const Interaction& interaction, const Schema& schema,
                                          const MetadataPairs& headers, Diagnostics* diagnostics);
  ~VerifyCase();

  const Interaction& interaction() const { return *interaction_; }
  // Plays the call; empty when the server kept the contract. Thread-safe. A stream is read up to
  // one message more than the interaction expects: an extra message is a difference and the call
  // is cancelled there, so an endless stream costs one message, not everything until the deadline.
  std::vector<Difference> Run(grpc::GenericStub* stub, std::chrono::milliseconds timeout) const;

  struct Expectations;  // verify/expectations.h
  struct Outcome;

 private:
  VerifyCase() = default;
  void Judge(const Outcome& outcome, std::chrono::milliseconds timeout,
             std::vector<Difference>* out) const;
  void JudgeMessages(const Outcome& outcome, std::vector<Difference>* out) const;

  const Interaction* interaction_ = nullptr;
  const Schema* schema_ = nullptr;
  MetadataPairs metadata_;
  std::vector<std::string> requests_;  // serialized, in sending order
  // Bidi: for each conversation step, true when the client sends (the next of requests_).
  std::vector<bool> client_steps_;
  std::unique_ptr<Expectations> expected_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_VERIFY_CASE_H_
