#include "src/template.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/matcher.h"
#include "src/value.h"

namespace understudy {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

std::optional<Template> Template::Compile(const std::string& text, const pb::Descriptor* type,
                                          std::string* error) {
  Template t;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      t.parts_.push_back({Source::kLiteral, text.substr(pos)});
      break;
    }
    if (open > pos) t.parts_.push_back({Source::kLiteral, text.substr(pos, open - pos)});
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      *error = absl::StrCat("unclosed \"{{\" at offset ", open);
      return std::nullopt;
    }
    std::string expr(absl::StripAsciiWhitespace(text.substr(open + 2, close - open - 2)));
    std::vector<std::string> tokens = absl::StrSplit(expr, '.');
    Part part;
    if (tokens.size() >= 3 && tokens[0] == "request" && tokens[1] == "metadata") {
      part.source = Source::kMetadata;
      // Metadata keys may contain dots; everything after "request.metadata." is the key.
      part.text = expr.substr(std::string("request.metadata.").size());
    } else if (tokens.size() >= 3 && tokens[0] == "request" && tokens[1] == "body") {
      part.source = Source::kBody;
      if (!CompilePath(tokens, 2, type, &part.path, error)) return std::nullopt;
    } else if (tokens.size() >= 4 && tokens[0] == "request" && tokens[1] == "stream") {
      part.source = Source::kStream;
      if (!absl::SimpleAtoi(tokens[2], &part.stream_index) || part.stream_index < 0) {
        *error = absl::StrCat("\"", tokens[2], "\" in {{", expr, "}} is not a message index");
        return std::nullopt;
      }
      if (!CompilePath(tokens, 3, type, &part.path, error)) return std::nullopt;
    } else {
      *error = absl::StrCat("unknown template {{", expr, "}}: expected {{request.body.PATH}}, ",
                            "{{request.metadata.KEY}} or {{request.stream.N.PATH}}");
      return std::nullopt;
    }
    t.parts_.push_back(std::move(part));
    pos = close + 2;
  }
  if (t.parts_.empty()) t.parts_.push_back({Source::kLiteral, ""});
  return t;
}

bool Template::CompilePath(const std::vector<std::string>& tokens, size_t from,
                           const pb::Descriptor* type, std::vector<Step>* path,
                           std::string* error) {
  const FD* repeated = nullptr;  // the repeated field awaiting an index or key
  for (size_t i = from; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    Step step;
    if (repeated != nullptr) {
      step.field = repeated;
      if (repeated->is_map()) {
        step.is_map_key = true;
        step.map_key = token;
        const FD* value = repeated->message_type()->map_value();
        type = value->cpp_type() == FD::CPPTYPE_MESSAGE ? value->message_type() : nullptr;
      } else {
        if (!absl::SimpleAtoi(token, &step.index) || step.index < 0) {
          *error = absl::StrCat("\"", token, "\" should be an index of repeated field ",
                                repeated->full_name());
          return false;
        }
        type = repeated->cpp_type() == FD::CPPTYPE_MESSAGE ? repeated->message_type() : nullptr;
      }
      repeated = nullptr;
      path->push_back(step);
      continue;
    }
    if (type == nullptr) {
      *error = absl::StrCat("\"", token, "\" follows a field that is not a message");
      return false;
    }
    const FD* field = FindJsonField(type, token);
    if (field == nullptr) {
      *error = NoFieldMessage(type, token);
      return false;
    }
    if (field->is_repeated()) {
      repeated = field;
      continue;
    }
    step.field = field;
    path->push_back(step);
    type = field->cpp_type() == FD::CPPTYPE_MESSAGE && !HasScalarJsonForm(field->message_type())
               ? field->message_type()
               : nullptr;
  }
  if (repeated != nullptr) {
    *error = absl::StrCat("repeated field ", repeated->full_name(), " needs an index or key");
    return false;
  }
  if (type != nullptr) {
    *error = absl::StrCat("\"", tokens.back(), "\" is a ", type->full_name(),
                          " message, not a value: quote one of its fields");
    return false;
  }
  return true;
}

Template Template::Literal(std::string text) {
  Template t;
  t.parts_.push_back({Source::kLiteral, std::move(text)});
  return t;
}

std::string Template::RenderPath(const pb::Message* message, const std::vector<Step>& path) {
  for (size_t i = 0; i < path.size(); ++i) {
    if (message == nullptr) return "";
    const Step& step = path[i];
    const pb::Reflection* r = message->GetReflection();
    Node node = Node::OfField(message, step.field, step.index);
    if (step.is_map_key) {
      const FD* key_field = step.field->message_type()->map_key();
      const FD* value_field = step.field->message_type()->map_value();
      int size = r->FieldSize(*message, step.field);
      const pb::Message* entry = nullptr;
      for (int e = 0; e < size && entry == nullptr; ++e) {
        const pb::Message& candidate = r->GetRepeatedMessage(*message, step.field, e);
        if (TextOf(Node::OfField(&candidate, key_field)) == step.map_key) entry = &candidate;
      }
      if (entry == nullptr) return "";
      node = Node::OfField(entry, value_field);
    } else if (step.index >= 0 && step.index >= r->FieldSize(*message, step.field)) {
      return "";
    }
    if (i + 1 == path.size()) return TextOf(node);
    message = node.AsMessage();
  }
  return "";
}

std::string Template::Render(const Request& request) const {
  std::string out;
  for (const Part& part : parts_) {
    switch (part.source) {
      case Source::kLiteral:
        out += part.text;
        break;
      case Source::kMetadata: {
        const absl::string_view* v = request.Find(part.text);
        if (v != nullptr) out.append(v->data(), v->size());
        break;
      }
      case Source::kBody:
        out += RenderPath(request.body, part.path);
        break;
      case Source::kStream:
        if (request.stream != nullptr &&
            part.stream_index < static_cast<int>(request.stream->size())) {
          out += RenderPath((*request.stream)[part.stream_index].get(), part.path);
        }
        break;
    }
  }
  return out;
}

}  // namespace understudy
