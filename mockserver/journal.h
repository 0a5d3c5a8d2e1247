// Journal: the calls a mock has served, most recent last, bounded by a ring.
//
//   auto mock = understudy::MockServer::Start(options);          // options.journal_size = 1000
//   ... the code under test calls the mock ...
//   for (const understudy::RecordedCall& call : (*mock)->Calls("user.UserService/GetUser")) {
//     std::cout << call.requests[0].Json() << " -> " << call.interaction << "\n";
//   }
//   auto request = calls[0].RequestAs<user::GetUserRequest>();   // a generated type, parsed
//
// Every call is recorded when it ends: method, request metadata, every request message with its
// arrival time, the interaction that answered it (or why none did), the status, start and end
// times, how many messages were sent. Recording copies the metadata and takes the decoded
// messages from the finished call (no copy of them, no JSON): JSON is rendered only when read.
// Only the most recent `capacity` calls are kept, and only as many of them as fit in a byte
// budget (request message and metadata bytes, counted as sent on the wire): a long run, or a
// few huge calls, do not grow it without limit. A call larger than the whole budget alone is
// kept without its request messages (`requests_dropped` says how many).
//
// A RecordedCall is a value: it stays valid after the journal is cleared and after the mock is
// gone (it keeps the schema its messages need alive).
//
// Thread safety: Journal is thread-safe; a RecordedCall may be read by any number of threads.
#ifndef UNDERSTUDY_MOCKSERVER_JOURNAL_H_
#define UNDERSTUDY_MOCKSERVER_JOURNAL_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mockserver/mock_call.h"
#include "src/schema.h"

namespace understudy {

// One request message of a call.
struct RecordedMessage {
  // Of the method's input type; keeps the mock's schema alive as long as it lives.
  std::shared_ptr<const google::protobuf::Message> message;
  std::chrono::system_clock::time_point received;
  // The message in the proto3 JSON mapping, as interaction files write it (rendered now).
  std::string Json() const;
};

struct RecordedCall {
  // The mock's schema, which owns the types of `requests` (first: destroyed last).
  std::shared_ptr<const Schema> schema;
  uint64_t sequence = 0;  // 1 for the mock's first call; keeps counting across ClearJournal
  std::string method;     // "user.UserService/GetUser", as interaction files write it
  // The request metadata as the client sent it: lower-case keys, -bin values as raw bytes.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<RecordedMessage> requests;  // in arrival order
  // The interaction chosen for the call (empty when none was) and the file it came from.
  std::string interaction;
  std::string interaction_file;
  // Why no interaction answered the call: the closest one and its first mismatch, a conversation
  // that diverged, an unknown method, a message that did not decode. Empty when one answered, and
  // for a call cancelled before any was chosen.
  std::string miss;
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string status_message;
  std::chrono::system_clock::time_point start, end;
  int64_t messages_sent = 0;
  // Request messages not kept: the call alone was larger than the journal's byte budget.
  size_t requests_dropped = 0;
  int64_t bytes = 0;  // what the call counts against the journal's budget

  bool unmatched() const { return !miss.empty(); }
  // The first value of metadata `key` (lower case), or null.
  const std::string* FindMetadata(absl::string_view key) const;
  // The request messages as JSON: the message of a call with one, an array otherwise.
  std::string RequestJson() const;
  // Request message `index` as the generated type T (parsed from its bytes). Requires
  // index < requests.size().
  template <typename T>
  T RequestAs(size_t index = 0) const {
    T out;
    out.ParseFromString(requests.at(index).message->SerializeAsString());
    return out;
  }

  // Whether the call's one request message matches `spec`, a JSON request body as interaction
  // files write it (partial objects, `$` matchers), compiled against the method's input type.
  // False, with `why` set, when it does not or when the call has not exactly one message; an
  // error when `spec` is not valid JSON or not valid for the type (file "<spec>" and a pointer).
  absl::StatusOr<bool> RequestMatches(absl::string_view spec, std::string* why) const;
  // The same for every client message, `spec` being a JSON array as a file's request `stream`.
  absl::StatusOr<bool> StreamMatches(absl::string_view spec, std::string* why) const;

  // One line: method, request JSON, status, and what answered or why nothing did.
  std::string DebugString() const;
};

// How gtest and gmock print a RecordedCall (found by argument-dependent lookup).
void PrintTo(const RecordedCall& call, std::ostream* os);

// The CallObserver that records calls. Also tells `next` (may be null) of every call first.
class Journal final : public CallObserver {
 public:
  // `capacity` > 0: the number of most recent calls kept; `max_bytes` (0: no bound) the bytes
  // they may take in all.
  Journal(std::shared_ptr<const Schema> schema, size_t capacity, CallObserver* next,
          int64_t max_bytes = 0);

  void OnCallDone(const Record& record) override;

  // The kept calls, oldest first; those to `method` ("pkg.Service/Method", a leading '/'
  // accepted); those with a miss.
  std::vector<RecordedCall> Calls() const;
  std::vector<RecordedCall> Calls(absl::string_view method) const;
  std::vector<RecordedCall> UnmatchedCalls() const;
  void Clear();
  // Waits until at least `count` calls to `method` are kept, or `timeout` passes; returns them.
  // A call is recorded when the server finishes it, which for a call the client abandoned (a
  // passed deadline) can come after the client has moved on.
  std::vector<RecordedCall> WaitForCalls(absl::string_view method, size_t count,
                                         std::chrono::milliseconds timeout) const;

  size_t capacity() const { return capacity_; }
  int64_t max_bytes() const { return max_bytes_; }
  int64_t bytes() const;  // what the kept calls take of the budget now

 private:
  const std::shared_ptr<const Schema> schema_;
  const size_t capacity_;
  CallObserver* const next_;
  const int64_t max_bytes_;

  mutable std::mutex mu_;
  mutable std::condition_variable recorded_;  // notified on every new call
  std::deque<RecordedCall> calls_;  // guarded by mu_; at most capacity_
  uint64_t sequence_ = 0;           // guarded by mu_
  int64_t bytes_ = 0;               // guarded by mu_: the sum of calls_[i].bytes
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_JOURNAL_H_
