// The wire format of every message type of proto/user.proto and proto/inventory/v1/inventory.proto
// (loaded at run time, as the mock decodes requests). Input: [type byte][message bytes].
//
// Invariants: a message that parses re-serializes to bytes that parse and re-serialize to the same
// bytes (deterministic serialization: map entries ordered, unknown fields kept as read); the
// JSON mapping prints it unless it holds a value the mapping cannot print (see JsonMayFail).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>

#include "fuzz/fuzz_support.h"
#include "src/mutator.h"

namespace {

namespace pb = google::protobuf;
using understudy::fuzz::Fail;

struct Target {
  std::shared_ptr<const understudy::Schema> schema = understudy::fuzz::LoadCodecSchema();
  std::vector<const pb::Descriptor*> types = understudy::fuzz::CodecTypes(*schema);
  pb::DynamicMessageFactory factory{schema->pool()};
  // One resolver for every input: MessageToJsonString would build one per call.
  understudy::fuzz::CachingTypeResolver resolver{schema->pool()};
  // Per type, the message an input parses into and the one its bytes parse back into.
  std::map<const pb::Descriptor*,
           std::pair<std::unique_ptr<pb::Message>, std::unique_ptr<pb::Message>>>
      messages;
};

Target& GetTarget() {
  static Target* target = [] {
    understudy::fuzz::QuietProtobufLogs();
    return new Target;
  }();
  return *target;
}

// Values protobuf 3.21's JSON printer refuses, by design: Timestamps and Durations out of their
// range (or with nanos out of range or of the wrong sign), FieldMask paths that do not map to
// lowerCamelCase and back, Any with a type it cannot resolve; and unknown fields, which its
// stream parser may refuse ("Nested protocol message not parsed in its entirety") where the
// message parser kept them. Nothing else may fail.
bool JsonMayFail(const pb::Message& message) {
  const pb::Descriptor* type = message.GetDescriptor();
  const std::string& name = type->full_name();
  if (name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration" ||
      name == "google.protobuf.FieldMask" || name == "google.protobuf.Any") {
    return true;
  }
  const pb::Reflection* r = message.GetReflection();
  if (!r->GetUnknownFields(message).empty()) return true;
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!f->is_repeated()) {
      if (JsonMayFail(r->GetMessage(message, f))) return true;
      continue;
    }
    for (int i = 0; i < r->FieldSize(message, f); ++i) {
      if (JsonMayFail(r->GetRepeatedMessage(message, f, i))) return true;
    }
  }
  return false;
}

// Deterministic bytes (map entries in key order), so that equal messages give equal bytes: comparing
// them is the round-trip check, and much cheaper than a MessageDifferencer.
std::string Serialize(const pb::Message& message) {
  std::string bytes;
  {
    pb::io::StringOutputStream stream(&bytes);
    pb::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&out)) {
      Fail("a parsed " + message.GetDescriptor()->full_name() + " does not serialize");
    }
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = GetTarget();
  if (size < 1) return 0;
  const pb::Descriptor* type = t.types[data[0] % t.types.size()];
  auto& [first, second] = t.messages[type];  // reused: parsing clears them
  if (first == nullptr) {
    first.reset(t.factory.GetPrototype(type)->New());
    second.reset(first->New());
  }
  if (!first->ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;

  std::string bytes = Serialize(*first);
  if (!second->ParseFromString(bytes)) Fail("a re-serialized " + type->full_name() + " does not parse");
  if (Serialize(*second) != bytes) {
    Fail(type->full_name() + " changed in a serialize/parse round trip:\n" + first->DebugString() +
         "became\n" + second->DebugString());
  }

  std::string json;
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = size % 2 == 0;
  auto status = pb::util::BinaryToJsonString(
      &t.resolver, understudy::fuzz::CachingTypeResolver::UrlOf(type), bytes, &json, options);
  if (!status.ok() && !JsonMayFail(*first)) {
    Fail("JSON printing of " + type->full_name() + " failed: " + status.ToString());
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  Target& t = GetTarget();
  return understudy::fuzz::MutateTypedMessage(data, size, max_size, seed, t.types, &t.factory);
}
