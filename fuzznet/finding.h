// A finding as an interaction file (docs/FORMAT.md) that reproduces it:
//
//   FindingLimiter limiter;
//   if (limiter.Admit(method_name, "INTERNAL", MessageShape(outcome.message))) {
//     std::string id = FindingId(dedup_key);
//     nlohmann::json file = FindingFile(schema, request, outcome, /*crashed=*/false, "found ...",
//                                       id, &note);
//     // {"interactions": [{"name": ..., "method": ..., "request": {"body": {...}},
//     //                    "response": {"status": {"code": "INTERNAL", "message": "..."}}}]}
//   }
//
// The request is what was sent, as literal JSON (`body`, `stream`, or the client steps of a
// `conversation`); the expected response is the status seen. A crash expects UNAVAILABLE (the
// connection is lost), with no message, which varies. `understudy verify` replays the file:
// it passes while the bug is there and fails once it is fixed.
#ifndef UNDERSTUDY_FUZZNET_FINDING_H_
#define UNDERSTUDY_FUZZNET_FINDING_H_

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "fuzznet/call_player.h"
#include "fuzznet/request_generator.h"
#include "src/schema.h"

namespace understudy::fuzznet {

// Findings of one method and status beyond this many message shapes are one bug seen again (a
// server that echoes request data into its messages).
inline constexpr size_t kMaxShapesPerStatus = 3;

// Which findings are new: a (method, status, message shape) not seen before, while its method and
// status have fewer than `max_shapes` shapes. Not thread-safe.
class FindingLimiter {
 public:
  explicit FindingLimiter(size_t max_shapes = kMaxShapesPerStatus) : max_shapes_(max_shapes) {}

  // Whether Admit would take it, without taking it.
  bool WouldAdmit(const std::string& method, const std::string& status,
                  const std::string& shape) const;
  // True, and remembered, when the finding is new.
  bool Admit(const std::string& method, const std::string& status, const std::string& shape);
  size_t size() const { return admitted_; }

 private:
  size_t max_shapes_;
  size_t admitted_ = 0;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> shapes_;
};

// The status a finding file expects: the code, and the message when it replays as written — a
// literal, or when it holds digits {"$regex": ..., "$example": message} (digit runs match any
// digits). A message that is not UTF-8 or reads as a template is left out.
nlohmann::json ExpectedStatus(int code, const std::string& message);

// The file for a finding. Bodies are written as literals; when that would not replay (a map key
// that starts with `$` reads as a matcher) each is wrapped in `$eq`.
// `note` is set when neither form checks as replayable: the file is still worth keeping.
nlohmann::json FindingFile(const Schema& schema, const FuzzRequest& request,
                           const CallOutcome& outcome, bool crashed, const std::string& description,
                           const std::string& id, std::string* note);

// Whether `understudy check` accepts the file and `understudy verify` can play it: the same
// loader and planner they run. `file` names it in the problems.
absl::Status CheckReplayable(const Schema& schema, const nlohmann::json& file_json,
                             const std::string& file);

// Eight hex digits of a hash of the deduplication key: in the file name and the interaction name,
// so one bug is one file across runs and the names of different findings differ.
std::string FindingId(const std::string& dedup_key);

// "user.UserService.GetUser-INTERNAL-1a2b3c4d.json": the method, the status ("crash") and the id.
std::string FindingFileName(const google::protobuf::MethodDescriptor* method,
                            const std::string& status, const std::string& id);

}  // namespace understudy::fuzznet

#endif  // UNDERSTUDY_FUZZNET_FINDING_H_
