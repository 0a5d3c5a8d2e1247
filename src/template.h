// Templates: response strings that quote the request.
//
//   auto t = Template::Compile("Hello {{request.body.name}}", request_type, &error);
//   std::string text = t->Render(request);
//
// Expressions: {{request.body.PATH}}, {{request.metadata.KEY}} and {{request.stream.N.PATH}},
// PATH a dotted list of field names (JSON or proto names), repeated-field indexes and map keys.
// Paths are resolved against the request type when compiled, so a typo fails at load time.
#ifndef UNDERSTUDY_SRC_TEMPLATE_H_
#define UNDERSTUDY_SRC_TEMPLATE_H_

#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/strings/string_view.h"
#include "src/request.h"

namespace understudy {

class Template {
 public:
  static bool Contains(absl::string_view text) { return text.find("{{") != absl::string_view::npos; }

  // Null with `error` set when an expression is malformed or names no field of `request_type`.
  static std::optional<Template> Compile(const std::string& text,
                                         const google::protobuf::Descriptor* request_type,
                                         std::string* error);

  // A template that renders `text` as it is, braces included.
  static Template Literal(std::string text);

  // Values of unset fields render as their defaults; missing metadata as "".
  std::string Render(const Request& request) const;
  bool IsLiteral() const { return parts_.size() == 1 && parts_[0].source == Source::kLiteral; }

 private:
  enum class Source { kLiteral, kBody, kMetadata, kStream };
  struct Step {
    const google::protobuf::FieldDescriptor* field = nullptr;  // a field of the current message
    int index = -1;                                            // or an element of it
    std::string map_key;                                       // or a map value by key
    bool is_map_key = false;
  };
  struct Part {
    Source source = Source::kLiteral;
    std::string text;  // the literal, or the metadata key
    int stream_index = 0;
    std::vector<Step> path;
  };
  static bool CompilePath(const std::vector<std::string>& tokens, size_t from,
                          const google::protobuf::Descriptor* type, std::vector<Step>* path,
                          std::string* error);
  static std::string RenderPath(const google::protobuf::Message* message,
                                const std::vector<Step>& path);
  std::vector<Part> parts_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_TEMPLATE_H_
