#include "src/interaction_loader.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/value.h"

namespace understudy {
namespace {

// Below this many interactions a file compiles on one thread: starting threads costs more.
constexpr size_t kParallelFrom = 64;

namespace pb = google::protobuf;
using json = nlohmann::json;

class Loader {
 public:
  Loader(const Schema& schema, std::string file, Diagnostics* diagnostics)
      : schema_(schema), file_(std::move(file)), diagnostics_(diagnostics),
        before_(diagnostics->size()) {}

  // `text` (optional) is `spec` as text already: kept as the source instead of a new one.
  std::unique_ptr<Interaction> Compile(const json& spec, const std::string& pointer,
                                       std::shared_ptr<const std::string> text = nullptr);

 private:
  bool ok() const { return diagnostics_->size() == before_; }
  void Error(const std::string& pointer, const std::string& message) {
    diagnostics_->Add(file_, pointer, message);
  }
  // Reports keys of `object` not in `allowed`, with a did-you-mean.
  void CheckKeys(const json& object, const std::vector<std::string>& allowed,
                 const std::string& pointer, const std::string& what);
  bool ReadInt(const json& spec, const char* key, const std::string& pointer, int64_t min,
               int64_t* out, int64_t max = INT64_MAX);
  bool ReadString(const json& spec, const char* key, const std::string& pointer, std::string* out);
  void CompileRequest(const json& request, const std::string& pointer, Interaction* out);
  // Reports proto2 required fields of `type` that the request spec leaves out (the verifier
  // sends what the spec lists: protobuf would refuse to serialize it).
  void CheckRequired(const json& spec, const pb::Descriptor* type, const std::string& pointer);
  // `value` of `field` (an array, map or single value, or a matcher of one).
  void CheckRequiredIn(const json& value, const pb::FieldDescriptor* field,
                       const std::string& pointer);
  void CompileResponse(const json& response, const std::string& pointer, Interaction* out);
  void CompileConversation(const json& steps, const std::string& pointer, Interaction* out);
  std::optional<ServerMessage> CompileServerMessage(const json& spec, const char* body_key,
                                                    const std::string& pointer,
                                                    const Interaction& interaction);
  ResponseContext Context(const Interaction& i) const {
    return {&schema_, file_, diagnostics_, i.method->input_type()};
  }
  // The message a response body sends: the body itself when it holds no matcher (most do, and
  // need no copy), else its examples, built in `storage`.
  const json& ExampleBody(const json& body, const std::string& pointer, json* storage) {
    if (!HasMatcherObjects(body)) return body;
    *storage = MatcherCompiler(&schema_, file_, diagnostics_).ExampleOf(body, pointer);
    return *storage;
  }

  const Schema& schema_;
  std::string file_;
  Diagnostics* diagnostics_;
  size_t before_;
};

void Loader::CheckKeys(const json& object, const std::vector<std::string>& allowed,
                       const std::string& pointer, const std::string& what) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string hint = Schema::Closest(key, allowed);
    Error(JoinPointer(pointer, key),
          absl::StrCat("unknown field \"", key, "\" in ", what,
                       hint.empty() ? absl::StrCat(" (expected one of: ", absl::StrJoin(allowed, ", "), ")")
                                    : absl::StrCat(" (did you mean \"", hint, "\"?)")));
  }
}

bool Loader::ReadInt(const json& spec, const char* key, const std::string& pointer, int64_t min,
                     int64_t* out, int64_t max) {
  if (!spec.contains(key)) return false;
  const json& v = spec[key];
  // An unsigned value above INT64_MAX would read as a negative int64.
  const bool in_range = v.is_number_integer() &&
                        !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX) &&
                        v.get<int64_t>() >= min && v.get<int64_t>() <= max;
  if (!in_range) {
    std::string range = min == INT64_MIN ? "" : absl::StrCat(" >= ", min);
    if (max != INT64_MAX) range = absl::StrCat(" from ", min, " to ", max);
    Error(JoinPointer(pointer, key),
          absl::StrCat("expected an integer", range, ", got ", v.dump()));
    return false;
  }
  *out = v.get<int64_t>();
  return true;
}

bool Loader::ReadString(const json& spec, const char* key, const std::string& pointer,
                        std::string* out) {
  if (!spec.contains(key)) return false;
  const json& v = spec[key];
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
    Error(JoinPointer(pointer, key), absl::StrCat("expected a non-empty string, got ", v.dump()));
    return false;
  }
  *out = v.get<std::string>();
  return true;
}

std::unique_ptr<Interaction> Loader::Compile(const json& spec, const std::string& pointer,
                                             std::shared_ptr<const std::string> text) {
  if (!spec.is_object()) {
    Error(pointer, absl::StrCat("expected an interaction object, got ", spec.type_name()));
    return nullptr;
  }
  auto out = std::make_unique<Interaction>();
  out->file = file_;
  out->pointer = pointer;
  out->source_text =
      text != nullptr ? std::move(text) : std::make_shared<const std::string>(spec.dump());
  CheckKeys(spec,
            {"name", "description", "method", "request", "response", "conversation", "priority",
             "times", "scenario", "whenState", "setState", "given"},
            pointer, "an interaction");
  if (!ReadString(spec, "name", pointer, &out->name) && !spec.contains("name")) {
    Error(JoinPointer(pointer, "name"), "missing: every interaction needs a \"name\"");
  }
  std::string method;
  if (!ReadString(spec, "method", pointer, &method)) {
    if (!spec.contains("method")) {
      Error(JoinPointer(pointer, "method"),
            "missing: every interaction needs a \"method\" like \"package.Service/Method\"");
    }
    return nullptr;
  }
  std::string at = JoinPointer(pointer, "method");
  size_t slash = method.find('/', method[0] == '/' ? 1 : 0);
  if (slash == std::string::npos) {
    Error(at, absl::StrCat("\"", method, "\" is not \"package.Service/Method\""));
    return nullptr;
  }
  std::string service_name = method.substr(method[0] == '/' ? 1 : 0, slash - (method[0] == '/'));
  const pb::ServiceDescriptor* service = schema_.FindService(service_name);
  if (service == nullptr) {
    std::vector<std::string> names;
    for (const auto* s : schema_.services()) names.push_back(s->full_name());
    std::string hint = Schema::Closest(service_name, names);
    Error(at, absl::StrCat("no service ", service_name, " in the schema",
                           hint.empty() ? absl::StrCat(" (services: ", absl::StrJoin(names, ", "), ")")
                                        : absl::StrCat(" (did you mean \"", hint, "\"?)")));
    return nullptr;
  }
  std::string method_name = method.substr(slash + 1);
  out->method = service->FindMethodByName(method_name);
  if (out->method == nullptr) {
    std::vector<std::string> names;
    for (int i = 0; i < service->method_count(); ++i) names.push_back(service->method(i)->name());
    std::string hint = Schema::Closest(method_name, names);
    Error(at, absl::StrCat("no method \"", method_name, "\" in service ", service->full_name(),
                           hint.empty() ? "" : absl::StrCat(" (did you mean \"", hint, "\"?)")));
    return nullptr;
  }
  out->kind = KindOf(out->method);

  ReadInt(spec, "priority", pointer, INT64_MIN, &out->priority);
  ReadInt(spec, "times", pointer, 1, &out->times);
  ReadString(spec, "scenario", pointer, &out->scenario);
  ReadString(spec, "whenState", pointer, &out->when_state);
  ReadString(spec, "setState", pointer, &out->set_state);
  if (out->scenario.empty() && (spec.contains("whenState") || spec.contains("setState"))) {
    Error(JoinPointer(pointer, spec.contains("whenState") ? "whenState" : "setState"),
          "needs a \"scenario\" to belong to");
  }
  if (spec.contains("description") && !spec["description"].is_string()) {
    Error(JoinPointer(pointer, "description"), "expected a string");
  }
  if (spec.contains("given")) {
    const json& given = spec["given"];
    bool valid = given.is_array();
    for (const auto& g : given) valid = valid && g.is_string();
    if (valid) {
      for (const auto& g : given) out->given.push_back(g.get<std::string>());
    } else {
      Error(JoinPointer(pointer, "given"), "expected an array of provider state names");
    }
  }

  static const json kEmpty = json::object();
  const json& request = spec.contains("request") ? spec["request"] : kEmpty;
  const json& response = spec.contains("response") ? spec["response"] : kEmpty;
  CompileRequest(request, JoinPointer(pointer, "request"), out.get());
  CompileResponse(response, JoinPointer(pointer, "response"), out.get());
  if (spec.contains("conversation")) {
    if (out->kind != RpcKind::kBidiStreaming) {
      Error(JoinPointer(pointer, "conversation"),
            absl::StrCat(MethodName(out->method), " is ", RpcKindName(out->kind),
                         "; \"conversation\" is for bidirectional streaming methods"));
    } else {
      CompileConversation(spec["conversation"], JoinPointer(pointer, "conversation"), out.get());
    }
  }
  if (!ok()) return nullptr;

  out->specificity = out->body ? out->body->Specificity() : 0;
  for (const auto& m : out->metadata) out->specificity += m.matcher->Specificity();
  for (const auto& m : out->stream) out->specificity += m->Specificity();
  for (const auto& step : out->conversation) {
    if (step.client) out->specificity += step.client->Specificity();
  }
  return out;
}

void Loader::CheckRequired(const json& spec, const pb::Descriptor* type,
                           const std::string& pointer) {
  if (!spec.is_object() || type->file()->package() == "google.protobuf") return;
  if (IsMatcherObject(spec)) {
    // Only matchers that stand for a whole message are looked into; $any, $type, ... say
    // nothing of its fields.
    for (const char* key : {"$exact", "$example", "$eq"}) {
      if (spec.contains(key)) CheckRequired(spec[key], type, JoinPointer(pointer, key));
    }
    if (spec.contains("$oneOf") && spec["$oneOf"].is_array()) {
      const json& alternatives = spec["$oneOf"];
      for (size_t i = 0; i < alternatives.size(); ++i) {
        CheckRequired(alternatives[i], type, JoinPointer(JoinPointer(pointer, "$oneOf"), i));
      }
    }
    return;
  }
  std::vector<std::string> missing;
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* field = type->field(i);
    const bool listed = spec.contains(field->json_name()) || spec.contains(field->name());
    if (field->is_required() && !listed) missing.push_back(absl::StrCat("\"", field->json_name(), "\""));
    if (!listed || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string& key = spec.contains(field->json_name()) ? field->json_name() : field->name();
    CheckRequiredIn(spec[key], field, JoinPointer(pointer, key));
  }
  if (!missing.empty()) {
    Error(pointer, absl::StrCat("missing required field", missing.size() == 1 ? " " : "s ",
                                absl::StrJoin(missing, ", "), " of ", type->full_name(),
                                " (proto2 required: every message has ",
                                missing.size() == 1 ? "it" : "them",
                                "; the verifier could not send this request)"));
  }
}

void Loader::CheckRequiredIn(const json& value, const pb::FieldDescriptor* field,
                             const std::string& pointer) {
  if (field->is_map()) {
    const pb::FieldDescriptor* map_value = field->message_type()->map_value();
    if (!value.is_object() || IsMatcherObject(value) ||
        map_value->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return;
    }
    for (const auto& [key, element] : value.items()) {
      CheckRequired(element, map_value->message_type(), JoinPointer(pointer, key));
    }
    return;
  }
  const pb::Descriptor* type = field->message_type();
  if (!field->is_repeated()) {
    CheckRequired(value, type, pointer);
    return;
  }
  // A repeated field: its elements, or what its array matchers hold of them.
  auto each = [&](const json& array, const std::string& at) {
    if (!array.is_array()) return;
    for (size_t i = 0; i < array.size(); ++i) CheckRequired(array[i], type, JoinPointer(at, i));
  };
  if (value.is_array()) {
    each(value, pointer);
  } else if (IsMatcherObject(value)) {
    for (const char* key : {"$unordered", "$exact", "$example", "$eq"}) {
      if (value.contains(key)) each(value[key], JoinPointer(pointer, key));
    }
    for (const char* key : {"$each", "$contains"}) {
      if (value.contains(key)) CheckRequired(value[key], type, JoinPointer(pointer, key));
    }
  }
}

void Loader::CompileRequest(const json& request, const std::string& pointer, Interaction* out) {
  if (!request.is_object()) {
    Error(pointer, "expected an object with \"metadata\", \"body\" or \"stream\"");
    return;
  }
  CheckKeys(request, {"metadata", "body", "stream"}, pointer, "a request");
  MatcherCompiler compiler(&schema_, file_, diagnostics_);
  const pb::Descriptor* type = out->method->input_type();
  const bool client_streams = out->method->client_streaming();
  const std::string name = MethodName(out->method);
  if (request.contains("metadata")) {
    const json& metadata = request["metadata"];
    std::string at = JoinPointer(pointer, "metadata");
    if (!metadata.is_object()) {
      Error(at, "expected an object of header name to value or matcher");
    } else {
      for (const auto& [key, value] : metadata.items()) {
        std::string key_at = JoinPointer(at, key);
        std::string lower = absl::AsciiStrToLower(key);
        if (lower != key) {
          Error(key_at, absl::StrCat("header names are lower case: \"", lower, "\""));
          continue;
        }
        bool binary = key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
        json spec = value;
        if (binary && spec.is_string()) {
          // Received bytes are matched in padded base64: write the literal the same way, so
          // "AQ" and "AQ==" both match the byte 0x01.
          std::string raw;
          if (!DecodeBinaryMetadata(spec.get<std::string>(), &raw)) {
            Error(key_at, "a -bin header takes base64");
            continue;
          }
          spec = absl::Base64Escape(raw);
        }
        auto m = compiler.Compile(spec, Target::Text(), key_at);
        if (m != nullptr) out->metadata.push_back({key, std::move(m), binary});
      }
    }
  }
  if (request.contains("body")) {
    std::string at = JoinPointer(pointer, "body");
    if (client_streams) {
      Error(at, absl::StrCat(name, " is ", RpcKindName(out->kind), ": ",
                             out->kind == RpcKind::kBidiStreaming
                                 ? "use \"conversation\" for its messages"
                                 : "use \"stream\", one entry per client message"));
    } else {
      out->body = compiler.Compile(request["body"], Target::Message(type), at);
      if (out->body != nullptr) CheckRequired(request["body"], type, at);
    }
  }
  if (request.contains("stream")) {
    std::string at = JoinPointer(pointer, "stream");
    const json& stream = request["stream"];
    if (!client_streams || out->kind == RpcKind::kBidiStreaming) {
      Error(at, absl::StrCat(name, " is ", RpcKindName(out->kind), ": ",
                             client_streams ? "use \"conversation\" for its messages"
                                            : "its request is one message: use \"body\""));
    } else if (!stream.is_array()) {
      Error(at, "expected an array, one entry per client message");
    } else {
      out->has_stream = true;
      for (size_t i = 0; i < stream.size(); ++i) {
        out->stream.push_back(compiler.Compile(stream[i], Target::Message(type), JoinPointer(at, i)));
        if (out->stream.back() != nullptr) CheckRequired(stream[i], type, JoinPointer(at, i));
      }
    }
  }
}

std::optional<ServerMessage> Loader::CompileServerMessage(const json& spec, const char* body_key,
                                                          const std::string& pointer,
                                                          const Interaction& interaction) {
  if (!spec.is_object()) {
    Error(pointer, absl::StrCat("expected an object {\"", body_key, "\": ..., \"delayMs\": N}"));
    return std::nullopt;
  }
  CheckKeys(spec, {body_key, "delayMs"}, pointer, "a message");
  ServerMessage out;
  ReadInt(spec, "delayMs", pointer, 0, &out.delay_ms, kMaxDelayMs);
  if (!spec.contains(body_key)) {
    Error(JoinPointer(pointer, body_key), "missing: the message to send");
    return std::nullopt;
  }
  std::string at = JoinPointer(pointer, body_key);
  json examples;
  auto message =
      ResponseMessage::Compile(ExampleBody(spec[body_key], at, &examples),
                               interaction.method->output_type(), Context(interaction), at);
  if (!message) return std::nullopt;
  out.message = std::move(*message);
  return out;
}

void Loader::CompileResponse(const json& response, const std::string& pointer, Interaction* out) {
  if (!response.is_object()) {
    Error(pointer, "expected an object with \"body\", \"stream\", \"status\", \"headers\", ...");
    return;
  }
  CheckKeys(response, {"headers", "trailers", "body", "stream", "status", "delayMs"}, pointer,
            "a response");
  ResponseContext context = Context(*out);
  const pb::Descriptor* type = out->method->output_type();
  const bool server_streams = out->method->server_streaming();
  const std::string name = MethodName(out->method);
  if (response.contains("headers")) {
    out->headers = CompileMetadata(response["headers"], context, JoinPointer(pointer, "headers"));
  }
  if (response.contains("trailers")) {
    out->trailers = CompileMetadata(response["trailers"], context, JoinPointer(pointer, "trailers"));
  }
  const bool status_ok = [&] {
    auto status = CompileStatus(response.contains("status") ? response["status"] : json(), context,
                                JoinPointer(pointer, "status"));
    if (status) out->status = std::move(*status);
    return status.has_value();
  }();
  ReadInt(response, "delayMs", pointer, 0, &out->delay_ms, kMaxDelayMs);
  if (response.contains("body")) {
    std::string at = JoinPointer(pointer, "body");
    if (server_streams) {
      Error(at, absl::StrCat(name, " is ", RpcKindName(out->kind), ": ",
                             out->kind == RpcKind::kBidiStreaming
                                 ? "use \"conversation\" for its messages"
                                 : "use \"stream\": [{\"body\": ...}, ...]"));
    } else if (out->status.code != 0) {
      Error(at, "a non-OK status sends no body: remove one of them");
    } else {
      json examples;
      if (auto m = ResponseMessage::Compile(ExampleBody(response["body"], at, &examples), type,
                                            context, at)) {
        out->messages.push_back({std::move(*m), 0});
      }
    }
  } else if (!server_streams && out->status.code == 0 && status_ok) {
    // An OK unary answer with no body sends the empty message.
    ResponseContext plain = context;
    if (auto m = ResponseMessage::Compile(json::object(), type, plain, pointer)) {
      out->messages.push_back({std::move(*m), 0});
    }
  }
  if (response.contains("stream")) {
    std::string at = JoinPointer(pointer, "stream");
    const json& stream = response["stream"];
    if (!server_streams || out->kind == RpcKind::kBidiStreaming) {
      Error(at, absl::StrCat(name, " is ", RpcKindName(out->kind), ": ",
                             server_streams ? "use \"conversation\" for its messages"
                                            : "its response is one message: use \"body\""));
    } else if (!stream.is_array()) {
      Error(at, "expected an array of {\"body\": ..., \"delayMs\": N}");
    } else {
      for (size_t i = 0; i < stream.size(); ++i) {
        auto m = CompileServerMessage(stream[i], "body", JoinPointer(at, i), *out);
        if (m) out->messages.push_back(std::move(*m));
      }
    }
  }
}

void Loader::CompileConversation(const json& steps, const std::string& pointer, Interaction* out) {
  if (!steps.is_array()) {
    Error(pointer, "expected an array of {\"client\": ...} and {\"server\": ...} steps");
    return;
  }
  MatcherCompiler compiler(&schema_, file_, diagnostics_);
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& step = steps[i];
    std::string at = JoinPointer(pointer, i);
    ConversationStep compiled;
    compiled.pointer = at;
    if (step.is_object() && step.contains("client") && !step.contains("server")) {
      CheckKeys(step, {"client"}, at, "a client step");
      compiled.client = compiler.Compile(step["client"], Target::Message(out->method->input_type()),
                                         JoinPointer(at, "client"));
      if (compiled.client != nullptr) {
        CheckRequired(step["client"], out->method->input_type(), JoinPointer(at, "client"));
      }
    } else if (step.is_object() && step.contains("server") && !step.contains("client")) {
      compiled.server = CompileServerMessage(step, "server", at, *out);
    } else {
      Error(at, "expected a step {\"client\": BODY} or {\"server\": BODY, \"delayMs\": N}");
      continue;
    }
    out->conversation.push_back(std::move(compiled));
  }
}

}  // namespace

namespace {

// Builds the document from nlohmann's SAX events, as json::parse does, and also refuses what
// json::parse lets through: a key an object already has (the last would silently win) and
// nesting deeper than kMaxJsonDepth. One pass, no more work per value than json::parse.
class StrictDocument {
 public:
  StrictDocument(json* root, const std::string& file, Diagnostics* diagnostics)
      : root_(root), file_(file), diagnostics_(diagnostics) {}

  bool null() { return Put(json(nullptr)) != nullptr; }
  bool boolean(bool v) { return Put(json(v)) != nullptr; }
  bool number_integer(json::number_integer_t v) { return Put(json(v)) != nullptr; }
  bool number_unsigned(json::number_unsigned_t v) { return Put(json(v)) != nullptr; }
  bool number_float(json::number_float_t v, const json::string_t&) {
    return Put(json(v)) != nullptr;
  }
  bool string(json::string_t& v) { return Put(json(std::move(v))) != nullptr; }
  bool binary(json::binary_t& v) { return Put(json::binary(std::move(v))) != nullptr; }
  bool start_object(std::size_t) { return Open(json::object()); }
  bool start_array(std::size_t) { return Open(json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(json::string_t& key) {
    Frame& top = stack_.back();
    auto [it, inserted] = top.node->get_ptr<json::object_t*>()->try_emplace(key, nullptr);
    if (!inserted) {
      diagnostics_->Add(file_, JoinPointer(PointerOfTop(), key),
                        absl::StrCat("duplicate key \"", key,
                                     "\": this object has it already (one of them must go)"));
      duplicates_ = true;
      it->second = nullptr;  // the second value is parsed into the same slot, then dropped
    }
    top.key = &it->first;
    top.slot = &it->second;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    std::string what = e.what();
    size_t bracket = what.find("] ");
    diagnostics_->Add(file_, "",
                      absl::StrCat("invalid JSON: ", bracket == std::string::npos
                                                         ? what
                                                         : what.substr(bracket + 2)));
    return false;
  }

  // False when the text is not a document the loader may use (the problem is reported).
  bool ok() const { return !duplicates_; }

 private:
  struct Frame {
    json* node;
    const std::string* key = nullptr;  // objects: the key being read
    json* slot = nullptr;              // objects: its value
  };

  json* Put(json value) {
    if (stack_.empty()) {
      *root_ = std::move(value);
      return root_;
    }
    Frame& top = stack_.back();
    if (top.node->is_array()) {
      json::array_t& array = *top.node->get_ptr<json::array_t*>();
      array.push_back(std::move(value));
      return &array.back();  // stable while it is open: the array grows only after it closes
    }
    *top.slot = std::move(value);
    return top.slot;
  }
  bool Open(json container) {
    if (stack_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
      diagnostics_->Add(file_, "",
                        absl::StrCat("JSON nested deeper than ", kMaxJsonDepth, " levels"));
      return false;
    }
    json* node = Put(std::move(container));
    stack_.push_back({node});
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }
  // The pointer of the innermost open container.
  std::string PointerOfTop() const {
    std::string pointer;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      pointer = f.node->is_array() ? JoinPointer(pointer, f.node->size() - 1)
                                   : JoinPointer(pointer, *f.key);
    }
    return pointer;
  }

  json* root_;
  const std::string& file_;
  Diagnostics* diagnostics_;
  std::vector<Frame> stack_;
  bool duplicates_ = false;
};

}  // namespace

json ParseJsonText(const std::string& text, const std::string& file, Diagnostics* diagnostics) {
  if (text.size() > kMaxFileBytes) {
    diagnostics->Add(file, "", absl::StrCat("file is ", text.size(), " bytes; the limit is ",
                                            kMaxFileBytes));
    return json(json::value_t::discarded);
  }
  json root;
  StrictDocument document(&root, file, diagnostics);
  try {
    if (json::sax_parse(text, &document) && document.ok()) return root;
  } catch (const json::exception& e) {
    diagnostics->Add(file, "", absl::StrCat("invalid JSON: ", e.what()));
  }
  return json(json::value_t::discarded);
}

std::vector<std::unique_ptr<Interaction>> CompileFile(const json& file_json, const std::string& file,
                                                      const Schema& schema,
                                                      Diagnostics* diagnostics) {
  std::vector<std::unique_ptr<Interaction>> out;
  if (!file_json.is_object() || !file_json.contains("interactions")) {
    diagnostics->Add(file, "", "expected an object {\"interactions\": [...]}");
    return out;
  }
  for (const auto& [key, value] : file_json.items()) {
    if (key != "interactions") {
      std::string hint = Schema::Closest(key, {"interactions"});
      diagnostics->Add(file, JoinPointer("", key),
                       absl::StrCat("unknown field \"", key, "\"",
                                    hint.empty() ? "" : " (did you mean \"interactions\"?)"));
    }
  }
  const json& list = file_json["interactions"];
  if (!list.is_array()) {
    diagnostics->Add(file, "/interactions", "expected an array of interactions");
    return out;
  }
  // Interactions compile independently of each other: a large file compiles on every core, each
  // part into its own diagnostics. The merge below goes in file order, so the result and the
  // order of the problems are those of compiling one by one.
  const size_t n = list.size();
  std::vector<std::unique_ptr<Interaction>> compiled(n);
  const size_t workers =
      n < kParallelFrom ? 1 : std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
  const size_t chunk = (n + workers - 1) / workers;
  std::vector<Diagnostics> parts(workers);
  std::vector<size_t> ends(n);  // diagnostics of interaction i end at ends[i] in its part
  auto compile = [&](size_t w) {
    for (size_t i = w * chunk; i < std::min(n, (w + 1) * chunk); ++i) {
      compiled[i] =
          CompileInteraction(list[i], file, JoinPointer("/interactions", i), schema, &parts[w]);
      ends[i] = parts[w].size();
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(compile, w);
  compile(0);
  for (auto& thread : threads) thread.join();

  std::map<std::string, size_t> names;
  for (size_t i = 0; i < n; ++i) {
    const Diagnostics& part = parts[i / chunk];
    for (size_t d = i % chunk == 0 ? 0 : ends[i - 1]; d < ends[i]; ++d) {
      const Diagnostic& item = part.items()[d];
      diagnostics->Add(item.file, item.pointer, item.message);
    }
    std::unique_ptr<Interaction>& interaction = compiled[i];
    if (interaction == nullptr) continue;
    auto [it, inserted] = names.emplace(interaction->name, i);
    if (!inserted) {
      diagnostics->Add(file, JoinPointer(JoinPointer("/interactions", i), "name"),
                       absl::StrCat("duplicate name \"", interaction->name, "\": /interactions/",
                                    it->second, " has it already"));
      continue;
    }
    out.push_back(std::move(interaction));
  }
  return out;
}

std::unique_ptr<Interaction> CompileInteraction(const json& spec, const std::string& file,
                                                const std::string& pointer, const Schema& schema,
                                                Diagnostics* diagnostics) {
  return Loader(schema, file, diagnostics).Compile(spec, pointer);
}

std::unique_ptr<Interaction> CompileInteraction(std::shared_ptr<const std::string> source_text,
                                                const std::string& file, const std::string& pointer,
                                                const Schema& schema, Diagnostics* diagnostics) {
  json spec = json::parse(*source_text);
  return Loader(schema, file, diagnostics).Compile(spec, pointer, std::move(source_text));
}

}  // namespace understudy
