#include "src/matcher.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <re2/re2.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/json_message.h"
#include "src/matchers_internal.h"
#include "src/schema.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using json = nlohmann::json;

constexpr int kMaxDepth = 64;
constexpr char kUnsetKey[] = "\x01unset";

using internal::AnyMatcher;
using internal::AbsentMatcher;
using internal::AllOfMatcher;
using internal::OneOfMatcher;
using internal::ObjectMatcher;
using internal::MapMatcher;
using internal::ArrayMatcher;
using internal::UnorderedMatcher;
using internal::EachMatcher;
using internal::SizeMatcher;
using internal::ContainsTextMatcher;
using internal::ContainsElementMatcher;
using internal::RegexMatcher;
using internal::TypeMatcher;
using internal::CompareMatcher;
using internal::ScalarMatcher;
using internal::MessageEqualsMatcher;

const std::vector<std::string>& Operators() {
  static const auto* ops = new std::vector<std::string>{
      "$regex", "$type",  "$any",  "$absent",   "$contains", "$gt",        "$gte",  "$lt",
      "$lte",   "$each",  "$minItems", "$maxItems", "$unordered", "$oneOf", "$exact", "$eq",
      "$example"};
  return *ops;
}

}  // namespace

bool IsMatcherObject(const json& spec) {
  if (!spec.is_object() || spec.empty()) return false;
  for (const auto& [key, value] : spec.items()) {
    if (!key.empty() && key[0] == '$') return true;
  }
  return false;
}

bool HasMatcherObjects(const json& spec) {
  if (spec.is_array()) {
    for (const json& element : spec) {
      if (HasMatcherObjects(element)) return true;
    }
    return false;
  }
  if (!spec.is_object()) return false;
  for (const auto& [key, value] : spec.items()) {
    if ((!key.empty() && key[0] == '$') || HasMatcherObjects(value)) return true;
  }
  return false;
}

std::string IndexKeyOf(const pb::Message& message, const FD* field) {
  if (field->has_presence() && !message.GetReflection()->HasField(message, field)) return kUnsetKey;
  return TextOf(Node::OfField(&message, field));
}

const FD* FindJsonField(const pb::Descriptor* type, const std::string& name) {
  const FD* f = type->FindFieldByName(name);
  for (int i = 0; f == nullptr && i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) f = type->field(i);
  }
  return f;
}

std::string NoFieldMessage(const pb::Descriptor* type, const std::string& name) {
  std::vector<std::string> names;
  for (int i = 0; i < type->field_count(); ++i) names.push_back(type->field(i)->json_name());
  std::string hint = Schema::Closest(name, names);
  return absl::StrCat("no field \"", name, "\" in ", type->full_name(),
                      hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)"));
}

std::string Target::Describe() const {
  if (text) return "a metadata value";
  if (message != nullptr) return message->full_name();
  if (IsRepeated()) return absl::StrCat("repeated field ", field->full_name());
  if (field->cpp_type() == FD::CPPTYPE_MESSAGE) return field->message_type()->full_name();
  if (field->cpp_type() == FD::CPPTYPE_ENUM) return field->enum_type()->full_name();
  return absl::StrCat(field->type_name(), " field ", field->full_name());
}

void MatcherCompiler::Error(const std::string& pointer, const std::string& message) {
  diagnostics_->Add(file_, pointer, message);
}

std::unique_ptr<Matcher> MatcherCompiler::Compile(const json& spec, const Target& target,
                                                  const std::string& pointer) {
  if (++depth_ > kMaxDepth) {
    --depth_;
    Error(pointer, absl::StrCat("nested deeper than ", kMaxDepth, " levels"));
    return nullptr;
  }
  std::unique_ptr<Matcher> out = IsMatcherObject(spec) && !literal_
                                     ? CompileMatcherObject(spec, target, pointer)
                                     : CompileLiteral(spec, target, pointer, exact_);
  --depth_;
  return out;
}

std::unique_ptr<Matcher> MatcherCompiler::CompileMatcherObject(const json& spec,
                                                               const Target& target,
                                                               const std::string& pointer) {
  std::vector<std::unique_ptr<Matcher>> all;
  bool ok = true;
  int64_t min_items = -1, max_items = -1;
  for (const auto& [key, arg] : spec.items()) {
    std::string at = JoinPointer(pointer, key);
    if (key.empty() || key[0] != '$') {
      Error(at, absl::StrCat("\"", key, "\" beside a matcher: an object is either fields or ",
                             "matchers (use {\"$eq\": {...}} for a literal with $ keys)"));
      ok = false;
      continue;
    }
    if (key == "$example") continue;  // the mock's value; any value the matcher takes is fine
    if (key == "$minItems" || key == "$maxItems") {
      if (!arg.is_number_integer() || arg.get<int64_t>() < 0) {
        Error(at, absl::StrCat(key, " takes a non-negative integer"));
        ok = false;
      } else if (!target.IsRepeated()) {
        Error(at, absl::StrCat(key, " applies to arrays, not to ", target.Describe()));
        ok = false;
      } else {
        (key == "$minItems" ? min_items : max_items) = arg.get<int64_t>();
      }
      continue;
    }
    auto m = CompileOperator(key, arg, target, at);
    if (m == nullptr) {
      ok = false;
      continue;
    }
    all.push_back(std::move(m));
  }
  if (min_items >= 0 || max_items >= 0) {
    all.push_back(std::make_unique<SizeMatcher>(
        std::max<int64_t>(min_items, 0), max_items < 0 ? INT64_MAX : max_items));
  }
  if (!ok) return nullptr;
  if (all.size() == 1) return std::move(all[0]);
  if (all.empty()) return std::make_unique<AnyMatcher>();  // only $example
  return std::make_unique<AllOfMatcher>(std::move(all));
}

std::unique_ptr<Matcher> MatcherCompiler::CompileOperator(const std::string& op, const json& arg,
                                                          const Target& target,
                                                          const std::string& at) {
  if (op == "$any") {
    if (arg != true) {
      Error(at, "$any takes true");
      return nullptr;
    }
    return std::make_unique<AnyMatcher>();
  }
  if (op == "$absent") {
    if (arg != true) {
      Error(at, "$absent takes true");
      return nullptr;
    }
    return std::make_unique<AbsentMatcher>();
  }
  if (op == "$regex") {
    if (!arg.is_string()) {
      Error(at, "$regex takes a string (an RE2 regular expression)");
      return nullptr;
    }
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(arg.get<std::string>(), options);
    if (!re->ok()) {
      Error(at, absl::StrCat("invalid regular expression ", arg.dump(), ": ", re->error()));
      return nullptr;
    }
    return std::make_unique<RegexMatcher>(std::move(re));
  }
  if (op == "$type") {
    static const std::set<std::string> kTypes = {"string", "number", "integer",
                                                 "boolean", "object", "array"};
    if (!arg.is_string() || kTypes.count(arg.get<std::string>()) == 0) {
      Error(at, "$type takes one of \"string\", \"number\", \"integer\", \"boolean\", \"object\", "
                "\"array\"");
      return nullptr;
    }
    return std::make_unique<TypeMatcher>(arg.get<std::string>());
  }
  if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
    long double bound;
    if (arg.is_number()) {
      bound = arg.is_number_integer()
                  ? (arg.is_number_unsigned() ? static_cast<long double>(arg.get<uint64_t>())
                                              : static_cast<long double>(arg.get<int64_t>()))
                  : static_cast<long double>(arg.get<double>());
    } else if (arg.is_string()) {
      char* end = nullptr;
      const std::string& s = arg.get_ref<const std::string&>();
      bound = std::strtold(s.c_str(), &end);
      if (s.empty() || *end != '\0') {
        Error(at, absl::StrCat(op, " takes a number, got ", arg.dump()));
        return nullptr;
      }
    } else {
      Error(at, absl::StrCat(op, " takes a number, got ", arg.dump()));
      return nullptr;
    }
    return std::make_unique<CompareMatcher>(op, bound);
  }
  if (op == "$contains") {
    if (target.IsRepeated()) {
      auto element = Compile(arg, Target::Element(target.field), at);
      if (element == nullptr) return nullptr;
      return std::make_unique<ContainsElementMatcher>(std::move(element));
    }
    if (!arg.is_string()) {
      Error(at, absl::StrCat("$contains on ", target.Describe(), " takes a string"));
      return nullptr;
    }
    return std::make_unique<ContainsTextMatcher>(arg.get<std::string>());
  }
  if (op == "$each" || op == "$unordered") {
    if (!target.IsRepeated()) {
      Error(at, absl::StrCat(op, " applies to arrays, not to ", target.Describe()));
      return nullptr;
    }
    Target element_target = Target::Element(target.field);
    if (op == "$each") {
      auto element = Compile(arg, element_target, at);
      return element == nullptr ? nullptr : std::make_unique<EachMatcher>(std::move(element));
    }
    if (!arg.is_array()) {
      Error(at, "$unordered takes an array");
      return nullptr;
    }
    std::vector<std::unique_ptr<Matcher>> elements;
    for (size_t i = 0; i < arg.size(); ++i) {
      auto e = Compile(arg[i], element_target, JoinPointer(at, i));
      if (e == nullptr) return nullptr;
      elements.push_back(std::move(e));
    }
    return std::make_unique<UnorderedMatcher>(std::move(elements));
  }
  if (op == "$oneOf") {
    if (!arg.is_array() || arg.empty()) {
      Error(at, "$oneOf takes a non-empty array of alternatives");
      return nullptr;
    }
    std::vector<std::unique_ptr<Matcher>> alternatives;
    bool ok = true;
    for (size_t i = 0; i < arg.size(); ++i) {
      auto m = Compile(arg[i], target, JoinPointer(at, i));
      if (m == nullptr) ok = false;
      alternatives.push_back(std::move(m));
    }
    return ok ? std::make_unique<OneOfMatcher>(std::move(alternatives)) : nullptr;
  }
  if (op == "$exact") {
    if (!arg.is_object()) {
      Error(at, "$exact takes an object");
      return nullptr;
    }
    // Exact all the way down: nested objects may not carry unlisted fields either.
    bool outer = exact_;
    exact_ = true;
    auto out = CompileLiteral(arg, target, at, /*exact=*/true);
    exact_ = outer;
    return out;
  }
  if (op == "$eq") {
    const pb::Descriptor* type = target.message;
    if (type == nullptr && target.field != nullptr && !target.IsRepeated() &&
        target.field->cpp_type() == FD::CPPTYPE_MESSAGE) {
      type = target.field->message_type();
    }
    if (type != nullptr) return CompileMessageLiteral(arg, type, at);
    // A whole array or map, exactly: no matchers inside, no unlisted fields in its objects.
    bool outer_literal = literal_, outer_exact = exact_;
    literal_ = exact_ = true;
    auto out = CompileLiteral(arg, target, at, true);
    literal_ = outer_literal;
    exact_ = outer_exact;
    return out;
  }
  std::string hint = Schema::Closest(op, Operators());
  Error(at, absl::StrCat("unknown matcher \"", op, "\"",
                         hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)")));
  return nullptr;
}

std::unique_ptr<Matcher> MatcherCompiler::CompileLiteral(const json& spec, const Target& target,
                                                         const std::string& pointer, bool exact) {
  if (spec.is_null()) return std::make_unique<AbsentMatcher>();
  if (target.text) return CompileScalar(spec, target, pointer);
  if (target.message != nullptr) return CompileObject(spec, target.message, pointer, exact, true);
  const FD* f = target.field;
  if (target.IsRepeated()) {
    if (f->is_map()) return CompileMap(spec, f, pointer, exact);
    if (!spec.is_array()) {
      Error(pointer, absl::StrCat("expected an array for ", target.Describe(), ", got ",
                                  spec.type_name()));
      return nullptr;
    }
    std::vector<std::unique_ptr<Matcher>> elements;
    bool ok = true;
    for (size_t i = 0; i < spec.size(); ++i) {
      auto e = Compile(spec[i], Target::Element(f), JoinPointer(pointer, i));
      if (e == nullptr) ok = false;
      elements.push_back(std::move(e));
    }
    return ok ? std::make_unique<ArrayMatcher>(std::move(elements)) : nullptr;
  }
  if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
    const pb::Descriptor* type = f->message_type();
    if (HasScalarJsonForm(type)) return CompileMessageLiteral(spec, type, pointer);
    return CompileObject(spec, type, pointer, exact, false);
  }
  return CompileScalar(spec, target, pointer);
}

std::unique_ptr<Matcher> MatcherCompiler::CompileObject(const json& spec, const pb::Descriptor* type,
                                                        const std::string& pointer, bool exact,
                                                        bool root) {
  if (!spec.is_object()) {
    Error(pointer, absl::StrCat("expected an object for ", type->full_name(), ", got ",
                                spec.type_name()));
    return nullptr;
  }
  if (type->full_name() == "google.protobuf.Any" || type->full_name() == "google.protobuf.Struct") {
    return CompileMessageLiteral(spec, type, pointer);
  }
  std::vector<ObjectMatcher::Entry> entries;
  bool ok = true;
  for (const auto& [key, value] : spec.items()) {
    std::string at = JoinPointer(pointer, key);
    const FD* field = FindJsonField(type, key);
    if (field == nullptr) {
      Error(at, NoFieldMessage(type, key));
      ok = false;
      continue;
    }
    auto m = Compile(value, Target::Field(field), at);
    if (m == nullptr) {
      ok = false;
      continue;
    }
    entries.push_back({field, key, std::move(m)});
  }
  if (!ok) return nullptr;
  return std::make_unique<ObjectMatcher>(std::move(entries), exact, root);
}

std::unique_ptr<Matcher> MatcherCompiler::CompileMap(const json& spec, const FD* field,
                                                     const std::string& pointer, bool exact) {
  if (!spec.is_object()) {
    Error(pointer, absl::StrCat("expected an object for map field ", field->full_name(), ", got ",
                                spec.type_name()));
    return nullptr;
  }
  const FD* key_field = field->message_type()->map_key();
  const FD* value_field = field->message_type()->map_value();
  std::vector<MapMatcher::Entry> entries;
  bool ok = true;
  for (const auto& [key, value] : spec.items()) {
    std::string at = JoinPointer(pointer, key);
    std::string canonical = key;
    if (key_field->cpp_type() == FD::CPPTYPE_BOOL) {
      if (key != "true" && key != "false") {
        Error(at, "map key must be \"true\" or \"false\"");
        ok = false;
      }
    } else if (key_field->cpp_type() != FD::CPPTYPE_STRING) {
      int64_t i;
      uint64_t u;
      if (absl::SimpleAtoi(key, &i)) {
        canonical = absl::StrCat(i);
      } else if (absl::SimpleAtoi(key, &u)) {
        canonical = absl::StrCat(u);
      } else {
        Error(at, absl::StrCat("map key must be an integer, got \"", key, "\""));
        ok = false;
      }
    }
    auto m = Compile(value, Target::Field(value_field), at);
    if (m == nullptr) {
      ok = false;
      continue;
    }
    entries.push_back({canonical, std::move(m)});
  }
  if (!ok) return nullptr;
  return std::make_unique<MapMatcher>(field, std::move(entries), exact);
}

std::unique_ptr<Matcher> MatcherCompiler::CompileMessageLiteral(const json& spec,
                                                                const pb::Descriptor* type,
                                                                const std::string& pointer) {
  auto message = schema_->NewMessage(type);
  absl::Status status = JsonToMessage(spec, message.get()).status;
  if (!status.ok()) {
    Error(pointer, absl::StrCat("not a valid ", type->full_name(), ": ",
                                std::string(status.message())));
    return nullptr;
  }
  return std::make_unique<MessageEqualsMatcher>(std::move(message), spec.dump());
}

std::unique_ptr<Matcher> MatcherCompiler::CompileScalar(const json& spec, const Target& target,
                                                        const std::string& pointer) {
  auto wrong = [&](const char* expected) {
    Error(pointer, absl::StrCat("expected ", expected, " for ", target.Describe(), ", got ",
                                spec.type_name(), " ", spec.dump()));
    return nullptr;
  };
  if (target.text) {
    if (spec.is_string()) {
      return std::make_unique<ScalarMatcher>(nullptr, false, spec.get<std::string>(), 0, false);
    }
    if (spec.is_number() || spec.is_boolean()) {
      return std::make_unique<ScalarMatcher>(nullptr, false, spec.dump(), 0, false);
    }
    return wrong("a string");
  }
  const FD* f = target.field;
  const bool root = !target.element;  // ObjectMatcher asks only its root's direct fields
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING: {
      if (!spec.is_string()) return wrong("a string");
      std::string text = spec.get<std::string>();
      if (f->type() == FD::TYPE_BYTES) {
        std::string raw;
        if (!absl::Base64Unescape(text, &raw) && !absl::WebSafeBase64Unescape(text, &raw)) {
          return wrong("base64 text");
        }
        text = absl::Base64Escape(raw);
      }
      return std::make_unique<ScalarMatcher>(f, target.element, text, 0, root);
    }
    case FD::CPPTYPE_BOOL:
      if (!spec.is_boolean()) return wrong("true or false");
      return std::make_unique<ScalarMatcher>(f, target.element, spec.get<bool>() ? "true" : "false",
                                             0, root);
    case FD::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* v = nullptr;
      if (spec.is_string()) {
        v = f->enum_type()->FindValueByName(spec.get<std::string>());
        if (v == nullptr) {
          std::vector<std::string> names;
          for (int i = 0; i < f->enum_type()->value_count(); ++i) {
            names.push_back(f->enum_type()->value(i)->name());
          }
          std::string hint = Schema::Closest(spec.get<std::string>(), names);
          Error(pointer, absl::StrCat("no value ", spec.dump(), " in enum ",
                                      f->enum_type()->full_name(),
                                      hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint,
                                                                       "\"?)")));
          return nullptr;
        }
      } else if (spec.is_number_integer()) {
        if (spec.is_number_unsigned() ? spec.get<uint64_t>() > INT32_MAX
                                      : (spec.get<int64_t>() < INT32_MIN ||
                                         spec.get<int64_t>() > INT32_MAX)) {
          return wrong("an enum number (32-bit)");
        }
        v = f->enum_type()->FindValueByNumber(spec.get<int>());
        if (v == nullptr) {
          return std::make_unique<ScalarMatcher>(f, target.element, spec.dump(), 0, root);
        }
      } else {
        return wrong("an enum name");
      }
      // An alias reads back as the first name of its number: compare with that one.
      const pb::EnumValueDescriptor* canonical = f->enum_type()->FindValueByNumber(v->number());
      return std::make_unique<ScalarMatcher>(f, target.element, canonical->name(), v->number(),
                                             root);
    }
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE: {
      double d;
      if (spec.is_number()) {
        d = spec.get<double>();
      } else if (spec == "NaN") {
        d = NAN;
      } else if (spec == "Infinity" || spec == "-Infinity") {
        d = spec == "Infinity" ? INFINITY : -INFINITY;
      } else if (!spec.is_string() || !absl::SimpleAtod(spec.get<std::string>(), &d)) {
        return wrong("a number");
      }
      return std::make_unique<ScalarMatcher>(f, target.element, FormatDouble(d), d, root);
    }
    default: {  // integers; 64-bit ones may be strings
      const bool is_signed =
          f->cpp_type() == FD::CPPTYPE_INT32 || f->cpp_type() == FD::CPPTYPE_INT64;
      const bool is_32 = f->cpp_type() == FD::CPPTYPE_INT32 || f->cpp_type() == FD::CPPTYPE_UINT32;
      std::string text = spec.is_string() ? spec.get<std::string>() : spec.dump();
      if (!spec.is_string() && !spec.is_number()) return wrong("an integer");
      if (spec.is_number_float()) {
        double d = spec.get<double>();
        // 2^63 and 2^64 are exact doubles: beyond them no integer field can hold the value.
        if (d != std::floor(d) || d < -9223372036854775808.0 || d >= 18446744073709551616.0) {
          return wrong("an integer");
        }
        text = d < 0 ? absl::StrCat(static_cast<int64_t>(d))
                     : absl::StrCat(static_cast<uint64_t>(d));
      }
      int64_t i = 0;
      uint64_t u = 0;
      bool ok = is_signed ? absl::SimpleAtoi(text, &i) : absl::SimpleAtoi(text, &u);
      if (ok && is_32) {
        ok = is_signed ? (i >= INT32_MIN && i <= INT32_MAX) : u <= UINT32_MAX;
      }
      if (!ok) return wrong(is_32 ? "a 32-bit integer" : "a 64-bit integer");
      long double n = is_signed ? static_cast<long double>(i) : static_cast<long double>(u);
      return std::make_unique<ScalarMatcher>(f, target.element,
                                             is_signed ? absl::StrCat(i) : absl::StrCat(u), n,
                                             root);
    }
  }
}

json MatcherCompiler::ExampleOf(const json& spec, const std::string& pointer) {
  if (spec.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < spec.size(); ++i) out.push_back(ExampleOf(spec[i], JoinPointer(pointer, i)));
    return out;
  }
  if (!spec.is_object()) return spec;
  if (IsMatcherObject(spec)) {
    if (spec.contains("$example")) return spec["$example"];
    if (spec.contains("$eq")) return spec["$eq"];
    if (spec.contains("$exact")) return ExampleOf(spec["$exact"], JoinPointer(pointer, "$exact"));
    Error(pointer, "a matcher in a response needs \"$example\": the value the mock sends");
    return nullptr;
  }
  json out = json::object();
  for (const auto& [key, value] : spec.items()) {
    // {"$absent": true} or {"$any": true} without an example: the mock leaves the field unset.
    if (IsMatcherObject(value) && !value.contains("$example") &&
        (value.contains("$absent") || value.contains("$any"))) {
      continue;
    }
    out[key] = ExampleOf(value, JoinPointer(pointer, key));
  }
  return out;
}

}  // namespace understudy
