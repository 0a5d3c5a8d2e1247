// Values of a decoded request, seen the way the proto3 JSON mapping shows them.
//
// Matchers and templates walk a request with reflection instead of converting it to JSON: a
// `Node` names one place in a message (the message itself, a field, one element of a repeated
// field, or a piece of text such as a metadata value) and the functions below read it as the
// JSON mapping would print it.
#ifndef UNDERSTUDY_SRC_VALUE_H_
#define UNDERSTUDY_SRC_VALUE_H_

#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/strings/string_view.h"

namespace understudy {

struct Node {
  static Node OfMessage(const google::protobuf::Message* m) { return {m, nullptr, -1, nullptr}; }
  static Node OfField(const google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                      int index = -1) {
    return {m, f, index, nullptr};
  }
  static Node OfText(const std::string* text) { return {nullptr, nullptr, -1, text}; }

  const google::protobuf::Message* msg;
  const google::protobuf::FieldDescriptor* field;  // null: the node is `msg` (or `text`)
  int index;                                       // element of a repeated field, -1 for all
  const std::string* text;                         // a metadata value

  bool IsText() const { return text != nullptr; }
  // A whole repeated field (maps included).
  bool IsRepeated() const { return field != nullptr && field->is_repeated() && index < 0; }
  bool IsMap() const { return IsRepeated() && field->is_map(); }
  // A singular or element message value, or the root message.
  bool IsMessage() const;
  // Null when the node is an unset field or a message field that is not set.
  const google::protobuf::Message* AsMessage() const;
  int Size() const;                      // elements of a repeated node
  Node Element(int i) const;             // i-th element of a repeated node
  // True when the field is unset: no presence and default value, or presence and not present.
  bool IsUnset() const;
};

enum class JsonKind { kNull, kString, kNumber, kBool, kObject, kArray };

// How the JSON mapping prints the node. Wrapper types report their inner kind; Timestamp,
// Duration and FieldMask are strings; 64-bit integers are numbers here (see IsInteger).
JsonKind KindOfNode(const Node& node);
const char* JsonKindName(JsonKind kind);
bool IsIntegerNode(const Node& node);
// The node as text: strings as they are, bytes in base64, enums by name, numbers in decimal,
// booleans as true/false, Timestamp/Duration/FieldMask in their JSON forms. Empty for messages.
std::string TextOf(const Node& node);
// The node as a number; false when it is not numeric (text is parsed when it is a number).
bool NumberOf(const Node& node, long double* out);

// Well-known types whose JSON form is not an object.
bool IsWrapperType(const google::protobuf::Descriptor* type);
bool HasScalarJsonForm(const google::protobuf::Descriptor* type);  // wrappers, Timestamp, ...
// The `value` field of a set wrapper message, as a node; the node itself otherwise.
Node Unwrap(const Node& node);

// The code point of UTF-8 `text` at `*at`, advancing `*at` past it; -1, advancing one byte, when
// the bytes there are not well-formed UTF-8 (overlong forms and surrogates included).
int32_t DecodeUtf8At(absl::string_view text, size_t* at);

// `text` as a JSON string literal, for messages; a byte that is not UTF-8 shows as the four
// characters \xFF, so nothing is lost (a server's or client's text may be anything).
std::string Quote(absl::string_view text);
// Quote() of the first `max_bytes` bytes, with the full length after it when it is cut: for
// values from a request, which can be megabytes long, in a status message or an error.
std::string QuoteAtMost(absl::string_view text, size_t max_bytes = 64);

// Values longer than this many bytes are summarised in messages, not printed whole.
inline constexpr size_t kShownValueBytes = 200;
// Quote(text), or for a longer text its first kShownValueBytes and its length.
std::string QuoteCapped(absl::string_view text);
// How to show two values that differ: each quoted whole when both are short; otherwise each as
// its length and a window of it around the first differing offset, which the expected side
// names. With `bytes` the values are raw bytes and the windows show as base64 (the JSON form).
void SummarizeDifference(absl::string_view expected, absl::string_view actual, bool bytes,
                         std::string* shown_expected, std::string* shown_actual);

// Shortest decimal text that reads back as `value`, as the JSON mapping prints doubles.
std::string FormatDouble(double value);
// The same at float precision (0.1f prints as 0.1, not 0.10000000149011612).
std::string FormatFloat(float value);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_VALUE_H_
