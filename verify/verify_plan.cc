// VerifyCase::Plan: from an interaction to the request to send and the answer to expect.
#include <functional>
#include <optional>
#include <set>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/json_message.h"
#include "src/request.h"
#include "src/response.h"
#include "src/template.h"
#include "verify/expectations.h"
#include "verify/verify_case.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;
using json = nlohmann::json;

// Problems of one interaction, reported at pointers relative to it.
struct Problems {
  const Interaction& interaction;
  Diagnostics* diagnostics;
  bool ok = true;
  void Add(const std::string& pointer, const std::string& message) {
    diagnostics->Add(interaction.file, interaction.pointer + pointer, message);
    ok = false;
  }
};

// The value the verifier sends for a request spec; a matcher without one is a problem.
std::optional<json> Concrete(const json& spec, const std::string& pointer, Problems* problems) {
  return ConcreteValue(spec, pointer, ConcreteMode::kStrict, [problems](const std::string& at) {
    problems->Add(at, "the verifier sends this request, but cannot choose a value for this "
                      "matcher: add \"$example\": VALUE");
  });
}

std::unique_ptr<pb::Message> ParseRequest(const Schema& schema, const pb::Descriptor* type,
                                          const json& spec, const std::string& pointer,
                                          Problems* problems) {
  auto value = Concrete(spec, pointer, problems);
  auto message = schema.NewMessage(type);
  if (!value.has_value()) return message;
  auto status = pb::util::JsonStringToMessage(value->dump(), message.get());
  if (!status.ok()) {
    problems->Add(pointer, absl::StrCat("the request to send is not a valid ", type->full_name(),
                                        ": ", std::string(status.message())));
  } else if (!message->IsInitialized()) {
    // E.g. {"$any": true} on a required field: the loader saw it listed, but nothing is sent.
    problems->Add(pointer, absl::StrCat("the request to send is not complete: ",
                                        MissingRequiredFields(*message)));
  }
  return message;
}

// A -bin header with a template sends the rendered bytes (src/response.h): render those
// values first, as the base64 the expectations compare received bytes in.
void RenderBinaryHeaderTemplates(json* headers, const pb::Descriptor* request_type,
                                 const Request& request, const std::string& pointer,
                                 Problems* problems) {
  if (!headers->is_object()) return;
  for (auto& [key, value] : headers->items()) {
    if (!IsBinaryMetadataKey(key) || !value.is_string() ||
        !Template::Contains(value.get_ref<const std::string&>())) {
      continue;
    }
    std::string error;
    auto compiled = Template::Compile(value.get<std::string>(), request_type, &error);
    if (!compiled.has_value()) {
      problems->Add(JoinPointer(pointer, key), error);
      continue;
    }
    value = absl::Base64Escape(compiled->Render(request));
  }
}

// Renders the templates in the strings of a response spec from the request to send.
void RenderTemplates(json* spec, const pb::Descriptor* request_type, const Request& request,
                     const std::string& pointer, Problems* problems) {
  if (spec->is_string()) {
    const std::string& text = spec->get_ref<const std::string&>();
    if (!Template::Contains(text)) return;
    std::string error;
    auto compiled = Template::Compile(text, request_type, &error);
    if (!compiled.has_value()) {
      problems->Add(pointer, error);
      return;
    }
    *spec = compiled->Render(request);
  } else if (spec->is_array()) {
    for (size_t i = 0; i < spec->size(); ++i) {
      RenderTemplates(&(*spec)[i], request_type, request, JoinPointer(pointer, i), problems);
    }
  } else if (spec->is_object()) {
    for (auto& [key, value] : spec->items()) {
      if (key == "$regex") continue;
      RenderTemplates(&value, request_type, request, JoinPointer(pointer, key), problems);
    }
  }
}

}  // namespace

std::optional<json> ConcreteValue(const json& spec, const std::string& pointer, ConcreteMode mode,
                                  const std::function<void(const std::string&)>& unresolved) {
  auto recurse = [&](const json& inner, const std::string& at) {
    return ConcreteValue(inner, at, mode, unresolved);
  };
  if (spec.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < spec.size(); ++i) {
      auto element = recurse(spec[i], JoinPointer(pointer, i));
      if (element.has_value()) out.push_back(std::move(*element));
    }
    return out;
  }
  if (!spec.is_object()) return spec;
  if (!IsMatcherObject(spec)) {
    json out = json::object();
    for (const auto& [key, value] : spec.items()) {
      auto field = recurse(value, JoinPointer(pointer, key));
      if (field.has_value()) out[key] = std::move(*field);
    }
    return out;
  }
  if (spec.contains("$example")) return spec.at("$example");
  if (spec.contains("$eq")) return spec.at("$eq");
  if (spec.contains("$exact")) return recurse(spec.at("$exact"), JoinPointer(pointer, "$exact"));
  if (spec.contains("$unordered")) {
    return recurse(spec.at("$unordered"), JoinPointer(pointer, "$unordered"));
  }
  if (spec.contains("$any") || spec.contains("$absent")) return std::nullopt;
  if (spec.contains("$oneOf") && spec.at("$oneOf").is_array() && !spec.at("$oneOf").empty()) {
    return recurse(spec.at("$oneOf").at(0), JoinPointer(pointer, "$oneOf/0"));
  }
  if (spec.contains("$gte")) return spec.at("$gte");
  if (spec.contains("$lte")) return spec.at("$lte");
  if (mode == ConcreteMode::kLenient) {
    // Near enough for a seed, which need not match anything.
    for (const char* key : {"$gt", "$lt", "$contains"}) {
      if (spec.contains(key) && !spec.at(key).is_object()) return spec.at(key);
    }
    return std::nullopt;
  }
  if (unresolved) unresolved(pointer);
  return std::nullopt;
}

std::string MetadataProblem(const std::string& key, const std::string& value) {
  if (absl::StartsWith(key, "grpc-")) return "grpc- metadata keys are reserved to gRPC";
  if (!IsSendableMetadataKey(key)) {
    return absl::StrCat("metadata key \"", key, "\" may only hold a-z 0-9 - _ .");
  }
  if (IsBinaryMetadataKey(key)) return "";
  for (unsigned char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return absl::StrCat("the value of \"", key, "\" may only hold printable ASCII (use a -bin ",
                          "key for bytes)");
    }
  }
  return "";
}

namespace {

std::vector<ExpectedMetadata> CompileMetadataExpectations(const json& spec,
                                                          const std::string& pointer,
                                                          MatcherCompiler* compiler,
                                                          const Interaction& interaction) {
  std::vector<ExpectedMetadata> out;
  if (!spec.is_object()) return out;
  for (const auto& [key, value] : spec.items()) {
    std::string at = JoinPointer(pointer, key);
    const bool binary = IsBinaryMetadataKey(key);
    json expected = value;
    std::string raw;
    // Received bytes are compared in padded standard base64: write the file's literal so too.
    if (binary && value.is_string() && DecodeBinaryMetadata(value.get<std::string>(), &raw)) {
      expected = absl::Base64Escape(raw);
    }
    auto matcher = compiler->Compile(expected, Target::Text(), interaction.pointer + at);
    if (matcher == nullptr) continue;
    out.push_back({absl::AsciiStrToLower(key), std::move(matcher), binary, at});
  }
  return out;
}

void CompileStatusExpectations(const json& spec, const Schema& schema, MatcherCompiler* compiler,
                               const Interaction& interaction,
                               VerifyCase::Expectations* expected, Problems* problems) {
  if (!spec.is_object()) return;
  if (spec.contains("code")) {
    const json& code = spec["code"];
    expected->code = StatusCodeFromName(code.is_string() ? code.get<std::string>() : code.dump());
  }
  if (spec.contains("message")) {
    expected->status_message = compiler->Compile(spec["message"], Target::Text(),
                                                 interaction.pointer + "/response/status/message");
  }
  if (!spec.contains("details") || !spec["details"].is_array()) return;
  const json& details = spec["details"];
  for (size_t i = 0; i < details.size(); ++i) {
    std::string at = JoinPointer("/response/status/details", i);
    const json& detail = details[i];
    if (!detail.is_object() || !detail.contains("@type") || !detail["@type"].is_string()) continue;
    std::string url = detail["@type"].get<std::string>();
    const pb::Descriptor* type = schema.FindMessage(url.substr(url.rfind('/') + 1));
    if (type == nullptr) {
      problems->Add(at + "/@type", absl::StrCat("unknown detail type ", url));
      continue;
    }
    json fields = detail;
    fields.erase("@type");
    auto matcher = compiler->Compile(fields, Target::Message(type), interaction.pointer + at);
    if (matcher != nullptr) expected->details.push_back({type, std::move(matcher), at});
  }
}

// Checks the request the verifier built against the interaction's own request matchers: a
// request the mock would not match cannot verify the provider's side of the interaction.
void CheckAgainstOwnMatchers(const Interaction& interaction, const MetadataPairs& sent_text,
                             const std::vector<std::unique_ptr<pb::Message>>& messages,
                             Problems* problems) {
  auto mismatch = [&](const std::string& pointer, const Mismatch& why) {
    problems->Add(pointer, absl::StrCat("the request the verifier would send does not match this ",
                                        "interaction's own request (", why.ToString(),
                                        "): add an \"$example\" that does"));
  };
  for (const auto& m : interaction.metadata) {
    const std::string* value = nullptr;
    for (const auto& [key, text] : sent_text) {
      if (key == m.key) value = &text;
    }
    Mismatch why;
    Node node = value != nullptr ? Node::OfText(value) : Node{nullptr, nullptr, -1, nullptr};
    if (!m.matcher->Matches(node, &why)) mismatch(JoinPointer("/request/metadata", m.key), why);
  }
  Mismatch why;
  switch (interaction.kind) {
    case RpcKind::kUnary:
    case RpcKind::kServerStreaming:
      if (interaction.body != nullptr && !interaction.body->Matches(Node::OfMessage(messages[0].get()), &why)) {
        mismatch("/request/body", why);
      }
      break;
    case RpcKind::kClientStreaming:
      for (size_t i = 0; interaction.has_stream && i < interaction.stream.size() && i < messages.size(); ++i) {
        if (!interaction.stream[i]->Matches(Node::OfMessage(messages[i].get()), &why)) {
          mismatch(JoinPointer("/request/stream", i), why);
        }
      }
      break;
    case RpcKind::kBidiStreaming: {
      size_t next = 0;
      for (const auto& step : interaction.conversation) {
        if (step.client == nullptr || next >= messages.size()) continue;
        if (!step.client->Matches(Node::OfMessage(messages[next++].get()), &why)) {
          mismatch(step.pointer.substr(interaction.pointer.size()), why);
        }
      }
      break;
    }
  }
}

std::unique_ptr<pb::Message> Clone(const pb::Message& message) {
  std::unique_ptr<pb::Message> copy(message.New());
  copy->CopyFrom(message);
  return copy;
}

}  // namespace

VerifyCase::~VerifyCase() = default;

std::unique_ptr<VerifyCase> VerifyCase::Plan(const Interaction& interaction, const Schema& schema,
                                             const MetadataPairs& headers,
                                             Diagnostics* diagnostics) {
  const size_t problems_before = diagnostics->size();
  Problems problems{interaction, diagnostics};
  auto plan = std::unique_ptr<VerifyCase>(new VerifyCase());
  plan->interaction_ = &interaction;
  plan->schema_ = &schema;
  plan->expected_ = std::make_unique<Expectations>();
  const json source = interaction.Source();
  const json request_spec = source.value("request", json::object());
  const pb::Descriptor* input = interaction.method->input_type();
  const pb::Descriptor* output = interaction.method->output_type();

  // Metadata: as the file writes it (base64 for -bin keys), then --header for the rest.
  MetadataPairs sent_text;
  std::set<std::string> excluded;
  if (request_spec.contains("metadata") && request_spec["metadata"].is_object()) {
    for (const auto& [key, value] : request_spec["metadata"].items()) {
      std::string at = JoinPointer("/request/metadata", key);
      std::optional<json> concrete;
      if (IsMatcherObject(value) && value.contains("$absent")) {
        excluded.insert(key);
        continue;
      }
      const std::string& name = key;  // lambdas cannot capture structured bindings in C++17
      bool from_header = std::any_of(headers.begin(), headers.end(),
                                     [&name](const auto& h) { return h.first == name; });
      if (IsMatcherObject(value) && !value.contains("$example") && !value.contains("$eq")) {
        if (from_header || value.contains("$any")) continue;
        problems.Add(at, absl::StrCat("the verifier sends this request, but cannot choose a value ",
                                      "for this matcher: add \"$example\" or pass --header ", key,
                                      ":VALUE"));
        continue;
      }
      concrete = Concrete(value, at, &problems);
      if (!concrete.has_value()) continue;
      excluded.insert(key);  // the file's value wins over --header
      sent_text.emplace_back(key, concrete->is_string() ? concrete->get<std::string>() : concrete->dump());
    }
  }
  const size_t from_file = sent_text.size();  // --header values were checked by the caller
  for (const auto& [key, value] : headers) {
    if (excluded.count(key) == 0) sent_text.emplace_back(key, value);
  }
  for (size_t i = 0; i < from_file; ++i) {
    const auto& [key, value] = sent_text[i];
    if (std::string why = MetadataProblem(key, value); !why.empty()) {
      problems.Add(JoinPointer("/request/metadata", key), why);
    }
  }
  for (const auto& [key, value] : sent_text) {
    std::string bytes = value;
    if (IsBinaryMetadataKey(key) && !DecodeBinaryMetadata(value, &bytes)) {
      problems.Add(JoinPointer("/request/metadata", key), "not valid base64");
    }
    plan->metadata_.emplace_back(key, bytes);
  }

  // Request messages.
  std::vector<std::unique_ptr<pb::Message>> messages;
  json conversation = source.value("conversation", json::array());
  switch (interaction.kind) {
    case RpcKind::kUnary:
    case RpcKind::kServerStreaming:
      messages.push_back(ParseRequest(schema, input, request_spec.value("body", json::object()),
                                      "/request/body", &problems));
      break;
    case RpcKind::kClientStreaming: {
      json stream = request_spec.value("stream", json::array());
      for (size_t i = 0; i < stream.size(); ++i) {
        messages.push_back(ParseRequest(schema, input, stream[i], JoinPointer("/request/stream", i),
                                        &problems));
      }
      break;
    }
    case RpcKind::kBidiStreaming:
      for (size_t k = 0; k < conversation.size(); ++k) {
        bool client = conversation[k].contains("client");
        plan->client_steps_.push_back(client);
        if (client) {
          messages.push_back(ParseRequest(schema, input, conversation[k]["client"],
                                          JoinPointer(JoinPointer("/conversation", k), "client"),
                                          &problems));
        }
      }
      break;
  }
  for (const auto& m : messages) plan->requests_.push_back(m->SerializePartialAsString());
  if (problems.ok) CheckAgainstOwnMatchers(interaction, sent_text, messages, &problems);

  // The answer: templates rendered from that request, then compiled to matchers. Templates see
  // -bin values as the bytes sent, as the mock's do.
  MetadataView view;
  for (const auto& [key, value] : plan->metadata_) view.emplace_back(key, value);
  std::vector<std::unique_ptr<pb::Message>> all_sent;
  for (const auto& m : messages) all_sent.push_back(Clone(*m));
  Request request{&view, messages.empty() ? nullptr : messages.back().get(), &all_sent};
  json response = source.value("response", json::object());
  // Headers go out when the mock picks the interaction: in a bidi call, at the first client
  // message (or before any, when the server speaks first); the rest sees every message.
  json response_headers = response.value("headers", json::object());
  response.erase("headers");
  if (response.contains("trailers")) {
    RenderBinaryHeaderTemplates(&response["trailers"], input, request, "/response/trailers",
                                &problems);
  }
  RenderTemplates(&response, input, request, "/response", &problems);
  std::vector<std::unique_ptr<pb::Message>> first_only;
  if (interaction.kind == RpcKind::kBidiStreaming && !plan->client_steps_.empty() &&
      plan->client_steps_[0]) {
    first_only.push_back(Clone(*messages[0]));
  }
  Request at_choice = request;
  if (interaction.kind == RpcKind::kBidiStreaming) {
    at_choice.body = first_only.empty() ? nullptr : first_only[0].get();
    at_choice.stream = &first_only;
  }
  RenderBinaryHeaderTemplates(&response_headers, input, at_choice, "/response/headers",
                              &problems);
  RenderTemplates(&response_headers, input, at_choice, "/response/headers", &problems);
  MatcherCompiler compiler(&schema, interaction.file, diagnostics);
  Expectations& expected = *plan->expected_;
  auto expect = [&](const json& body, const std::string& at) {
    expected.messages.push_back(
        {compiler.Compile(body, Target::Message(output), interaction.pointer + at), at});
    if (expected.messages.back().matcher == nullptr) problems.ok = false;
  };
  switch (interaction.kind) {
    case RpcKind::kUnary:
    case RpcKind::kClientStreaming:
      expected.messages_pointer = "/response/body";
      if (response.contains("body")) {
        expected.check_messages = true;
        expect(response["body"], "/response/body");
      }
      break;
    case RpcKind::kServerStreaming:
      expected.messages_pointer = "/response/stream";
      // No `stream` is the empty stream, as the mock sends it: any message is a difference.
      expected.check_messages = true;
      if (response.contains("stream")) {
        for (size_t i = 0; i < response["stream"].size(); ++i) {
          expect(response["stream"][i].value("body", json::object()),
                 JoinPointer(JoinPointer("/response/stream", i), "body"));
        }
      }
      break;
    case RpcKind::kBidiStreaming: {
      expected.messages_pointer = "/conversation";
      expected.check_messages = true;
      std::vector<std::unique_ptr<pb::Message>> so_far;
      for (size_t k = 0, next = 0; k < conversation.size(); ++k) {
        std::string at = JoinPointer("/conversation", k);
        if (plan->client_steps_[k]) {
          so_far.push_back(Clone(*messages[next++]));
          continue;
        }
        json body = conversation[k].value("server", json::object());
        Request step{&view, so_far.empty() ? nullptr : so_far.back().get(), &so_far};
        RenderTemplates(&body, input, step, at + "/server", &problems);
        expect(body, at + "/server");
      }
      break;
    }
  }
  expected.headers = CompileMetadataExpectations(response_headers,
                                                 "/response/headers", &compiler, interaction);
  expected.trailers = CompileMetadataExpectations(response.value("trailers", json::object()),
                                                  "/response/trailers", &compiler, interaction);
  CompileStatusExpectations(response.value("status", json::object()), schema, &compiler,
                            interaction, &expected, &problems);
  if (!problems.ok || diagnostics->size() != problems_before) return nullptr;
  return plan;
}

}  // namespace understudy
