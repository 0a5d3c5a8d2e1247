#include "src/matcher.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <re2/re2.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/schema.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using json = nlohmann::json;

constexpr int kMaxDepth = 64;
constexpr char kUnsetKey[] = "\x01unset";

bool Fail(Mismatch* why, std::string reason) {
  if (why != nullptr) {
    why->pointer.clear();
    why->reason = std::move(reason);
  }
  return false;
}

// Prefixes the pointer of a child's mismatch with the child's token.
bool FailAt(Mismatch* why, const std::string& token) {
  if (why != nullptr) why->pointer = JoinPointer("", token) + why->pointer;
  return false;
}

std::string Show(const Node& node) {
  if (node.IsUnset()) return "unset";
  switch (KindOfNode(node)) {
    case JsonKind::kString: return json(TextOf(node)).dump();
    case JsonKind::kNumber:
    case JsonKind::kBool: return TextOf(node);
    case JsonKind::kArray: return absl::StrCat("an array of ", node.Size());
    case JsonKind::kObject: return "an object";
    case JsonKind::kNull: return "null";
  }
  return "?";
}

// An unset field with presence (oneof member, optional, message) or a missing key: only $any and
// $absent accept it; every other matcher would otherwise judge a default the client never sent.
bool Missing(const Node& node) {
  if (node.IsText()) return false;
  if (node.msg == nullptr) return true;
  return node.field != nullptr && node.index < 0 && !node.field->is_repeated() &&
         node.field->has_presence() && node.IsUnset();
}

class AnyMatcher final : public Matcher {
 public:
  bool Matches(const Node&, Mismatch*) const override { return true; }
  int Specificity() const override { return 0; }
};

class AbsentMatcher final : public Matcher {
 public:
  bool Matches(const Node& node, Mismatch* why) const override {
    return node.IsUnset() || Fail(why, absl::StrCat("expected unset, got ", Show(node)));
  }
};

class AllOfMatcher final : public Matcher {
 public:
  explicit AllOfMatcher(std::vector<std::unique_ptr<Matcher>> all) : all_(std::move(all)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    for (const auto& m : all_) {
      if (!m->Matches(node, why)) return false;
    }
    return true;
  }
  int Specificity() const override {
    int n = 0;
    for (const auto& m : all_) n += m->Specificity();
    return n;
  }

 private:
  std::vector<std::unique_ptr<Matcher>> all_;
};

class OneOfMatcher final : public Matcher {
 public:
  explicit OneOfMatcher(std::vector<std::unique_ptr<Matcher>> any) : any_(std::move(any)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    for (const auto& m : any_) {
      if (m->Matches(node, nullptr)) return true;
    }
    return Fail(why, absl::StrCat(Show(node), " matches none of the ", any_.size(),
                                  " alternatives of $oneOf"));
  }

 private:
  std::vector<std::unique_ptr<Matcher>> any_;
};

// Fields of a message, partially (or, with `exact`, no other field set).
class ObjectMatcher final : public Matcher {
 public:
  struct Entry {
    const FD* field;
    std::string token;  // as the spec wrote it, for mismatch pointers
    std::unique_ptr<Matcher> matcher;
  };
  ObjectMatcher(std::vector<Entry> entries, bool exact, bool root)
      : entries_(std::move(entries)), exact_(exact), root_(root) {}

  bool Matches(const Node& node, Mismatch* why) const override {
    const pb::Message* m = node.AsMessage();
    if (m == nullptr) return Fail(why, absl::StrCat("expected an object, got ", Show(node)));
    for (const auto& e : entries_) {
      if (!e.matcher->Matches(Node::OfField(m, e.field), why)) return FailAt(why, e.token);
    }
    if (exact_) {
      std::vector<const FD*> set;
      m->GetReflection()->ListFields(*m, &set);
      for (const FD* f : set) {
        bool listed = std::any_of(entries_.begin(), entries_.end(),
                                  [f](const Entry& e) { return e.field == f; });
        if (!listed) {
          return Fail(why, absl::StrCat("field \"", f->json_name(), "\" is set, but $exact ",
                                        "does not list it"));
        }
      }
    }
    return true;
  }
  int Specificity() const override {
    int n = exact_ ? 1 : 0;
    for (const auto& e : entries_) n += e.matcher->Specificity();
    return n;
  }
  int Score(const Node& node) const override {
    const pb::Message* m = node.AsMessage();
    if (m == nullptr) return 0;
    int n = 0;
    for (const auto& e : entries_) n += e.matcher->Score(Node::OfField(m, e.field));
    return n;
  }
  bool IndexableField(const FD** field, std::string* key) const override {
    if (!root_) return false;
    for (const auto& e : entries_) {
      if (e.matcher->IndexableField(field, key)) return true;
    }
    return false;
  }

 private:
  std::vector<Entry> entries_;
  bool exact_;
  bool root_;
};

// Map entries by key, partially (or exactly).
class MapMatcher final : public Matcher {
 public:
  struct Entry {
    std::string key;  // the key as text, as JSON writes it
    std::unique_ptr<Matcher> matcher;
  };
  MapMatcher(const FD* field, std::vector<Entry> entries, bool exact)
      : field_(field), entries_(std::move(entries)), exact_(exact) {}

  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsMap()) return Fail(why, absl::StrCat("expected an object, got ", Show(node)));
    const FD* key_field = field_->message_type()->map_key();
    const FD* value_field = field_->message_type()->map_value();
    const int size = node.Size();
    for (const auto& e : entries_) {
      const pb::Message* found = nullptr;
      for (int i = 0; i < size && found == nullptr; ++i) {
        const pb::Message* entry = Node::OfField(node.msg, field_, i).AsMessage();
        if (TextOf(Node::OfField(entry, key_field)) == e.key) found = entry;
      }
      if (found == nullptr) {
        if (e.matcher->Matches(Node{nullptr, nullptr, -1, nullptr}, nullptr)) continue;
        Fail(why, "missing key");
        return FailAt(why, e.key);
      }
      if (!e.matcher->Matches(Node::OfField(found, value_field), why)) return FailAt(why, e.key);
    }
    if (exact_ && size != static_cast<int>(entries_.size())) {
      return Fail(why, absl::StrCat("expected exactly ", entries_.size(), " keys, got ", size));
    }
    return true;
  }
  int Specificity() const override {
    int n = exact_ ? 1 : 0;
    for (const auto& e : entries_) n += e.matcher->Specificity();
    return n;
  }

 private:
  const FD* field_;
  std::vector<Entry> entries_;
  bool exact_;
};

// A literal array: the same length, element by element.
class ArrayMatcher final : public Matcher {
 public:
  explicit ArrayMatcher(std::vector<std::unique_ptr<Matcher>> elements)
      : elements_(std::move(elements)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated() || node.IsMap()) {
      return Fail(why, absl::StrCat("expected an array, got ", Show(node)));
    }
    if (node.Size() != static_cast<int>(elements_.size())) {
      return Fail(why, absl::StrCat("expected ", elements_.size(), " elements, got ", node.Size()));
    }
    for (size_t i = 0; i < elements_.size(); ++i) {
      if (!elements_[i]->Matches(node.Element(i), why)) return FailAt(why, absl::StrCat(i));
    }
    return true;
  }
  int Specificity() const override {
    int n = 1;
    for (const auto& e : elements_) n += e->Specificity();
    return n;
  }

 private:
  std::vector<std::unique_ptr<Matcher>> elements_;
};

class UnorderedMatcher final : public Matcher {
 public:
  explicit UnorderedMatcher(std::vector<std::unique_ptr<Matcher>> elements)
      : elements_(std::move(elements)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated() || node.IsMap()) {
      return Fail(why, absl::StrCat("expected an array, got ", Show(node)));
    }
    const int n = node.Size();
    if (n != static_cast<int>(elements_.size())) {
      return Fail(why, absl::StrCat("expected ", elements_.size(), " elements, got ", n));
    }
    std::vector<bool> used(n, false);
    if (!Assign(node, 0, &used)) {
      return Fail(why, "no order of the elements matches $unordered");
    }
    return true;
  }
  int Specificity() const override {
    int n = 1;
    for (const auto& e : elements_) n += e->Specificity();
    return n;
  }

 private:
  // Backtracking over a bipartite matching; arrays in contracts are small.
  bool Assign(const Node& node, size_t spec, std::vector<bool>* used) const {
    if (spec == elements_.size()) return true;
    for (size_t i = 0; i < used->size(); ++i) {
      if ((*used)[i] || !elements_[spec]->Matches(node.Element(i), nullptr)) continue;
      (*used)[i] = true;
      if (Assign(node, spec + 1, used)) return true;
      (*used)[i] = false;
    }
    return false;
  }
  std::vector<std::unique_ptr<Matcher>> elements_;
};

class EachMatcher final : public Matcher {
 public:
  explicit EachMatcher(std::unique_ptr<Matcher> element) : element_(std::move(element)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated()) return Fail(why, absl::StrCat("expected an array, got ", Show(node)));
    for (int i = 0; i < node.Size(); ++i) {
      if (!element_->Matches(node.Element(i), why)) return FailAt(why, absl::StrCat(i));
    }
    return true;
  }
  int Specificity() const override { return element_->Specificity(); }

 private:
  std::unique_ptr<Matcher> element_;
};

class SizeMatcher final : public Matcher {
 public:
  SizeMatcher(int64_t min, int64_t max) : min_(min), max_(max) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated()) return Fail(why, absl::StrCat("expected an array, got ", Show(node)));
    const int n = node.Size();
    if (n < min_) return Fail(why, absl::StrCat("expected at least ", min_, " elements, got ", n));
    if (n > max_) return Fail(why, absl::StrCat("expected at most ", max_, " elements, got ", n));
    return true;
  }

 private:
  int64_t min_, max_;
};

class ContainsTextMatcher final : public Matcher {
 public:
  explicit ContainsTextMatcher(std::string needle) : needle_(std::move(needle)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (Missing(node)) {
      return Fail(why, absl::StrCat("unset, expected a string containing ", json(needle_).dump()));
    }
    if (KindOfNode(node) != JsonKind::kString) {
      return Fail(why, absl::StrCat("expected a string containing ", json(needle_).dump(),
                                    ", got ", Show(node)));
    }
    if (TextOf(node).find(needle_) != std::string::npos) return true;
    return Fail(why, absl::StrCat("expected a string containing ", json(needle_).dump(), ", got ",
                                  Show(node)));
  }

 private:
  std::string needle_;
};

class ContainsElementMatcher final : public Matcher {
 public:
  explicit ContainsElementMatcher(std::unique_ptr<Matcher> element) : element_(std::move(element)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated()) return Fail(why, absl::StrCat("expected an array, got ", Show(node)));
    for (int i = 0; i < node.Size(); ++i) {
      if (element_->Matches(node.Element(i), nullptr)) return true;
    }
    return Fail(why, absl::StrCat("no element of ", node.Size(), " matches $contains"));
  }
  int Specificity() const override { return element_->Specificity(); }

 private:
  std::unique_ptr<Matcher> element_;
};

class RegexMatcher final : public Matcher {
 public:
  explicit RegexMatcher(std::unique_ptr<RE2> re) : re_(std::move(re)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (Missing(node)) {
      return Fail(why, absl::StrCat("unset, expected a match of /", re_->pattern(), "/"));
    }
    JsonKind kind = KindOfNode(node);
    if (kind != JsonKind::kString && kind != JsonKind::kNumber) {
      return Fail(why, absl::StrCat("expected a string matching /", re_->pattern(), "/, got ",
                                    Show(node)));
    }
    std::string text = TextOf(node);
    if (RE2::FullMatch(text, *re_)) return true;
    return Fail(why, absl::StrCat(json(text).dump(), " does not match /", re_->pattern(), "/"));
  }

 private:
  std::unique_ptr<RE2> re_;
};

class TypeMatcher final : public Matcher {
 public:
  explicit TypeMatcher(std::string type) : type_(std::move(type)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (node.IsText()) {
      if (type_ == "string") return true;
      return Fail(why, absl::StrCat("expected ", type_, ", got a metadata string"));
    }
    if (Missing(node)) return Fail(why, absl::StrCat("unset, expected ", type_));
    JsonKind kind = KindOfNode(node);
    bool ok = type_ == JsonKindName(kind);
    if (!ok && type_ == "integer") ok = IsIntegerNode(node);
    // 64-bit integers are strings in the JSON mapping: accept both readings.
    if (!ok && type_ == "string" && kind == JsonKind::kNumber && !node.IsRepeated()) {
      FD::CppType t = Unwrap(node).field->cpp_type();
      ok = t == FD::CPPTYPE_INT64 || t == FD::CPPTYPE_UINT64;
    }
    if (ok) return true;
    return Fail(why, absl::StrCat("expected ", type_, ", got ", JsonKindName(kind)));
  }

 private:
  std::string type_;
};

class CompareMatcher final : public Matcher {
 public:
  CompareMatcher(std::string op, long double bound) : op_(std::move(op)), bound_(bound) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    long double v;
    if (Missing(node)) return Fail(why, absl::StrCat("unset, expected a number ", Describe()));
    if (!NumberOf(node, &v)) {
      return Fail(why, absl::StrCat("expected a number ", Describe(), ", got ", Show(node)));
    }
    bool ok = op_ == "$gt" ? v > bound_ : op_ == "$gte" ? v >= bound_ : op_ == "$lt" ? v < bound_
                                                                                     : v <= bound_;
    if (ok) return true;
    return Fail(why, absl::StrCat("expected a number ", Describe(), ", got ", TextOf(node)));
  }

 private:
  std::string Describe() const {
    const char* sym = op_ == "$gt" ? ">" : op_ == "$gte" ? ">=" : op_ == "$lt" ? "<" : "<=";
    return absl::StrCat(sym, " ", FormatDouble(static_cast<double>(bound_)));
  }
  std::string op_;
  long double bound_;
};

// A literal scalar, converted to the field's type when compiled.
class ScalarMatcher final : public Matcher {
 public:
  ScalarMatcher(const FD* field, bool element, std::string text, long double number, bool root)
      : field_(field), element_(element), text_(std::move(text)), number_(number), root_(root) {}

  bool Matches(const Node& node, Mismatch* why) const override {
    if (node.IsText()) {
      if (*node.text == text_) return true;
      return Fail(why, absl::StrCat("expected ", json(text_).dump(), ", got ", Show(node)));
    }
    if (node.msg == nullptr) return Fail(why, absl::StrCat("missing, expected ", Expected()));
    if (field_ == nullptr) return Fail(why, "expected a metadata value");
    if (field_->has_presence() && !element_ && node.IsUnset()) {
      return Fail(why, absl::StrCat("expected ", Expected(), ", got unset"));
    }
    bool ok;
    switch (field_->cpp_type()) {
      case FD::CPPTYPE_STRING:
      case FD::CPPTYPE_ENUM:
      case FD::CPPTYPE_BOOL:
        if (field_->cpp_type() == FD::CPPTYPE_STRING && field_->type() != FD::TYPE_BYTES &&
            !field_->is_repeated()) {
          std::string scratch;  // the fast path: no copy of the request's string
          ok = node.msg->GetReflection()->GetStringReference(*node.msg, field_, &scratch) == text_;
        } else {
          ok = TextOf(node) == text_;
        }
        break;
      case FD::CPPTYPE_FLOAT: {
        long double v = 0;
        ok = NumberOf(node, &v) &&
             (static_cast<float>(v) == static_cast<float>(number_) ||
              (std::isnan(static_cast<double>(v)) && std::isnan(static_cast<double>(number_))));
        break;
      }
      default: {
        long double v = 0;
        ok = NumberOf(node, &v) &&
             (v == number_ || (std::isnan(static_cast<double>(v)) &&
                               std::isnan(static_cast<double>(number_))));
      }
    }
    if (ok) return true;
    return Fail(why, absl::StrCat("expected ", Expected(), ", got ", Show(node)));
  }
  bool IndexableField(const FD** field, std::string* key) const override {
    if (!root_ || element_ || field_ == nullptr || field_->is_repeated()) return false;
    if (field_->cpp_type() == FD::CPPTYPE_MESSAGE || field_->cpp_type() == FD::CPPTYPE_FLOAT ||
        field_->cpp_type() == FD::CPPTYPE_DOUBLE) {
      return false;
    }
    *field = field_;
    *key = text_;
    return true;
  }

 private:
  std::string Expected() const {
    FD::CppType t = field_ == nullptr ? FD::CPPTYPE_STRING : field_->cpp_type();
    return t == FD::CPPTYPE_STRING || t == FD::CPPTYPE_ENUM ? json(text_).dump() : text_;
  }
  const FD* field_;
  bool element_;
  std::string text_;    // canonical text: TextOf() of a value equal to the literal
  long double number_;  // for numeric fields
  bool root_;
};

// A literal message compared whole (well-known types in their JSON forms, and $eq objects).
class MessageEqualsMatcher final : public Matcher {
 public:
  MessageEqualsMatcher(std::unique_ptr<pb::Message> expected, std::string shown)
      : expected_(std::move(expected)), shown_(std::move(shown)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    const pb::Message* m = node.AsMessage();
    if (m == nullptr) return Fail(why, absl::StrCat("expected ", shown_, ", got unset"));
    if (pb::util::MessageDifferencer::Equals(*expected_, *m)) return true;
    std::string got = TextOf(node);
    return Fail(why, absl::StrCat("expected ", shown_, ", got ",
                                  got.empty() ? "a different value" : json(got).dump()));
  }

 private:
  std::unique_ptr<pb::Message> expected_;
  std::string shown_;
};

const std::vector<std::string>& Operators() {
  static const auto* ops = new std::vector<std::string>{
      "$regex", "$type",  "$any",  "$absent",   "$contains", "$gt",        "$gte",  "$lt",
      "$lte",   "$each",  "$minItems", "$maxItems", "$unordered", "$oneOf", "$exact", "$eq",
      "$example"};
  return *ops;
}

bool IsMatcherObject(const json& spec) {
  if (!spec.is_object() || spec.empty()) return false;
  for (const auto& [key, value] : spec.items()) {
    if (!key.empty() && key[0] == '$') return true;
  }
  return false;
}

}  // namespace

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
  pb::util::JsonParseOptions options;
  auto status = pb::util::JsonStringToMessage(spec.dump(), message.get(), options);
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
  for (const auto& [key, value] : spec.items()) out[key] = ExampleOf(value, JoinPointer(pointer, key));
  return out;
}

}  // namespace understudy
