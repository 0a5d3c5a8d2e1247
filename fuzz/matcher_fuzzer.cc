// Matching: the interactions of contracts/user_service, compiled once, against any request.
// Input: [method byte][request message bytes] (the method's input type).
//
// Every matcher of the method's interactions (regexes included) judges the request, scores it
// and lists its mismatches; Select chooses as the mock would, at every stage the method's kind
// has, with and without credentials. Nothing may crash; the state Select changes (`times`,
// scenarios) is reset before each input.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/dynamic_message.h>

#include "fuzz/fuzz_support.h"
#include "src/mutator.h"
#include "src/selector.h"

namespace {

namespace pb = google::protobuf;
using understudy::Node;
using understudy::SelectStage;

struct Target {
  std::shared_ptr<const understudy::Schema> schema = understudy::fuzz::LoadUserSchema();
  std::shared_ptr<understudy::InteractionSet> set = understudy::fuzz::LoadUserContracts(schema);
  std::vector<const pb::MethodDescriptor*> methods = understudy::fuzz::Methods(*schema);
  std::vector<const pb::Descriptor*> input_types;
  pb::DynamicMessageFactory factory{schema->pool()};

  Target() {
    for (const auto* method : methods) input_types.push_back(method->input_type());
  }
};

Target& GetTarget() {
  static Target* target = [] {
    understudy::fuzz::QuietProtobufLogs();
    return new Target;
  }();
  return *target;
}

// Every matcher of `i` against the message, the way the mock and the verifier use them.
void RunMatchers(const understudy::Interaction& i, const pb::Message& message) {
  std::vector<understudy::Mismatch> mismatches;
  understudy::Mismatch why;
  Node node = Node::OfMessage(&message);
  auto judge = [&](const understudy::Matcher& m) {
    bool matches = m.Matches(node, &why);
    m.Score(node);
    mismatches.clear();
    m.CollectMismatches(node, &mismatches);
    if (matches != mismatches.empty()) {
      understudy::fuzz::Fail(i.Label() + ": Matches and CollectMismatches disagree");
    }
  };
  if (i.body != nullptr) judge(*i.body);
  for (const auto& m : i.stream) judge(*m);
  for (const auto& step : i.conversation) {
    if (step.client == nullptr) continue;
    judge(*step.client);
    std::string reason;
    understudy::MatchStep(step, message, &reason);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = GetTarget();
  if (size < 1) return 0;
  size_t index = data[0] % t.methods.size();
  const pb::MethodDescriptor* method = t.methods[index];
  std::unique_ptr<pb::Message> request(t.factory.GetPrototype(t.input_types[index])->New());
  if (!request->ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;

  if (const auto* m = t.set->ForMethod(method)) {
    for (const auto* interaction : m->ranked) RunMatchers(*interaction, *request);
  }

  understudy::fuzz::ResetState(*t.set);
  std::vector<std::unique_ptr<pb::Message>> stream;
  stream.push_back(std::unique_ptr<pb::Message>(request->New()));
  stream.back()->CopyFrom(*request);
  understudy::MetadataView with_token = {{"authorization", "Bearer fuzz"}};
  understudy::MetadataView empty;
  for (const auto* metadata : {&with_token, &empty}) {
    understudy::Request call{metadata, request.get(), &stream};
    std::string miss;
    switch (understudy::KindOf(method)) {
      case understudy::RpcKind::kBidiStreaming:
        understudy::Select(*t.set, method, call, SelectStage::kBidiStart, &miss);
        understudy::Select(*t.set, method, call, SelectStage::kBidiFirstMessage, &miss);
        understudy::Select(*t.set, method, {metadata, nullptr, nullptr}, SelectStage::kBidiNoMessage,
                           &miss);
        break;
      case understudy::RpcKind::kClientStreaming:
        understudy::Select(*t.set, method, {metadata, nullptr, &stream}, SelectStage::kWhole, &miss);
        stream.push_back(std::unique_ptr<pb::Message>(request->New()));
        break;
      default:
        understudy::Select(*t.set, method, call, SelectStage::kWhole, &miss);
        break;
    }
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  Target& t = GetTarget();
  return understudy::fuzz::MutateTypedMessage(data, size, max_size, seed, t.input_types,
                                              &t.factory);
}
