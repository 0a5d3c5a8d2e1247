// The proto3 JSON mapping, as interaction files use it, over every message type of
// proto/user.proto and proto/inventory/v1/inventory.proto. Input: [type byte][JSON text].
//
// Invariants: where the loader's direct path takes JSON, protobuf's parser gives the same
// message; JSON that parses as the type prints; the printed JSON parses to an equal message
// and prints the same again. FieldMask paths are left out of the equality: protobuf 3.21 prints a
// path that does not map to lowerCamelCase lossily ("a_\"" prints as "a\"") instead of failing;
// and JSON with a map may not parse back (see HasMapEntries); a double -0 prints as 0 once parsed
// (see WithoutNegativeZeros).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.h"
#include "src/json_message.h"
#include "src/mutator.h"

namespace {

namespace pb = google::protobuf;
using understudy::fuzz::Fail;

struct Target {
  std::shared_ptr<const understudy::Schema> schema = understudy::fuzz::LoadCodecSchema();
  std::vector<const pb::Descriptor*> types = understudy::fuzz::CodecTypes(*schema);
  pb::DynamicMessageFactory factory{schema->pool()};
  understudy::fuzz::CachingTypeResolver resolver{schema->pool()};

  // JSON → message, through the cached resolver (JsonStringToMessage builds one per call).
  bool Parse(const std::string& json, pb::Message* message,
             const pb::util::JsonParseOptions& options) {
    std::string binary;
    return pb::util::JsonToBinaryString(
               &resolver, understudy::fuzz::CachingTypeResolver::UrlOf(message->GetDescriptor()),
               json, &binary, options)
               .ok() &&
           message->ParseFromString(binary);
  }
  pb::util::Status Print(const pb::Message& message, std::string* json,
                         const pb::util::JsonPrintOptions& options) {
    return pb::util::BinaryToJsonString(
        &resolver, understudy::fuzz::CachingTypeResolver::UrlOf(message.GetDescriptor()),
        message.SerializeAsString(), json, options);
  }
};

// True when a map field of `message` (or of a message in it) has two entries or more: protobuf
// 3.21 keeps entries with a repeated key when a map field is given twice in JSON, prints them all,
// and its JSON parser then refuses the repeated key.
bool HasMapEntries(const pb::Message& message) {
  const pb::Reflection* r = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const auto* f : fields) {
    if (f->is_map() && r->FieldSize(message, f) > 1) return true;
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    for (int i = 0; i < (f->is_repeated() ? r->FieldSize(message, f) : 1); ++i) {
      if (HasMapEntries(f->is_repeated() ? r->GetRepeatedMessage(message, f, i)
                                         : r->GetMessage(message, f))) {
        return true;
      }
    }
  }
  return false;
}

// Clears every google.protobuf.FieldMask in `message` (see the invariants above).
void ClearFieldMasks(pb::Message* message) {
  const pb::Reflection* r = message->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->message_type()->full_name() == "google.protobuf.FieldMask") {
      r->ClearField(message, f);
    } else if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*message, f); ++i) {
        ClearFieldMasks(r->MutableRepeatedMessage(message, f, i));
      }
    } else {
      ClearFieldMasks(r->MutableMessage(message, f));
    }
  }
}

// Where the loader sets a body directly (src/json_message.h), protobuf's parser must accept the
// same JSON and give an equal message.
void CheckDirectPath(Target& t, const pb::Descriptor* type, const std::string& text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return;
  std::unique_ptr<pb::Message> direct(t.factory.GetPrototype(type)->New());
  if (!understudy::JsonToMessageDirect(doc, direct.get())) return;
  std::unique_ptr<pb::Message> parsed(direct->New());
  if (!t.Parse(doc.dump(), parsed.get(), pb::util::JsonParseOptions())) {
    Fail("the direct path took JSON that protobuf's parser refuses, as " + type->full_name() +
         ": " + doc.dump());
  }
  std::string diff;
  pb::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (!differencer.Compare(*parsed, *direct)) {
    Fail("the direct path and protobuf's parser disagree on " + type->full_name() + ":\n" + diff +
         "json: " + doc.dump());
  }
}

// `json` with every number written "-0" written "0": protobuf 3.21 prints a double -0.0 as -0
// and parses -0 back as the integer zero, which prints as 0 (the values are equal).
std::string WithoutNegativeZeros(std::string json) {
  for (size_t at = json.find("-0"); at != std::string::npos; at = json.find("-0", at + 1)) {
    bool starts = at > 0 && (json[at - 1] == ':' || json[at - 1] == '[' || json[at - 1] == ',');
    bool ends =
        at + 2 < json.size() && (json[at + 2] == ',' || json[at + 2] == ']' || json[at + 2] == '}');
    if (starts && ends) json.erase(at, 1);
  }
  return json;
}

// Turns every -0.0 in `message` into 0.0 (see WithoutNegativeZeros): a proto3 field holding -0.0
// is set, one holding 0.0 is not.
void NormalizeNegativeZeros(pb::Message* message) {
  const pb::Reflection* r = message->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const auto* f : fields) {
    int n = f->is_repeated() ? r->FieldSize(*message, f) : 1;
    for (int i = 0; i < n; ++i) {
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
          double v =
              f->is_repeated() ? r->GetRepeatedDouble(*message, f, i) : r->GetDouble(*message, f);
          if (v != 0 || !std::signbit(v)) break;
          f->is_repeated() ? r->SetRepeatedDouble(message, f, i, 0.0) : r->ClearField(message, f);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_FLOAT: {
          float v =
              f->is_repeated() ? r->GetRepeatedFloat(*message, f, i) : r->GetFloat(*message, f);
          if (v != 0 || !std::signbit(v)) break;
          f->is_repeated() ? r->SetRepeatedFloat(message, f, i, 0.0f) : r->ClearField(message, f);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          NormalizeNegativeZeros(f->is_repeated() ? r->MutableRepeatedMessage(message, f, i)
                                                  : r->MutableMessage(message, f));
          break;
        default:
          break;
      }
    }
  }
}

Target& GetTarget() {
  static Target* target = [] {
    understudy::fuzz::QuietProtobufLogs();
    return new Target;
  }();
  return *target;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = GetTarget();
  if (size < 1) return 0;
  const pb::Descriptor* type = t.types[data[0] % t.types.size()];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  CheckDirectPath(t, type, text);
  std::unique_ptr<pb::Message> first(t.factory.GetPrototype(type)->New());
  pb::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = size % 2 == 0;
  if (!t.Parse(text, first.get(), parse)) return 0;
  // A double too small to hold (1e-1141) parses as -0.0, which prints as "-0" and would read
  // back as an unset field: the values are equal, only presence differs.
  NormalizeNegativeZeros(first.get());

  std::string json;
  pb::util::JsonPrintOptions print;
  print.always_print_primitive_fields = size % 3 == 0;
  print.preserve_proto_field_names = size % 5 == 0;
  auto printed = t.Print(*first, &json, print);
  if (!printed.ok()) {
    Fail("a " + type->full_name() + " parsed from JSON does not print: " + printed.ToString() +
         "\ninput: " + text);
  }
  std::unique_ptr<pb::Message> second(first->New());
  if (!t.Parse(json, second.get(), pb::util::JsonParseOptions())) {
    if (HasMapEntries(*first)) return 0;
    Fail("printed JSON of " + type->full_name() + " does not parse\njson: " + json);
  }
  std::string again;
  if (!t.Print(*second, &again, print).ok() ||
      WithoutNegativeZeros(again) != WithoutNegativeZeros(json)) {
    Fail("JSON of " + type->full_name() + " prints differently once parsed:\n" + json + "\n" +
         again);
  }
  ClearFieldMasks(first.get());
  ClearFieldMasks(second.get());
  NormalizeNegativeZeros(first.get());
  NormalizeNegativeZeros(second.get());
  pb::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  pb::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  if (!differencer.Compare(*first, *second)) {
    Fail(type->full_name() + " changed in a JSON round trip:\n" + diff + "input: " + text +
         "\njson: " + json);
  }
  return 0;
}

// Structure-aware: the JSON of a message with one field changed (printed from the parsed input),
// raw text mutations otherwise.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  Target& t = GetTarget();
  std::minstd_rand rng(seed);
  if (size < 1 || max_size < 2 || rng() % 3 == 0) {
    return understudy::fuzz::MutateBytes(data, size, max_size, &rng);
  }
  const pb::Descriptor* type = t.types[data[0] % t.types.size()];
  std::unique_ptr<pb::Message> message(t.factory.GetPrototype(type)->New());
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  CheckDirectPath(t, type, text);
  std::string json;
  if (t.Parse(text, message.get(), pb::util::JsonParseOptions())) {
    understudy::fuzz::MessageMutator(seed).Mutate(message.get());
    if (t.Print(*message, &json, pb::util::JsonPrintOptions()).ok() &&
        json.size() + 1 <= max_size) {
      std::memcpy(data + 1, json.data(), json.size());
      return json.size() + 1;
    }
  }
  return understudy::fuzz::MutateBytes(data, size, max_size, &rng);
}
