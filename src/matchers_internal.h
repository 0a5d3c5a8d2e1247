// The matcher kinds that MatcherCompiler (src/matcher.h) builds: one class per row of the SPEC's
// matcher table, plus literal objects, maps, arrays and scalars. Internal to the core library.
#ifndef UNDERSTUDY_SRC_MATCHERS_INTERNAL_H_
#define UNDERSTUDY_SRC_MATCHERS_INTERNAL_H_

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "src/matcher.h"
#include "src/value.h"

namespace understudy {
namespace internal {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using json = nlohmann::json;

inline bool Fail(Mismatch* why, std::string reason) {
  if (why != nullptr) {
    why->pointer.clear();
    why->reason = std::move(reason);
    why->expected.clear();
    why->actual.clear();
  }
  return false;
}

// "expected `expected`, got `actual`", with the two kept apart for reports.
inline bool FailValues(Mismatch* why, std::string expected, std::string actual) {
  if (why != nullptr) *why = Mismatch::Of("", std::move(expected), std::move(actual));
  return false;
}

// Two texts (or, with `bytes`, raw bytes) that differ: both shown whole when short, else their
// lengths and a window around the first difference (SummarizeDifference).
inline bool FailTexts(Mismatch* why, absl::string_view expected, absl::string_view actual,
                      bool bytes) {
  if (why == nullptr) return false;
  std::string shown_expected, shown_actual;
  SummarizeDifference(expected, actual, bytes, &shown_expected, &shown_actual);
  return FailValues(why, std::move(shown_expected), std::move(shown_actual));
}

// Prefixes the pointer of a child's mismatch with the child's token.
inline bool FailAt(Mismatch* why, const std::string& token) {
  if (why != nullptr) why->pointer = JoinPointer("", token) + why->pointer;
  return false;
}

inline std::string Show(const Node& node) {
  if (node.IsUnset()) return "unset";
  switch (KindOfNode(node)) {
    case JsonKind::kString: return QuoteCapped(TextOf(node));
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
inline bool Missing(const Node& node) {
  if (node.IsText()) return false;
  if (node.msg == nullptr) return true;
  return node.field != nullptr && node.index < 0 && !node.field->is_repeated() &&
         node.field->has_presence() && node.IsUnset();
}

// Collects the mismatches of `child` at `node`, their pointers prefixed with `token`.
inline void CollectAt(const Matcher& child, const Node& node, const std::string& token,
                      std::vector<Mismatch>* out) {
  size_t first = out->size();
  child.CollectMismatches(node, out);
  for (size_t i = first; i < out->size(); ++i) {
    (*out)[i].pointer = JoinPointer("", token) + (*out)[i].pointer;
  }
}

// The specificity of all of `matchers` together.
inline int SumSpecificity(const std::vector<std::unique_ptr<Matcher>>& matchers) {
  int n = 0;
  for (const auto& m : matchers) n += m->Specificity();
  return n;
}

class AnyMatcher final : public Matcher {
 public:
  bool Matches(const Node&, Mismatch*) const override { return true; }
  int Specificity() const override { return 0; }
};

class AbsentMatcher final : public Matcher {
 public:
  bool Matches(const Node& node, Mismatch* why) const override {
    return node.IsUnset() || FailValues(why, "unset", Show(node));
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
  int Specificity() const override { return SumSpecificity(all_); }

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
    if (m == nullptr) return FailValues(why, "an object", Show(node));
    for (const auto& e : entries_) {
      if (!e.matcher->Matches(Node::OfField(m, e.field), why)) return FailAt(why, e.token);
    }
    if (exact_) {
      std::vector<const FD*> unlisted = Unlisted(*m);
      if (!unlisted.empty()) {
        return Fail(why, absl::StrCat("field \"", unlisted[0]->json_name(), "\" is set, but ",
                                      "$exact does not list it"));
      }
    }
    return true;
  }
  void CollectMismatches(const Node& node, std::vector<Mismatch>* out) const override {
    const pb::Message* m = node.AsMessage();
    if (m == nullptr) {
      Matcher::CollectMismatches(node, out);
      return;
    }
    for (const auto& e : entries_) CollectAt(*e.matcher, Node::OfField(m, e.field), e.token, out);
    if (!exact_) return;
    for (const FD* f : Unlisted(*m)) {
      out->push_back({JoinPointer("", f->json_name()),
                      absl::StrCat("unexpected field: set, but $exact does not list it (got ",
                                   Show(Node::OfField(m, f)), ")")});
    }
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
  // The fields set in `m` that no entry lists.
  std::vector<const FD*> Unlisted(const pb::Message& m) const {
    std::vector<const FD*> set, out;
    m.GetReflection()->ListFields(m, &set);
    for (const FD* f : set) {
      if (std::none_of(entries_.begin(), entries_.end(),
                       [f](const Entry& e) { return e.field == f; })) {
        out.push_back(f);
      }
    }
    return out;
  }

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
    if (!node.IsMap()) return FailValues(why, "an object", Show(node));
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
      return FailValues(why, absl::StrCat("exactly ", entries_.size(), " keys"), absl::StrCat(size));
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
      return FailValues(why, "an array", Show(node));
    }
    if (node.Size() != static_cast<int>(elements_.size())) {
      return FailValues(why, absl::StrCat(elements_.size(), " elements"), absl::StrCat(node.Size()));
    }
    for (size_t i = 0; i < elements_.size(); ++i) {
      if (!elements_[i]->Matches(node.Element(i), why)) return FailAt(why, absl::StrCat(i));
    }
    return true;
  }
  // A length mismatch, then the differences of the elements both sides have.
  void CollectMismatches(const Node& node, std::vector<Mismatch>* out) const override {
    if (!node.IsRepeated() || node.IsMap()) {
      Matcher::CollectMismatches(node, out);
      return;
    }
    const size_t size = static_cast<size_t>(node.Size());
    if (size != elements_.size()) {
      out->push_back(Mismatch::Of("", absl::StrCat(elements_.size(), " elements"), absl::StrCat(size)));
    }
    for (size_t i = 0; i < std::min(size, elements_.size()); ++i) {
      CollectAt(*elements_[i], node.Element(i), absl::StrCat(i), out);
    }
  }
  int Specificity() const override { return 1 + SumSpecificity(elements_); }

 private:
  std::vector<std::unique_ptr<Matcher>> elements_;
};

// The same elements in any order: a perfect bipartite matching between the expected matchers and
// the actual elements. Each pair is tested once (n^2 tests), then augmenting paths (Kuhn's
// algorithm, O(n^3) steps) pair them: polynomial where backtracking over orders was factorial.
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
    const size_t size = static_cast<size_t>(n);
    // fits[spec * size + i]: matcher `spec` accepts element i.
    std::vector<char> fits(size * size);
    for (size_t spec = 0; spec < size; ++spec) {
      bool any = false;
      for (size_t i = 0; i < size; ++i) {
        fits[spec * size + i] = elements_[spec]->Matches(node.Element(static_cast<int>(i)), nullptr);
        any = any || fits[spec * size + i];
      }
      if (!any) {
        return Fail(why, absl::StrCat("no element matches $unordered/", spec, " (none of the ",
                                      size, " elements fits it)"));
      }
    }
    size_t paired = 0;
    size_t left_over = size;  // the first matcher left without an element
    std::vector<int> owner(size, -1);  // element -> the matcher it is paired with
    std::vector<int> partner(size, -1);  // matcher -> its element
    for (size_t spec = 0; spec < size; ++spec) {
      if (Augment(spec, fits, &owner, &partner)) {
        ++paired;
      } else if (left_over == size) {
        left_over = spec;
      }
    }
    if (paired == size) return true;
    return Fail(why, absl::StrCat("no order of the elements matches $unordered: at most ", paired,
                                  " of ", size, " elements pair with a matcher ($unordered/",
                                  left_over, " is left without one)"));
  }
  int Specificity() const override { return 1 + SumSpecificity(elements_); }

 private:
  // Pairs matcher `root` by an augmenting path found breadth first (no recursion: arrays may be
  // long); false, with nothing changed, when there is none.
  static bool Augment(size_t root, const std::vector<char>& fits, std::vector<int>* owner,
                      std::vector<int>* partner) {
    const size_t size = owner->size();
    std::vector<int> came_from(size, -1);  // element -> the matcher that reached it
    std::vector<size_t> queue{root};
    for (size_t head = 0; head < queue.size(); ++head) {
      const size_t spec = queue[head];
      for (size_t i = 0; i < size; ++i) {
        if (!fits[spec * size + i] || came_from[i] >= 0) continue;
        came_from[i] = static_cast<int>(spec);
        if ((*owner)[i] >= 0) {
          queue.push_back(static_cast<size_t>((*owner)[i]));
          continue;
        }
        // A free element: flip the path back to the root.
        for (int element = static_cast<int>(i); element >= 0;) {
          const int by = came_from[element];
          const int previous = (*partner)[by];
          (*owner)[element] = by;
          (*partner)[by] = element;
          element = previous;
        }
        return true;
      }
    }
    return false;
  }
  std::vector<std::unique_ptr<Matcher>> elements_;
};

class EachMatcher final : public Matcher {
 public:
  explicit EachMatcher(std::unique_ptr<Matcher> element) : element_(std::move(element)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated()) return FailValues(why, "an array", Show(node));
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
    if (!node.IsRepeated()) return FailValues(why, "an array", Show(node));
    const int n = node.Size();
    if (n < min_) return FailValues(why, absl::StrCat("at least ", min_, " elements"), absl::StrCat(n));
    if (n > max_) return FailValues(why, absl::StrCat("at most ", max_, " elements"), absl::StrCat(n));
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
      return Fail(why, absl::StrCat("unset, expected a string containing ", Quote(needle_)));
    }
    if (KindOfNode(node) != JsonKind::kString) {
      return FailValues(why, absl::StrCat("a string containing ", Quote(needle_)), Show(node));
    }
    if (TextOf(node).find(needle_) != std::string::npos) return true;
    return FailValues(why, absl::StrCat("a string containing ", Quote(needle_)), Show(node));
  }

 private:
  std::string needle_;
};

class ContainsElementMatcher final : public Matcher {
 public:
  explicit ContainsElementMatcher(std::unique_ptr<Matcher> element) : element_(std::move(element)) {}
  bool Matches(const Node& node, Mismatch* why) const override {
    if (!node.IsRepeated()) return FailValues(why, "an array", Show(node));
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
      return FailValues(why, absl::StrCat("a string matching /", re_->pattern(), "/"), Show(node));
    }
    std::string text = TextOf(node);
    if (RE2::FullMatch(text, *re_)) return true;
    return Fail(why, absl::StrCat(Quote(text), " does not match /", re_->pattern(), "/"));
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
      return FailValues(why, type_, "a metadata string");
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
    return FailValues(why, type_, JsonKindName(kind));
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
      return FailValues(why, absl::StrCat("a number ", Describe()), Show(node));
    }
    bool ok = op_ == "$gt" ? v > bound_ : op_ == "$gte" ? v >= bound_ : op_ == "$lt" ? v < bound_
                                                                                     : v <= bound_;
    if (ok) return true;
    return FailValues(why, absl::StrCat("a number ", Describe()), TextOf(node));
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
      return FailTexts(why, text_, *node.text, false);
    }
    if (node.msg == nullptr) return Fail(why, absl::StrCat("missing, expected ", Expected()));
    if (field_ == nullptr) return Fail(why, "expected a metadata value");
    if (field_->has_presence() && !element_ && node.IsUnset()) {
      return FailValues(why, Expected(), "unset");
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
    if (field_->cpp_type() == FD::CPPTYPE_STRING && !node.IsUnset() &&
        KindOfNode(node) == JsonKind::kString) {
      const bool bytes = field_->type() == FD::TYPE_BYTES;
      std::string actual = TextOf(node), expected = text_;
      if (bytes && (!absl::Base64Unescape(expected, &expected) ||
                    !absl::Base64Unescape(actual, &actual))) {
        return FailValues(why, Expected(), Show(node));
      }
      return FailTexts(why, expected, actual, bytes);
    }
    return FailValues(why, Expected(), Show(node));
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
    return t == FD::CPPTYPE_STRING || t == FD::CPPTYPE_ENUM ? Quote(text_) : text_;
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
    if (m == nullptr) return FailValues(why, shown_, "unset");
    if (pb::util::MessageDifferencer::Equals(*expected_, *m)) return true;
    std::string got = TextOf(node);
    return FailValues(why, shown_, got.empty() ? "a different value" : QuoteCapped(got));
  }

 private:
  std::unique_ptr<pb::Message> expected_;
  std::string shown_;
};


}  // namespace internal
}  // namespace understudy

#endif  // UNDERSTUDY_SRC_MATCHERS_INTERNAL_H_
