#include "src/json_explain.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "src/matcher.h"
#include "src/schema.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using json = nlohmann::json;

constexpr size_t kMaxShown = 60;

// `value` as an error shows it: its JSON type and text, shortened.
std::string Shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown - 3) + "...";
  return absl::StrCat(value.type_name(), " ", text);
}

// A message written in JSON as an object of its own fields (not a well-known type with a JSON
// form of its own, such as Timestamp, Any or Struct).
bool IsPlainMessage(const pb::Descriptor* type) {
  return type->file()->package() != "google.protobuf" ||
         type->full_name() == "google.protobuf.Empty";
}

// What the JSON mapping takes for one value of `field` (an element, for a repeated field).
std::string Expected(const FD* field) {
  switch (field->cpp_type()) {
    case FD::CPPTYPE_STRING:
      return field->type() == FD::TYPE_BYTES ? "base64 text" : "a string";
    case FD::CPPTYPE_BOOL: return "true or false";
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE: return "a number";
    case FD::CPPTYPE_INT32:
    case FD::CPPTYPE_UINT32: return "a 32-bit integer";
    case FD::CPPTYPE_ENUM: return absl::StrCat("a value of ", field->enum_type()->full_name());
    default: return "a 64-bit integer";
  }
}

class Explainer {
 public:
  Explainer(const Schema& schema, const std::string& file, Diagnostics* diagnostics)
      : schema_(schema), file_(file), diagnostics_(diagnostics) {}

  // Reports the fields of `object` that `type` rejects; false when none is to blame.
  bool Object(const json& object, const pb::Descriptor* type, const std::string& pointer);
  // Reports the values of `object` (which the parser accepts) that the JSON mapping writes
  // otherwise; returns whether it found any.
  bool Lenient(const json& object, const pb::Descriptor* type, const std::string& pointer);

 private:
  bool Parses(const pb::Descriptor* type, const json& body) const {
    auto message = schema_.NewMessage(type);
    return pb::util::JsonStringToMessage(body.dump(), message.get()).ok();
  }
  void Add(const std::string& pointer, const std::string& message) {
    diagnostics_->Add(file_, pointer, message);
  }
  void Field(const json& value, const FD* field, const std::string& key,
             const std::string& pointer);
  // One value of `field` (an element or a map value) that the parser rejected.
  void Value(const json& value, const FD* field, const std::string& pointer);
  // A value of `field` that the parser accepted.
  bool LenientField(const json& value, const FD* field, const std::string& pointer);

  const Schema& schema_;
  const std::string& file_;
  Diagnostics* diagnostics_;
};

bool Explainer::Object(const json& object, const pb::Descriptor* type, const std::string& pointer) {
  if (!object.is_object()) {
    Add(pointer, absl::StrCat("expected an object for ", type->full_name(), ", got ",
                              Shown(object)));
    return true;
  }
  bool found = false;
  for (const auto& [key, value] : object.items()) {
    std::string at = JoinPointer(pointer, key);
    const FD* field = FindJsonField(type, key);
    if (field == nullptr) {
      Add(at, NoFieldMessage(type, key));
      found = true;
      continue;
    }
    if (Parses(type, json{{key, value}})) {
      found = LenientField(value, field, at) || found;
      continue;
    }
    Field(value, field, key, at);
    found = true;
  }
  return found;
}

bool Explainer::Lenient(const json& object, const pb::Descriptor* type,
                        const std::string& pointer) {
  bool found = false;
  for (const auto& [key, value] : object.items()) {
    const FD* field = FindJsonField(type, key);
    if (field != nullptr) found = LenientField(value, field, JoinPointer(pointer, key)) || found;
  }
  return found;
}

bool Explainer::LenientField(const json& value, const FD* field, const std::string& pointer) {
  const bool plain =
      field->cpp_type() == FD::CPPTYPE_MESSAGE && IsPlainMessage(field->message_type());
  bool found = false;
  if (field->is_map()) {
    const FD* value_field = field->message_type()->map_value();
    if (!value.is_object() || value_field->cpp_type() != FD::CPPTYPE_MESSAGE ||
        !IsPlainMessage(value_field->message_type())) {
      return false;
    }
    for (const auto& [key, entry] : value.items()) {
      if (entry.is_object()) {
        found = Lenient(entry, value_field->message_type(), JoinPointer(pointer, key)) || found;
      }
    }
    return found;
  }
  if (field->is_repeated()) {
    // protobuf's parser takes a single value as a one-element array; the JSON mapping (and the
    // request side) does not, and a field that became repeated must show as a break.
    if (!value.is_array()) {
      if (value.is_null()) return false;
      Add(pointer, absl::StrCat("expected an array for repeated field ", field->full_name(),
                                ", got ", Shown(value)));
      return true;
    }
    for (size_t i = 0; plain && i < value.size(); ++i) {
      if (value[i].is_object()) {
        found = Lenient(value[i], field->message_type(), JoinPointer(pointer, i)) || found;
      }
    }
    return found;
  }
  return plain && value.is_object() && Lenient(value, field->message_type(), pointer);
}

void Explainer::Field(const json& value, const FD* field, const std::string& key,
                      const std::string& pointer) {
  const pb::Descriptor* holder = field->containing_type();
  if (field->is_map()) {
    if (!value.is_object()) {
      Add(pointer, absl::StrCat("expected an object for map field ", field->full_name(), ", got ",
                                Shown(value)));
      return;
    }
    for (const auto& [map_key, map_value] : value.items()) {
      if (Parses(holder, json{{key, {{map_key, map_value}}}})) continue;
      std::string at = JoinPointer(pointer, map_key);
      if (Parses(holder, json{{key, {{map_key, nullptr}}}}) ||
          field->message_type()->map_key()->cpp_type() == FD::CPPTYPE_STRING) {
        Value(map_value, field->message_type()->map_value(), at);
      } else {
        Add(at, absl::StrCat("map key \"", map_key, "\" is not a ",
                             field->message_type()->map_key()->type_name(), " (map field ",
                             field->full_name(), ")"));
      }
    }
    return;
  }
  if (field->is_repeated()) {
    if (!value.is_array()) {
      Add(pointer, absl::StrCat("expected an array for repeated field ", field->full_name(),
                                ", got ", Shown(value)));
      return;
    }
    for (size_t i = 0; i < value.size(); ++i) {
      if (!Parses(holder, json{{key, json::array({value[i]})}})) {
        Value(value[i], field, JoinPointer(pointer, i));
      }
    }
    return;
  }
  Value(value, field, pointer);
}

void Explainer::Value(const json& value, const FD* field, const std::string& pointer) {
  if (field->cpp_type() == FD::CPPTYPE_MESSAGE && IsPlainMessage(field->message_type())) {
    if (!Object(value, field->message_type(), pointer)) {
      Add(pointer, absl::StrCat("not a valid ", field->message_type()->full_name()));
    }
    return;
  }
  if (field->cpp_type() == FD::CPPTYPE_ENUM && value.is_string()) {
    const pb::EnumDescriptor* type = field->enum_type();
    const std::string& name = value.get_ref<const std::string&>();
    if (type->FindValueByName(name) == nullptr) {
      std::vector<std::string> names;
      for (int i = 0; i < type->value_count(); ++i) names.push_back(type->value(i)->name());
      std::string hint = Schema::Closest(name, names);
      Add(pointer, absl::StrCat("no value ", value.dump(), " in enum ", type->full_name(),
                                hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)")));
      return;
    }
  }
  if (field->cpp_type() == FD::CPPTYPE_MESSAGE) {
    Add(pointer, absl::StrCat("expected ", field->message_type()->full_name(),
                              " in its JSON form, got ", Shown(value)));
    return;
  }
  Add(pointer, absl::StrCat("expected ", Expected(field), " for ", field->type_name(), " field ",
                            field->full_name(), ", got ", Shown(value)));
}

}  // namespace

bool FindLenientJson(const json& body, const pb::Descriptor* type, const Schema& schema,
                     const std::string& file, const std::string& pointer,
                     Diagnostics* diagnostics) {
  if (!IsPlainMessage(type) || !body.is_object()) return false;
  return Explainer(schema, file, diagnostics).Lenient(body, type, pointer);
}

bool ExplainInvalidJson(const json& body, const pb::Descriptor* type, const Schema& schema,
                        const std::string& file, const std::string& pointer,
                        Diagnostics* diagnostics) {
  if (!IsPlainMessage(type)) return false;
  Diagnostics found;
  if (!Explainer(schema, file, &found).Object(body, type, pointer)) return false;
  for (const Diagnostic& d : found.items()) diagnostics->Add(d.file, d.pointer, d.message);
  return true;
}

}  // namespace understudy
