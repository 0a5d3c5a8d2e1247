#include "src/response.h"

#include <algorithm>

#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/json_explain.h"
#include "src/json_message.h"
#include "src/matcher.h"
#include "src/schema.h"
#include "src/value.h"

namespace understudy {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using json = nlohmann::json;

namespace {

const char* const kCodeNames[] = {
    "OK",           "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
    "UNAUTHENTICATED"};

// A neutral value of the field's type that stands in for a template until a call fills it.
json Placeholder(const FD* field) {
  switch (field->cpp_type()) {
    case FD::CPPTYPE_STRING: return "";
    case FD::CPPTYPE_BOOL: return false;
    case FD::CPPTYPE_ENUM: return 0;
    case FD::CPPTYPE_MESSAGE: {
      const std::string& n = field->message_type()->full_name();
      if (n == "google.protobuf.Timestamp") return "1970-01-01T00:00:00Z";
      if (n == "google.protobuf.Duration") return "0s";
      if (IsWrapperType(field->message_type())) {
        return Placeholder(field->message_type()->FindFieldByNumber(1));
      }
      return nullptr;
    }
    default: return 0;
  }
}

bool Templatable(const FD* field) {
  if (field->cpp_type() != FD::CPPTYPE_MESSAGE) return true;
  return !Placeholder(field).is_null();
}

// A valid value of the field's type, put in place of a template that failed to compile so the
// rest of the message is still checked (and that template is not reported twice).
json Neutral(const FD* field) {
  if (Templatable(field)) return Placeholder(field);
  const std::string& n = field->message_type()->full_name();
  if (n == "google.protobuf.ListValue") return json::array();
  if (n == "google.protobuf.FieldMask") return "";
  return json::object();
}

// True when a string anywhere in `value` holds a template.
bool HasTemplateText(const json& value) {
  if (value.is_string()) return Template::Contains(value.get_ref<const std::string&>());
  if (value.is_array()) {
    for (const json& element : value) {
      if (HasTemplateText(element)) return true;
    }
  } else if (value.is_object()) {
    for (const auto& [key, element] : value.items()) {
      if (HasTemplateText(element)) return true;
    }
  }
  return false;
}

// Appends a length-delimited field to a serialized message.
void AppendBytesField(int number, const std::string& value, std::string* out) {
  auto varint = [out](uint64_t v) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(number) << 3) | 2);
  varint(value.size());
  out->append(value);
}

}  // namespace

int StatusCodeFromName(const std::string& name) {
  for (int i = 0; i < 17; ++i) {
    if (name == kCodeNames[i]) return i;
  }
  int n;
  if (absl::SimpleAtoi(name, &n) && n >= 0 && n <= 16) return n;
  return -1;
}

const char* StatusCodeName(int code) { return code >= 0 && code <= 16 ? kCodeNames[code] : "?"; }

bool ResponseMessage::Walk(json* value, const pb::Descriptor* type, std::vector<Step>* path,
                           std::vector<Slot>* slots, const ResponseContext& context,
                           const std::string& pointer) {
  if (!value->is_object() || HasScalarJsonForm(type) ||
      type->full_name() == "google.protobuf.Any") {
    return true;  // the JSON parser reports shape errors; templates inside these are not allowed
  }
  bool ok = true;
  for (auto& [key, child] : value->items()) {
    const FD* field = FindJsonField(type, key);
    if (field == nullptr) continue;  // reported by the parser with its own message
    std::string at = JoinPointer(pointer, key);
    auto visit = [&](json* leaf, Step step, const std::string& leaf_at,
                     const FD* leaf_field) -> void {
      path->push_back(step);
      if (leaf->is_string() && Template::Contains(leaf->get_ref<const std::string&>())) {
        std::string error;
        if (!Templatable(leaf_field)) {
          context.diagnostics->Add(context.file, leaf_at,
                                   absl::StrCat("templates cannot fill ", leaf_field->full_name(),
                                                " (", leaf_field->type_name(), ")"));
          *leaf = Neutral(leaf_field);
          ok = false;
        } else if (auto t = Template::Compile(leaf->get<std::string>(), context.request_type,
                                              &error)) {
          slots->push_back({*path, std::move(*t), leaf_at});
          *leaf = Placeholder(leaf_field);
        } else {
          context.diagnostics->Add(context.file, leaf_at, error);
          *leaf = Neutral(leaf_field);
          ok = false;
        }
      } else if (leaf_field->cpp_type() == FD::CPPTYPE_MESSAGE) {
        ok = Walk(leaf, leaf_field->message_type(), path, slots, context, leaf_at) && ok;
      }
      path->pop_back();
    };
    if (field->is_map()) {
      if (!child.is_object()) continue;
      const FD* value_field = field->message_type()->map_value();
      for (auto& [map_key, map_value] : child.items()) {
        Step step{field, -1, map_key, true};
        visit(&map_value, step, JoinPointer(at, map_key), value_field);
      }
    } else if (field->is_repeated()) {
      if (!child.is_array()) continue;
      for (size_t i = 0; i < child.size(); ++i) {
        visit(&child[i], Step{field, static_cast<int>(i)}, JoinPointer(at, i), field);
      }
    } else {
      visit(&child, Step{field}, at, field);
    }
  }
  return ok;
}

std::optional<ResponseMessage> ResponseMessage::Compile(const json& body, const pb::Descriptor* type,
                                                        const ResponseContext& context,
                                                        const std::string& pointer) {
  ResponseMessage out;
  // Templates and the message are both checked, so one run reports every problem of a body.
  // Templates are replaced by placeholders in a copy; a body without any (most) is used as is.
  const json* source = &body;
  json copy;
  bool templates_ok = true;
  if (HasTemplateText(body)) {
    copy = body;
    std::vector<Step> path;
    templates_ok = Walk(&copy, type, &path, &out.slots_, context, pointer);
    source = &copy;
  }
  auto message = context.schema->NewMessage(type);
  JsonMessageResult parsed = JsonToMessage(*source, message.get());
  const absl::Status& status = parsed.status;
  if (!status.ok() && !ExplainInvalidJson(*source, type, *context.schema, context.file, pointer,
                                          context.diagnostics)) {
    context.diagnostics->Add(context.file, pointer,
                             absl::StrCat("not a valid ", type->full_name(), ": ",
                                          std::string(status.message())));
  }
  // What was set directly was strict; protobuf's parser may have been lenient.
  bool lenient = status.ok() && !parsed.direct &&
                 FindLenientJson(*source, type, *context.schema, context.file, pointer,
                                 context.diagnostics);
  if (!templates_ok || !status.ok() || lenient) return std::nullopt;
  // proto2 `required`: protobuf refuses to serialize (aborts) a message without them.
  if (!message->IsInitialized()) {
    context.diagnostics->Add(context.file, pointer, MissingRequiredFields(*message));
    return std::nullopt;
  }
  if (out.slots_.empty()) {
    message->SerializePartialToString(&out.bytes_);
  } else {
    out.prototype_ = std::move(message);
  }
  return out;
}

absl::Status ResponseMessage::Fill(pb::Message* message, const Slot& slot, const std::string& text) {
  for (size_t i = 0; i < slot.path.size(); ++i) {
    const Step& step = slot.path[i];
    const pb::Reflection* r = message->GetReflection();
    const bool last = i + 1 == slot.path.size();
    const FD* f = step.field;
    pb::Message* holder = message;
    const FD* leaf = f;
    int index = step.index;
    if (step.is_map_key) {
      holder = nullptr;
      const FD* key_field = f->message_type()->map_key();
      for (int e = 0; e < r->FieldSize(*message, f) && holder == nullptr; ++e) {
        pb::Message* entry = r->MutableRepeatedMessage(message, f, e);
        if (TextOf(Node::OfField(entry, key_field)) == step.map_key) holder = entry;
      }
      if (holder == nullptr) return absl::InternalError("map entry vanished");
      leaf = f->message_type()->map_value();
      index = -1;
    }
    if (!last) {
      const pb::Reflection* hr = holder->GetReflection();
      message = index >= 0 ? hr->MutableRepeatedMessage(holder, leaf, index)
                           : hr->MutableMessage(holder, leaf);
      continue;
    }
    const pb::Reflection* hr = holder->GetReflection();
    auto bad = [&](const char* what) {
      return absl::InvalidArgumentError(absl::StrCat("template at ", slot.pointer, " rendered ",
                                                     QuoteAtMost(text), ", not ", what));
    };
    const bool rep = index >= 0;
    switch (leaf->cpp_type()) {
      case FD::CPPTYPE_STRING: {
        std::string value = text;
        // bytes render (and are written in files) as base64, as the JSON mapping has them.
        if (leaf->type() == FD::TYPE_BYTES && !absl::Base64Unescape(text, &value) &&
            !absl::WebSafeBase64Unescape(text, &value)) {
          return bad("base64");
        }
        // A proto3 string on the wire must be UTF-8, or the client fails to decode the message
        // (a -bin header or a proto2 bytes-like string can hold any bytes).
        if (leaf->type() == FD::TYPE_STRING &&
            leaf->file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3 &&
            !pb::internal::IsStructurallyValidUTF8(value)) {
          return bad("valid UTF-8, which a proto3 string must be");
        }
        rep ? hr->SetRepeatedString(holder, leaf, index, value) : hr->SetString(holder, leaf, value);
        break;
      }
      case FD::CPPTYPE_BOOL: {
        bool v;
        if (!absl::SimpleAtob(text, &v)) return bad("a boolean");
        rep ? hr->SetRepeatedBool(holder, leaf, index, v) : hr->SetBool(holder, leaf, v);
        break;
      }
      case FD::CPPTYPE_ENUM: {
        const pb::EnumValueDescriptor* v = leaf->enum_type()->FindValueByName(text);
        int n;
        if (v != nullptr) {
          n = v->number();
        } else if (!absl::SimpleAtoi(text, &n)) {
          return bad(leaf->enum_type()->full_name().c_str());
        }
        rep ? hr->SetRepeatedEnumValue(holder, leaf, index, n) : hr->SetEnumValue(holder, leaf, n);
        break;
      }
      case FD::CPPTYPE_INT32:
      case FD::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(text, &v)) return bad("an integer");
        if (leaf->cpp_type() == FD::CPPTYPE_INT32) {
          if (v < INT32_MIN || v > INT32_MAX) return bad("a 32-bit integer");
          rep ? hr->SetRepeatedInt32(holder, leaf, index, v) : hr->SetInt32(holder, leaf, v);
        } else {
          rep ? hr->SetRepeatedInt64(holder, leaf, index, v) : hr->SetInt64(holder, leaf, v);
        }
        break;
      }
      case FD::CPPTYPE_UINT32:
      case FD::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(text, &v)) return bad("an unsigned integer");
        if (leaf->cpp_type() == FD::CPPTYPE_UINT32) {
          if (v > UINT32_MAX) return bad("a 32-bit unsigned integer");
          rep ? hr->SetRepeatedUInt32(holder, leaf, index, v) : hr->SetUInt32(holder, leaf, v);
        } else {
          rep ? hr->SetRepeatedUInt64(holder, leaf, index, v) : hr->SetUInt64(holder, leaf, v);
        }
        break;
      }
      case FD::CPPTYPE_FLOAT:
      case FD::CPPTYPE_DOUBLE: {
        double v;
        if (!absl::SimpleAtod(text, &v)) return bad("a number");
        if (leaf->cpp_type() == FD::CPPTYPE_FLOAT) {
          rep ? hr->SetRepeatedFloat(holder, leaf, index, v) : hr->SetFloat(holder, leaf, v);
        } else {
          rep ? hr->SetRepeatedDouble(holder, leaf, index, v) : hr->SetDouble(holder, leaf, v);
        }
        break;
      }
      case FD::CPPTYPE_MESSAGE: {
        pb::Message* sub = rep ? hr->MutableRepeatedMessage(holder, leaf, index)
                               : hr->MutableMessage(holder, leaf);
        const std::string& n = leaf->message_type()->full_name();
        const pb::Descriptor* t = leaf->message_type();
        if (IsWrapperType(t)) {
          Slot inner{{Step{t->FindFieldByNumber(1)}}, slot.value, slot.pointer};
          return Fill(sub, inner, text);
        }
        int64_t seconds;
        int32_t nanos;
        if (n == "google.protobuf.Timestamp") {
          pb::Timestamp ts;
          if (!pb::util::TimeUtil::FromString(text, &ts)) return bad("an RFC 3339 timestamp");
          seconds = ts.seconds();
          nanos = ts.nanos();
        } else {
          pb::Duration d;
          if (!pb::util::TimeUtil::FromString(text, &d)) return bad("a duration like \"1.5s\"");
          seconds = d.seconds();
          nanos = d.nanos();
        }
        sub->GetReflection()->SetInt64(sub, t->FindFieldByNumber(1), seconds);
        sub->GetReflection()->SetInt32(sub, t->FindFieldByNumber(2), nanos);
        break;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResponseMessage::Render(const Request& request) const {
  if (slots_.empty()) return bytes_;
  std::unique_ptr<pb::Message> message(prototype_->New());
  message->CopyFrom(*prototype_);
  for (const Slot& slot : slots_) {
    absl::Status status = Fill(message.get(), slot, slot.value.Render(request));
    if (!status.ok()) return status;
  }
  std::string out;
  // Filling sets fields, never clears one: the message stays initialized (checked at load).
  message->SerializePartialToString(&out);
  return out;
}

// A response text given as a matcher ({"$regex": ..., "$example": "..."}), for the verifier: the
// mock sends the example, which must be a string the matcher accepts. Other values as they are.
// Null (with a diagnostic) when the matcher is invalid or has no fitting example.
const json* TextToSend(const json& value, const ResponseContext& context, const std::string& at) {
  if (!IsMatcherObject(value)) return &value;
  MatcherCompiler compiler(context.schema, context.file, context.diagnostics);
  auto matcher = compiler.Compile(value, Target::Text(), at);
  if (matcher == nullptr) return nullptr;
  if (!value.contains("$example") || !value["$example"].is_string()) {
    context.diagnostics->Add(context.file, at, "a matcher in a response needs \"$example\": the "
                                               "string the mock sends");
    return nullptr;
  }
  const std::string& example = value["$example"].get_ref<const std::string&>();
  Mismatch why;
  if (!matcher->Matches(Node::OfText(&example), &why)) {
    context.diagnostics->Add(context.file, JoinPointer(at, "$example"),
                             absl::StrCat("the example does not match its own matcher: ",
                                          why.ToString()));
    return nullptr;
  }
  return &value["$example"];
}

bool IsSendableMetadataKey(absl::string_view key) {
  if (key.empty() || absl::StartsWith(key, "grpc-")) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_' || c == '.';
  });
}

bool IsBinaryMetadataKey(absl::string_view key) {
  // gRPC reads "-bin" alone as a plain key: a suffix needs a name before it.
  return key.size() > 4 && absl::EndsWith(key, "-bin");
}

bool IsReservedMetadataKey(absl::string_view key) {
  // HTTP/2's and HTTP's own, then the names gRPC core parses into typed values of its own (a
  // value that does not parse as one aborts the process, as grpclb_client_stats does).
  static const char* const kReserved[] = {
      "content-type", "te",        "content-length", "connection",   "transfer-encoding",
      "keep-alive",   "proxy-connection", "upgrade", "host",         "user-agent",
      "grpclb_client_stats", "lb-token", "lb-cost-bin", "endpoint-load-metrics-bin"};
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [key](const char* reserved) { return key == reserved; });
}

std::string MetadataValueProblem(absl::string_view key, absl::string_view value) {
  if (IsBinaryMetadataKey(key)) return "";
  for (size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c > 0x7E) {
      return absl::StrCat("byte ", i, " is 0x", absl::Hex(c, absl::kZeroPad2),
                          ": a header value takes printable ASCII only (0x20-0x7E; use a -bin "
                          "key for other bytes)");
    }
  }
  return "";
}

bool DecodeBinaryMetadata(absl::string_view base64, std::string* bytes) {
  return absl::Base64Unescape(base64, bytes) || absl::WebSafeBase64Unescape(base64, bytes);
}

std::vector<MetadataEntry> CompileMetadata(const json& spec, const ResponseContext& context,
                                           const std::string& pointer) {
  std::vector<MetadataEntry> out;
  if (spec.is_null()) return out;
  if (!spec.is_object()) {
    context.diagnostics->Add(context.file, pointer, "expected an object of header name to value");
    return out;
  }
  for (const auto& [key, value] : spec.items()) {
    std::string at = JoinPointer(pointer, key);
    if (!IsSendableMetadataKey(key)) {
      context.diagnostics->Add(context.file, at,
                               absl::StrCat("\"", key, "\" is not a header name a server may ",
                                            "send (lower case letters, digits, - _ .; no grpc- ",
                                            "prefix)"));
      continue;
    }
    if (IsReservedMetadataKey(key)) {
      context.diagnostics->Add(context.file, at,
                               absl::StrCat("\"", key, "\" is reserved: HTTP/2 and gRPC set it ",
                                            "themselves, so a mock cannot send it"));
      continue;
    }
    const json* sent = TextToSend(value, context, at);
    if (sent == nullptr) continue;
    if (!sent->is_string()) {
      context.diagnostics->Add(context.file, at, "expected a string value");
      continue;
    }
    std::string text = sent->get<std::string>();
    const bool binary = IsBinaryMetadataKey(key);
    if (binary && !Template::Contains(text)) {
      std::string raw;
      if (!DecodeBinaryMetadata(text, &raw)) {
        context.diagnostics->Add(context.file, at, "a -bin header takes base64 (or a template)");
        continue;
      }
      out.push_back({key, Template::Literal(std::move(raw)), true});
      continue;
    }
    std::string error;
    auto t = Template::Compile(text, context.request_type, &error);
    if (!t) {
      context.diagnostics->Add(context.file, at, error);
      continue;
    }
    if (t->IsLiteral()) {
      std::string problem = MetadataValueProblem(key, text);
      if (!problem.empty()) {
        context.diagnostics->Add(context.file, at, absl::StrCat("gRPC cannot send ", Quote(text),
                                                                 ": ", problem));
        continue;
      }
    }
    out.push_back({key, std::move(*t), binary});
  }
  return out;
}

absl::Status RenderMetadata(const std::vector<MetadataEntry>& entries, const Request& request,
                            std::vector<std::pair<std::string, std::string>>* out) {
  const size_t first = out->size();
  for (const MetadataEntry& entry : entries) {
    std::string value = entry.value.Render(request);
    std::string problem = MetadataValueProblem(entry.key, value);
    if (!problem.empty()) {
      out->resize(first);
      return absl::InvalidArgumentError(absl::StrCat("header \"", entry.key, "\" rendered ",
                                                     QuoteAtMost(value), ", which gRPC cannot send: ",
                                                     problem));
    }
    out->emplace_back(entry.key, std::move(value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResponseStatus::DetailsBin(const Request& request,
                                                      const std::string& message) const {
  if (details.empty()) return std::string();
  // google.rpc.Status.message is a proto3 string: clients would fail to decode the details.
  if (!pb::internal::IsStructurallyValidUTF8(message)) {
    return absl::InvalidArgumentError(absl::StrCat("the status message rendered ",
                                                   QuoteAtMost(message), ", which is not UTF-8: ",
                                                   "status details cannot carry it"));
  }
  absl::StatusOr<int> code = Code(request);
  if (!code.ok()) return code.status();
  // google.rpc.Status{code = 1, message = 2, details = 3 (Any{type_url = 1, value = 2})}.
  std::string out;
  out.push_back(0x08);
  for (uint64_t v = static_cast<uint32_t>(*code); ; v >>= 7) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      break;
    }
    out.push_back(static_cast<char>(v | 0x80));
  }
  if (!message.empty()) AppendBytesField(2, message, &out);
  for (const auto& [type_url, detail] : details) {
    absl::StatusOr<std::string> value = detail.Render(request);
    if (!value.ok()) return value.status();
    std::string any;
    AppendBytesField(1, type_url, &any);
    AppendBytesField(2, *value, &any);
    AppendBytesField(3, any, &out);
  }
  return out;
}

absl::StatusOr<int> ResponseStatus::Code(const Request& request) const {
  if (!code_template) return code;
  std::string text = code_template->Render(request);
  int rendered = StatusCodeFromName(text);
  if (rendered < 0) {
    return absl::InvalidArgumentError(absl::StrCat("the status code rendered ", QuoteAtMost(text),
                                                   ", not a status code name or number 0-16"));
  }
  return rendered;
}

std::optional<ResponseStatus> CompileStatus(const json& spec, const ResponseContext& context,
                                            const std::string& pointer) {
  ResponseStatus out;
  std::string error;
  out.message = *Template::Compile("", nullptr, &error);
  if (spec.is_null()) return out;
  bool ok = true;
  auto fail = [&](const std::string& at, const std::string& message) {
    context.diagnostics->Add(context.file, at, message);
    ok = false;
  };
  if (!spec.is_object()) {
    fail(pointer, "expected an object {\"code\": ..., \"message\": ..., \"details\": [...]}");
    return std::nullopt;
  }
  for (const auto& [key, value] : spec.items()) {
    if (key != "code" && key != "message" && key != "details") {
      std::string hint = Schema::Closest(key, {"code", "message", "details"});
      fail(JoinPointer(pointer, key),
           absl::StrCat("unknown field \"", key, "\" in a status",
                        hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)")));
    }
  }
  if (spec.contains("code") && spec["code"].is_string() &&
      Template::Contains(spec["code"].get_ref<const std::string&>())) {
    if (auto t = Template::Compile(spec["code"].get<std::string>(), context.request_type, &error)) {
      out.code_template = std::move(*t);
    } else {
      fail(JoinPointer(pointer, "code"), error);
    }
  } else if (spec.contains("code")) {
    const json& code = spec["code"];
    out.code = code.is_string()  ? StatusCodeFromName(code.get<std::string>())
               : code.is_number_integer() ? (code.get<int64_t>() >= 0 && code.get<int64_t>() <= 16
                                                 ? static_cast<int>(code.get<int64_t>())
                                                 : -1)
                                          : -1;
    if (out.code < 0) {
      std::vector<std::string> names(std::begin(kCodeNames), std::end(kCodeNames));
      std::string hint =
          code.is_string() ? Schema::Closest(code.get<std::string>(), names) : std::string();
      fail(JoinPointer(pointer, "code"),
           absl::StrCat("unknown status code ", code.dump(), ": expected a name like ",
                        "\"NOT_FOUND\" or a number 0-16",
                        hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)")));
    }
  }
  if (spec.contains("message")) {
    const json* message = TextToSend(spec["message"], context, JoinPointer(pointer, "message"));
    if (message == nullptr) {
      ok = false;  // TextToSend said why
    } else if (!message->is_string()) {
      fail(JoinPointer(pointer, "message"), "expected a string");
    } else if (auto t = Template::Compile(message->get<std::string>(),
                                          context.request_type, &error)) {
      out.message = std::move(*t);
    } else {
      fail(JoinPointer(pointer, "message"), error);
    }
  }
  if (spec.contains("details")) {
    const json& details = spec["details"];
    std::string at = JoinPointer(pointer, "details");
    if (!details.is_array()) {
      fail(at, "expected an array of google.protobuf.Any in JSON form");
      return std::nullopt;
    }
    for (size_t i = 0; i < details.size(); ++i) {
      std::string detail_at = JoinPointer(at, i);
      const json& any = details[i];
      if (!any.is_object() || !any.contains("@type") || !any["@type"].is_string()) {
        fail(detail_at, "expected an object with \"@type\": \"type.googleapis.com/NAME\"");
        continue;
      }
      std::string type_url = any["@type"].get<std::string>();
      std::string name = type_url.substr(type_url.rfind('/') + 1);
      const pb::Descriptor* type = context.schema->FindMessage(name);
      if (type == nullptr) {
        fail(JoinPointer(detail_at, "@type"),
             absl::StrCat("no message ", name, " in the schema or google.rpc"));
        continue;
      }
      json body = any;
      body.erase("@type");
      // Well-known types with a JSON form of their own carry it under "value".
      if (HasScalarJsonForm(type) && body.contains("value")) body = json(body["value"]);
      if (auto message = ResponseMessage::Compile(body, type, context, detail_at)) {
        out.details.emplace_back(type_url, std::move(*message));
      } else {
        ok = false;
      }
    }
  }
  if (out.code == 0 && !out.code_template && !out.details.empty()) {
    fail(JoinPointer(pointer, "details"), "details need a non-OK status code");
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace understudy
