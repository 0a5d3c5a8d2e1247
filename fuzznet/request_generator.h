// The requests `understudy fuzz` sends: seeds, a corpus per method, and mutations of both.
//
//   RequestCorpus corpus(schema, methods);          // one empty request per method to start
//   corpus.AddSeed(method, {json_of_message, ...});  // e.g. the requests of a contract
//   RequestGenerator generator(&schema, &corpus, /*seed=*/1);
//   FuzzRequest request;
//   if (generator.Next(method, &request)) { /* send request.messages */ }
//   corpus.Add(request);  // when its answer was new: it is mutated further
//
// A request is the list of messages a call sends: one for unary and server-streaming methods,
// zero or more for client and bidirectional streams. Every message sent is the one its JSON form
// parses to, so a finding written as JSON replays exactly what was sent.
#ifndef UNDERSTUDY_FUZZNET_REQUEST_GENERATOR_H_
#define UNDERSTUDY_FUZZNET_REQUEST_GENERATOR_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "src/mutator.h"
#include "src/schema.h"

namespace understudy::fuzznet {

// Client messages per stream at most, corpus entries per method at most, and the serialized size
// of a request's messages at most.
inline constexpr size_t kMaxStreamMessages = 8;
inline constexpr size_t kMaxCorpusPerMethod = 512;
inline constexpr size_t kMaxRequestBytes = 64 * 1024;

struct FuzzRequest {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::vector<std::unique_ptr<google::protobuf::Message>> messages;  // in sending order
  std::vector<std::string> json;  // each message in the proto3 JSON mapping, as sent
};

// The requests worth mutating, per method. Thread-safe.
class RequestCorpus {
 public:
  // Starts every method with one request: a single empty message (none for a client stream).
  RequestCorpus(const Schema* schema,
                const std::vector<const google::protobuf::MethodDescriptor*>& methods);

  // Adds the request given as JSON messages; false (and nothing added) when one does not parse
  // as the method's input type.
  bool AddSeed(const google::protobuf::MethodDescriptor* method,
               const std::vector<std::string>& json_messages);
  // Adds a request that produced a new outcome; past kMaxCorpusPerMethod it replaces a random
  // entry other than the first (the seeds of a long run drift, the empty request stays).
  void Add(const FuzzRequest& request, std::minstd_rand* rng);

  // A copy of a random entry: serialized messages.
  std::vector<std::string> Pick(const google::protobuf::MethodDescriptor* method,
                                std::minstd_rand* rng) const;
  size_t size() const;

 private:
  const Schema* schema_;
  mutable std::mutex mu_;
  std::map<const google::protobuf::MethodDescriptor*, std::vector<std::vector<std::string>>>
      entries_;  // guarded by mu_
};

// Makes new requests from the corpus. One per thread: not thread-safe.
class RequestGenerator {
 public:
  RequestGenerator(const Schema* schema, const RequestCorpus* corpus, unsigned seed);

  // A mutant of a corpus entry of `method`, at most kMaxRequestBytes; false when no such mutant
  // with a JSON form came out of a few tries (rare: well-known types are brought into range).
  bool Next(const google::protobuf::MethodDescriptor* method, FuzzRequest* out);

  std::minstd_rand* rng() { return &rng_; }

 private:
  // One change: to a message, or (streams) to the list of messages.
  void MutateOnce(const google::protobuf::MethodDescriptor* method,
                  std::vector<std::unique_ptr<google::protobuf::Message>>* messages);
  // Replaces each message by the parse of its JSON form; false when one has none or the request
  // is too big.
  bool Normalize(FuzzRequest* request);
  int Below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  const Schema* schema_;
  const RequestCorpus* corpus_;
  std::minstd_rand rng_;
  fuzz::MessageMutator mutator_;
};

}  // namespace understudy::fuzznet

#endif  // UNDERSTUDY_FUZZNET_REQUEST_GENERATOR_H_
