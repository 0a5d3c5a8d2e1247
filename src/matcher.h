// Matchers: the request side of an interaction, compiled once against the schema.
//
//   MatcherCompiler compiler(schema, "contracts/users.json", &diagnostics);
//   auto body = compiler.Compile(spec, Target::Message(GetUserRequest::descriptor()),
//                                "/interactions/0/request/body");
//   Mismatch why;
//   if (!body->Matches(Node::OfMessage(&request), &why)) std::cout << why.ToString();
//
// A spec is JSON as in SPEC.md ("Matching"): objects match partially, arrays element by element,
// keys starting with '$' are matchers. Compiling resolves every field name to its descriptor and
// every literal to the field's type, so matching reads the decoded request through reflection and
// never touches JSON. Compile errors go to the Diagnostics with the JSON pointer of the culprit.
//
// Thread safety: compiled matchers are immutable; Matches may run on any number of threads.
#ifndef UNDERSTUDY_SRC_MATCHER_H_
#define UNDERSTUDY_SRC_MATCHER_H_

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "src/diagnostics.h"
#include "src/value.h"

namespace understudy {

class Schema;

// Why a value did not match: where (a JSON pointer relative to the matched node) and what.
struct Mismatch {
  std::string pointer;
  std::string reason;
  // When the reason is "expected X, got Y": X and Y as shown (long values summarised), so that
  // reports can carry them apart without parsing the reason. Empty otherwise.
  std::string expected, actual;
  std::string ToString() const { return pointer.empty() ? reason : pointer + ": " + reason; }
  static Mismatch Of(std::string pointer, std::string expected, std::string actual) {
    std::string reason = "expected " + expected + ", got " + actual;
    return {std::move(pointer), std::move(reason), std::move(expected), std::move(actual)};
  }
};

class Matcher {
 public:
  virtual ~Matcher() = default;
  // True when `node` matches. On a mismatch, fills `why` (when not null) with the first reason.
  virtual bool Matches(const Node& node, Mismatch* why) const = 0;
  // Every mismatch of `node`, not just the first: each listed field of an object, each element
  // of a literal array (the verifier reports all differences at once). Nothing when it matches.
  virtual void CollectMismatches(const Node& node, std::vector<Mismatch>* out) const {
    Mismatch why;
    if (!Matches(node, &why)) out->push_back(std::move(why));
  }
  // The number of constraints; among equal priorities the most specific interaction wins.
  virtual int Specificity() const { return 1; }
  // How many constraints `node` meets; ranks near misses to name the closest interaction.
  virtual int Score(const Node& node) const { return Matches(node, nullptr) ? Specificity() : 0; }
  // When this matcher is an exact literal on a scalar field of the root message, that field and
  // the literal's key (see IndexKeyOf); used to index interactions. False otherwise.
  virtual bool IndexableField(const google::protobuf::FieldDescriptor** field,
                              std::string* key) const {
    return false;
  }
};

// The key under which a singular scalar field's value is indexed, comparable with the key of a
// literal in a spec. Fields with presence that are unset get a key no literal has.
std::string IndexKeyOf(const google::protobuf::Message& message,
                       const google::protobuf::FieldDescriptor* field);

// What a spec is compiled against.
struct Target {
  static Target Message(const google::protobuf::Descriptor* type) { return {type, nullptr, false, false}; }
  static Target Field(const google::protobuf::FieldDescriptor* f) { return {nullptr, f, false, false}; }
  static Target Element(const google::protobuf::FieldDescriptor* f) { return {nullptr, f, true, false}; }
  static Target Text() { return {nullptr, nullptr, false, true}; }

  const google::protobuf::Descriptor* message;  // a root message
  const google::protobuf::FieldDescriptor* field;
  bool element;  // one element of the repeated `field`
  bool text;     // a metadata value

  bool IsRepeated() const { return field != nullptr && field->is_repeated() && !element; }
  std::string Describe() const;
};

class MatcherCompiler {
 public:
  MatcherCompiler(const Schema* schema, std::string file, Diagnostics* diagnostics)
      : schema_(schema), file_(std::move(file)), diagnostics_(diagnostics) {}

  // Null (with diagnostics added) when the spec is invalid for the target.
  std::unique_ptr<Matcher> Compile(const nlohmann::json& spec, const Target& target,
                                   const std::string& pointer);

  // For response specs: the value to send for a matcher object ($example), or the spec itself.
  // Adds a diagnostic when a matcher has no $example.
  nlohmann::json ExampleOf(const nlohmann::json& spec, const std::string& pointer);

 private:
  friend class CompileScope;
  std::unique_ptr<Matcher> CompileMatcherObject(const nlohmann::json& spec, const Target& target,
                                                const std::string& pointer);
  std::unique_ptr<Matcher> CompileOperator(const std::string& op, const nlohmann::json& arg,
                                           const Target& target, const std::string& pointer);
  std::unique_ptr<Matcher> CompileLiteral(const nlohmann::json& spec, const Target& target,
                                          const std::string& pointer, bool exact);
  std::unique_ptr<Matcher> CompileObject(const nlohmann::json& spec,
                                         const google::protobuf::Descriptor* type,
                                         const std::string& pointer, bool exact, bool root);
  std::unique_ptr<Matcher> CompileMap(const nlohmann::json& spec,
                                      const google::protobuf::FieldDescriptor* field,
                                      const std::string& pointer, bool exact);
  std::unique_ptr<Matcher> CompileScalar(const nlohmann::json& spec, const Target& target,
                                         const std::string& pointer);
  std::unique_ptr<Matcher> CompileMessageLiteral(const nlohmann::json& spec,
                                                 const google::protobuf::Descriptor* type,
                                                 const std::string& pointer);
  void Error(const std::string& pointer, const std::string& message);

  const Schema* schema_;
  std::string file_;
  Diagnostics* diagnostics_;
  int depth_ = 0;
  bool exact_ = false;    // inside $exact or $eq: objects may not have unlisted fields
  bool literal_ = false;  // inside $eq: objects with $ keys are literals, not matchers
};

// True when `spec` is an object with a key starting with '$' (a matcher, not fields).
bool IsMatcherObject(const nlohmann::json& spec);
// True when `spec` or anything in it is a matcher object.
bool HasMatcherObjects(const nlohmann::json& spec);

// Looks a field up by its JSON name or its proto name, as the JSON mapping accepts both.
const google::protobuf::FieldDescriptor* FindJsonField(const google::protobuf::Descriptor* type,
                                                       const std::string& name);
// "no field "x" in pkg.Msg (did you mean "y"?)"
std::string NoFieldMessage(const google::protobuf::Descriptor* type, const std::string& name);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_MATCHER_H_
