#include "src/value.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

const std::string& WellKnownName(const pb::Descriptor* type) { return type->full_name(); }

bool IsTimeLike(const pb::Descriptor* type) {
  const std::string& n = WellKnownName(type);
  return n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration" ||
         n == "google.protobuf.FieldMask";
}

}  // namespace

bool IsWrapperType(const pb::Descriptor* type) {
  if (type->file()->name() != "google/protobuf/wrappers.proto") return false;
  return true;
}

bool HasScalarJsonForm(const pb::Descriptor* type) {
  return IsWrapperType(type) || IsTimeLike(type) ||
         type->full_name() == "google.protobuf.Value" ||
         type->full_name() == "google.protobuf.ListValue" ||
         type->full_name() == "google.protobuf.Struct";
}

bool Node::IsMessage() const {
  if (text != nullptr) return false;
  if (field == nullptr) return true;
  return field->cpp_type() == FD::CPPTYPE_MESSAGE && !IsRepeated();
}

const pb::Message* Node::AsMessage() const {
  if (field == nullptr) return msg;
  if (field->cpp_type() != FD::CPPTYPE_MESSAGE) return nullptr;
  const pb::Reflection* r = msg->GetReflection();
  if (field->is_repeated()) return index < 0 ? nullptr : &r->GetRepeatedMessage(*msg, field, index);
  if (!r->HasField(*msg, field)) return nullptr;
  return &r->GetMessage(*msg, field);
}

int Node::Size() const {
  if (!IsRepeated()) return 0;
  return msg->GetReflection()->FieldSize(*msg, field);
}

Node Node::Element(int i) const { return Node::OfField(msg, field, i); }

bool Node::IsUnset() const {
  if (text != nullptr) return false;
  if (field == nullptr) return msg == nullptr;
  const pb::Reflection* r = msg->GetReflection();
  if (field->is_repeated()) return index < 0 && r->FieldSize(*msg, field) == 0;
  if (field->has_presence()) return !r->HasField(*msg, field);
  return !r->HasField(*msg, field);  // proto3 scalars: HasField is false for the default
}

Node Unwrap(const Node& node) {
  if (node.field == nullptr || node.IsRepeated() || node.field->cpp_type() != FD::CPPTYPE_MESSAGE ||
      !IsWrapperType(node.field->message_type())) {
    return node;
  }
  const pb::Message* inner = node.AsMessage();
  if (inner == nullptr) return node;
  return Node::OfField(inner, inner->GetDescriptor()->FindFieldByNumber(1));
}

JsonKind KindOfNode(const Node& raw) {
  if (raw.IsText()) return JsonKind::kString;
  Node node = Unwrap(raw);
  if (node.field == nullptr) return JsonKind::kObject;
  if (node.IsMap()) return JsonKind::kObject;
  if (node.IsRepeated()) return JsonKind::kArray;
  switch (node.field->cpp_type()) {
    case FD::CPPTYPE_STRING:
    case FD::CPPTYPE_ENUM:
      return JsonKind::kString;
    case FD::CPPTYPE_BOOL:
      return JsonKind::kBool;
    case FD::CPPTYPE_MESSAGE: {
      const pb::Descriptor* type = node.field->message_type();
      if (node.AsMessage() == nullptr) return JsonKind::kNull;
      if (IsTimeLike(type)) return JsonKind::kString;
      if (type->full_name() == "google.protobuf.ListValue") return JsonKind::kArray;
      return JsonKind::kObject;
    }
    default:
      return JsonKind::kNumber;
  }
}

const char* JsonKindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kNull: return "null";
    case JsonKind::kString: return "string";
    case JsonKind::kNumber: return "number";
    case JsonKind::kBool: return "boolean";
    case JsonKind::kObject: return "object";
    case JsonKind::kArray: return "array";
  }
  return "?";
}

bool IsIntegerNode(const Node& raw) {
  Node node = Unwrap(raw);
  if (node.field == nullptr || node.IsRepeated()) return false;
  switch (node.field->cpp_type()) {
    case FD::CPPTYPE_INT32:
    case FD::CPPTYPE_INT64:
    case FD::CPPTYPE_UINT32:
    case FD::CPPTYPE_UINT64:
      return true;
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE: {
      long double v;
      return NumberOf(node, &v) && std::isfinite(v) && v == std::floor(v);
    }
    default:
      return false;
  }
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

std::string FormatFloat(float value) {
  if (!std::isfinite(value)) return FormatDouble(value);
  char buf[32];
  for (int precision = 6; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(value));
    if (std::strtof(buf, nullptr) == value) break;
  }
  return buf;
}

std::string TextOf(const Node& raw) {
  if (raw.IsText()) return *raw.text;
  Node node = Unwrap(raw);
  if (node.field == nullptr || node.IsRepeated()) return "";
  const pb::Message& m = *node.msg;
  const pb::Reflection* r = m.GetReflection();
  const FD* f = node.field;
  const int i = node.index;
  const bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
      if (f->type() == FD::TYPE_BYTES) return absl::Base64Escape(s);
      return s;
    }
    case FD::CPPTYPE_INT32: return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f));
    case FD::CPPTYPE_INT64: return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f));
    case FD::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f));
    case FD::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f));
    case FD::CPPTYPE_DOUBLE: return FormatDouble(rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f));
    case FD::CPPTYPE_FLOAT: return FormatFloat(rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f));
    case FD::CPPTYPE_BOOL: return (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "true" : "false";
    case FD::CPPTYPE_ENUM: {
      int number = rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
      const pb::EnumValueDescriptor* v = f->enum_type()->FindValueByNumber(number);
      return v != nullptr ? v->name() : absl::StrCat(number);
    }
    case FD::CPPTYPE_MESSAGE: {
      const pb::Message* sub = node.AsMessage();
      const pb::Descriptor* type = f->message_type();
      if (sub == nullptr) return "";
      const std::string& n = type->full_name();
      if (n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration") {
        const pb::Reflection* sr = sub->GetReflection();
        int64_t seconds = sr->GetInt64(*sub, type->FindFieldByNumber(1));
        int32_t nanos = sr->GetInt32(*sub, type->FindFieldByNumber(2));
        if (n == "google.protobuf.Duration") {
          pb::Duration d;
          d.set_seconds(seconds);
          d.set_nanos(nanos);
          return pb::util::TimeUtil::ToString(d);
        }
        pb::Timestamp t;
        t.set_seconds(seconds);
        t.set_nanos(nanos);
        return pb::util::TimeUtil::ToString(t);
      }
      if (n == "google.protobuf.FieldMask") {
        std::string json;
        if (!pb::util::MessageToJsonString(*sub, &json).ok() || json.size() < 2) return "";
        return json.substr(1, json.size() - 2);
      }
      return "";
    }
  }
  return "";
}

bool NumberOf(const Node& raw, long double* out) {
  Node node = Unwrap(raw);
  if (!node.IsText() && node.field != nullptr && !node.IsRepeated()) {
    const pb::Message& m = *node.msg;
    const pb::Reflection* r = m.GetReflection();
    const FD* f = node.field;
    const int i = node.index;
    const bool rep = i >= 0;
    switch (f->cpp_type()) {
      case FD::CPPTYPE_INT32: *out = rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f); return true;
      case FD::CPPTYPE_INT64: *out = rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f); return true;
      case FD::CPPTYPE_UINT32: *out = rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f); return true;
      case FD::CPPTYPE_UINT64: *out = rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f); return true;
      case FD::CPPTYPE_DOUBLE: *out = rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f); return true;
      case FD::CPPTYPE_FLOAT: *out = rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f); return true;
      case FD::CPPTYPE_STRING: break;  // numeric text is accepted below
      default: return false;
    }
  }
  if (!node.IsText() && (node.field == nullptr || node.field->cpp_type() != FD::CPPTYPE_STRING)) {
    return false;
  }
  std::string text = TextOf(node);
  if (text.empty()) return false;
  char* end = nullptr;
  long double v = std::strtold(text.c_str(), &end);
  if (end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

// The next code point of UTF-8 `text` at `*at`, advancing past it; -1 (advancing one byte) when
// the bytes there are not well-formed UTF-8 (overlong forms and surrogates included).
int32_t DecodeUtf8At(absl::string_view text, size_t* at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(*at);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3
                                  : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || *at + length > text.size()) {
    ++*at;
    return -1;
  }
  int32_t cp = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(*at + i) & 0xC0) != 0x80) {
      ++*at;
      return -1;
    }
    cp = (cp << 6) | (byte(*at + i) & 0x3F);
  }
  static constexpr int32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kLeast[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*at;
    return -1;
  }
  *at += length;
  return cp;
}

std::string Quote(absl::string_view text) {
  // Runs of UTF-8 as JSON writes them, each byte between them as the four characters \xFF.
  std::string out = "\"";
  size_t run = 0;
  auto flush = [&](size_t end) {
    if (end == run) return;
    std::string part = nlohmann::json(std::string(text.substr(run, end - run))).dump();
    out.append(part, 1, part.size() - 2);
  };
  for (size_t at = 0; at < text.size();) {
    const size_t start = at;
    if (DecodeUtf8At(text, &at) >= 0) continue;
    flush(start);
    absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(text[start]));
    run = at;
  }
  flush(text.size());
  out += '"';
  return out;
}

namespace {

// `at` moved back to the start of the UTF-8 sequence it falls in, so a window never begins or
// ends inside a character (which would show as \\xNN escapes).
size_t CharBoundary(absl::string_view text, size_t at) {
  at = std::min(at, text.size());
  for (int back = 0; back < 3 && at > 0 && at < text.size() &&
                     (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80;
       ++back) {
    --at;
  }
  return at;
}

// Bytes of context shown before the first difference, and the window's whole size.
constexpr size_t kLeadBytes = 60;
constexpr size_t kWindowBytes = 150;

std::string Window(absl::string_view value, size_t from, bool bytes) {
  size_t begin, end;
  if (bytes) {
    begin = from - from % 3;  // whole base64 groups
    end = std::min(value.size(), begin + kWindowBytes - kWindowBytes % 3);
  } else {
    begin = CharBoundary(value, from);
    end = CharBoundary(value, begin + kWindowBytes);
  }
  absl::string_view part = value.substr(begin, end - begin);
  std::string shown = bytes ? Quote(absl::Base64Escape(part)) : Quote(part);
  return absl::StrCat(begin > 0 ? "..." : "", shown, end < value.size() ? "..." : "");
}

}  // namespace

std::string QuoteCapped(absl::string_view text) {
  if (text.size() <= kShownValueBytes) return Quote(text);
  return absl::StrCat(Quote(text.substr(0, CharBoundary(text, kShownValueBytes))), "... (",
                      text.size(), " bytes)");
}

void SummarizeDifference(absl::string_view expected, absl::string_view actual, bool bytes,
                         std::string* shown_expected, std::string* shown_actual) {
  if (expected.size() <= kShownValueBytes && actual.size() <= kShownValueBytes) {
    *shown_expected = Quote(bytes ? absl::Base64Escape(expected) : std::string(expected));
    *shown_actual = Quote(bytes ? absl::Base64Escape(actual) : std::string(actual));
    return;
  }
  size_t first = 0;
  const size_t common = std::min(expected.size(), actual.size());
  while (first < common && expected[first] == actual[first]) ++first;
  const size_t from = first > kLeadBytes ? first - kLeadBytes : 0;
  const char* unit = bytes ? "bytes" : "bytes of text";
  *shown_expected = absl::StrCat(expected.size(), " ", unit, ", first difference at byte ", first,
                                 ": ", Window(expected, from, bytes));
  *shown_actual = absl::StrCat(actual.size(), " ", unit, ": ", Window(actual, from, bytes));
}

std::string QuoteAtMost(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return Quote(text);
  return absl::StrCat(Quote(text.substr(0, max_bytes)), "... (", text.size(), " bytes)");
}

}  // namespace understudy
