#include "src/json_message.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace understudy {

namespace {

namespace pb = google::protobuf;
using json = nlohmann::json;
using FD = pb::FieldDescriptor;

// Well-known types have JSON forms of their own (strings, wrappers' bare values, Any's @type):
// protobuf's parser handles them.
bool IsWellKnown(const pb::Descriptor* type) {
  return type->file()->package() == "google.protobuf";
}

// A JSON integer as int64/uint64; false for anything else (floats, strings, out of range).
bool AsInt64(const json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (!v.is_number_integer()) return false;
  *out = v.get<int64_t>();
  return true;
}

bool AsUint64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  int64_t i;
  if (!AsInt64(v, &i) || i < 0) return false;
  *out = static_cast<uint64_t>(i);
  return true;
}

// A JSON number as a double, only when protobuf would take it without a precision question:
// floats as they are, integers that a double holds exactly.
bool AsDouble(const json& v, double* out) {
  if (v.is_number_float()) {
    *out = v.get<double>();
    return std::isfinite(*out);
  }
  int64_t i;
  if (!AsInt64(v, &i)) return false;
  *out = static_cast<double>(i);
  return std::fabs(*out) < 9007199254740992.0;  // 2^53
}

// A JSON number as a float, only when the float holds it exactly (so no rounding rule of
// protobuf's can differ from ours).
bool AsFloat(const json& v, float* out) {
  double d;
  if (!AsDouble(v, &d) || std::fabs(d) > std::numeric_limits<float>::max()) return false;
  *out = static_cast<float>(d);
  return static_cast<double>(*out) == d;
}

// By JSON name or by the name in the .proto, as protobuf's parser takes them.
const FD* FieldNamed(const pb::Descriptor* type, const std::string& key) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FD* field = type->field(i);
    if (field->json_name() == key || field->name() == key) return field;
  }
  return nullptr;
}

// Deeper bodies go to protobuf's parser, which enforces its own recursion limit.
constexpr int kMaxDepth = 32;

class Direct {
 public:
  explicit Direct(int depth = 0) : depth_(depth) {}

  bool Message(const json& object, pb::Message* message) {
    if (!object.is_object() || depth_ > kMaxDepth) return false;
    const pb::Descriptor* type = message->GetDescriptor();
    if (IsWellKnown(type)) return false;
    const pb::Reflection* r = message->GetReflection();
    std::vector<const FD*> seen;
    seen.reserve(object.size());
    for (const auto& [key, value] : object.items()) {
      const FD* field = FieldNamed(type, key);
      if (field == nullptr || value.is_null()) return false;
      // The same field twice (by both names), or two members of one oneof: protobuf decides.
      if (std::find(seen.begin(), seen.end(), field) != seen.end()) return false;
      seen.push_back(field);
      const pb::OneofDescriptor* oneof = field->containing_oneof();
      if (oneof != nullptr && r->HasOneof(*message, oneof)) return false;
      if (!Field(value, message, field)) return false;
    }
    return true;
  }

 private:
  bool Field(const json& value, pb::Message* message, const FD* field) {
    if (field->is_map()) {
      if (!value.is_object()) return false;
      for (const auto& [key, element] : value.items()) {
        if (element.is_null()) return false;
        pb::Message* entry = message->GetReflection()->AddMessage(message, field);
        const pb::Descriptor* entry_type = field->message_type();
        if (!MapKey(key, entry, entry_type->map_key()) ||
            !Value(element, entry, entry_type->map_value(), false)) {
          return false;
        }
      }
      return true;
    }
    if (field->is_repeated()) {
      if (!value.is_array()) return false;  // protobuf takes a lone value: a leniency to report
      for (const json& element : value) {
        if (element.is_null() || !Value(element, message, field, true)) return false;
      }
      return true;
    }
    return Value(value, message, field, false);
  }

  static bool MapKey(const std::string& key, pb::Message* entry, const FD* field) {
    const pb::Reflection* r = entry->GetReflection();
    if (field->cpp_type() == FD::CPPTYPE_STRING) {
      r->SetString(entry, field, key);
      return true;
    }
    // Integer keys: plain decimal only ("+1", " 1" or "01" are protobuf's to judge).
    if (key.empty() || (key.size() > 1 && (key[0] == '0' || (key[0] == '-' && key[1] == '0')))) {
      return false;
    }
    for (size_t i = key[0] == '-' ? 1 : 0; i < key.size(); ++i) {
      if (key[i] < '0' || key[i] > '9') return false;
    }
    switch (field->cpp_type()) {
      case FD::CPPTYPE_INT32: {
        int32_t v;
        if (!absl::SimpleAtoi(key, &v)) return false;
        r->SetInt32(entry, field, v);
        return true;
      }
      case FD::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(key, &v)) return false;
        r->SetInt64(entry, field, v);
        return true;
      }
      case FD::CPPTYPE_UINT32: {
        uint32_t v;
        if (key[0] == '-' || !absl::SimpleAtoi(key, &v)) return false;
        r->SetUInt32(entry, field, v);
        return true;
      }
      case FD::CPPTYPE_UINT64: {
        uint64_t v;
        if (key[0] == '-' || !absl::SimpleAtoi(key, &v)) return false;
        r->SetUInt64(entry, field, v);
        return true;
      }
      default:
        return false;  // bool keys
    }
  }

  // One value of `field` (an element when `add`).
  bool Value(const json& v, pb::Message* m, const FD* field, bool add) {
    const pb::Reflection* r = m->GetReflection();
    switch (field->cpp_type()) {
      case FD::CPPTYPE_STRING: {
        if (!v.is_string() || field->type() == FD::TYPE_BYTES) return false;  // base64: protobuf
        const std::string& s = v.get_ref<const std::string&>();
        add ? r->AddString(m, field, s) : r->SetString(m, field, s);
        return true;
      }
      case FD::CPPTYPE_BOOL:
        if (!v.is_boolean()) return false;
        add ? r->AddBool(m, field, v.get<bool>()) : r->SetBool(m, field, v.get<bool>());
        return true;
      case FD::CPPTYPE_INT32: {
        int64_t i;
        if (!AsInt64(v, &i) || i < std::numeric_limits<int32_t>::min() ||
            i > std::numeric_limits<int32_t>::max()) {
          return false;
        }
        add ? r->AddInt32(m, field, static_cast<int32_t>(i))
            : r->SetInt32(m, field, static_cast<int32_t>(i));
        return true;
      }
      case FD::CPPTYPE_INT64: {
        int64_t i;
        if (!AsInt64(v, &i)) return false;
        add ? r->AddInt64(m, field, i) : r->SetInt64(m, field, i);
        return true;
      }
      case FD::CPPTYPE_UINT32: {
        uint64_t u;
        if (!AsUint64(v, &u) || u > std::numeric_limits<uint32_t>::max()) return false;
        add ? r->AddUInt32(m, field, static_cast<uint32_t>(u))
            : r->SetUInt32(m, field, static_cast<uint32_t>(u));
        return true;
      }
      case FD::CPPTYPE_UINT64: {
        uint64_t u;
        if (!AsUint64(v, &u)) return false;
        add ? r->AddUInt64(m, field, u) : r->SetUInt64(m, field, u);
        return true;
      }
      case FD::CPPTYPE_DOUBLE: {
        double d;
        if (!AsDouble(v, &d)) return false;
        add ? r->AddDouble(m, field, d) : r->SetDouble(m, field, d);
        return true;
      }
      case FD::CPPTYPE_FLOAT: {
        float f;
        if (!AsFloat(v, &f)) return false;
        add ? r->AddFloat(m, field, f) : r->SetFloat(m, field, f);
        return true;
      }
      case FD::CPPTYPE_ENUM: {
        if (!v.is_string()) return false;
        const pb::EnumValueDescriptor* e =
            field->enum_type()->FindValueByName(v.get_ref<const std::string&>());
        if (e == nullptr || field->enum_type()->file()->package() == "google.protobuf") {
          return false;  // NullValue: protobuf's
        }
        add ? r->AddEnum(m, field, e) : r->SetEnum(m, field, e);
        return true;
      }
      case FD::CPPTYPE_MESSAGE: {
        if (!v.is_object() || IsWellKnown(field->message_type())) return false;
        pb::Message* child = add ? r->AddMessage(m, field) : r->MutableMessage(m, field);
        return Direct(depth_ + 1).Message(v, child);
      }
    }
    return false;
  }

  int depth_;
};

}  // namespace

bool JsonToMessageDirect(const json& json, pb::Message* message) {
  message->Clear();
  if (Direct().Message(json, message)) return true;
  message->Clear();
  return false;
}

JsonMessageResult JsonToMessage(const json& json, pb::Message* message) {
  if (JsonToMessageDirect(json, message)) return {absl::OkStatus(), true};
  pb::util::Status status = pb::util::JsonStringToMessage(json.dump(), message);
  if (status.ok()) return {absl::OkStatus(), false};
  return {absl::Status(static_cast<absl::StatusCode>(status.code()), std::string(status.message())),
          false};
}

std::string MissingRequiredFields(const pb::Message& message) {
  std::vector<std::string> missing;
  message.FindInitializationErrors(&missing);
  for (auto& path : missing) path = absl::StrCat("\"", path, "\"");
  return absl::StrCat("missing required field", missing.size() == 1 ? " " : "s ",
                      absl::StrJoin(missing, ", "), " of ", message.GetDescriptor()->full_name(),
                      " (proto2 required: the message cannot be sent without ",
                      missing.size() == 1 ? "it" : "them", ")");
}

}  // namespace understudy
