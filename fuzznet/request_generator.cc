#include "fuzznet/request_generator.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/ascii.h"

namespace understudy::fuzznet {
namespace {

namespace pb = google::protobuf;

bool IsStream(const pb::MethodDescriptor* method) { return method->client_streaming(); }

// The fewest client messages a request holds. A bidirectional one sends at least one: replayed
// as a conversation, a call without client steps would read before it half-closes.
size_t MinMessages(const pb::MethodDescriptor* method) {
  return !method->client_streaming() || method->server_streaming() ? 1 : 0;
}

// Mutations stacked on one parent: mostly one or two, sometimes more (several fields at once).
constexpr int kStackChoices[] = {1, 1, 1, 2, 2, 3, 4, 6};
constexpr int kAttempts = 4;

// The ranges of google.protobuf.Timestamp (0001-01-01 to 9999-12-31) and Duration (10000 years).
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kMaxNanos = 999999999;

// A FieldMask path with a JSON form: lower-case snake_case segments, each `_` before a letter.
bool HasJsonForm(const std::string& path) {
  if (path.empty()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '_') {
      if (i + 1 >= path.size() || !absl::ascii_islower(static_cast<unsigned char>(path[i + 1]))) {
        return false;
      }
    } else if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
               !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.') {
      return false;
    }
  }
  return true;
}

// Brings the well-known types in `message` (itself or below) into the ranges their JSON forms
// allow, so that a mutant has a JSON form: the printer fails on them otherwise.
void FixWellKnownTypes(const Schema& schema, pb::Message* message) {
  const pb::Descriptor* type = message->GetDescriptor();
  const pb::Reflection* r = message->GetReflection();
  const std::string& name = type->full_name();
  if (name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration") {
    const pb::FieldDescriptor* seconds = type->FindFieldByName("seconds");
    const pb::FieldDescriptor* nanos = type->FindFieldByName("nanos");
    const bool timestamp = name == "google.protobuf.Timestamp";
    int64_t s = std::clamp<int64_t>(r->GetInt64(*message, seconds),
                                    timestamp ? kMinTimestampSeconds : -kMaxDurationSeconds,
                                    timestamp ? kMaxTimestampSeconds : kMaxDurationSeconds);
    int32_t n =
        std::clamp<int32_t>(r->GetInt32(*message, nanos), timestamp ? 0 : -kMaxNanos, kMaxNanos);
    if (!timestamp && ((s > 0 && n < 0) || (s < 0 && n > 0))) n = -n;  // one sign for both
    r->SetInt64(message, seconds, s);
    r->SetInt32(message, nanos, n);
    return;
  }
  if (name == "google.protobuf.Any") {
    const std::string url = r->GetString(*message, type->FindFieldByName("type_url"));
    const size_t slash = url.rfind('/');
    if (url.empty()) return;
    const pb::Descriptor* packed =
        slash == std::string::npos ? nullptr : schema.FindMessage(url.substr(slash + 1));
    // The printer needs the type, and a value of that type, to print an Any.
    if (packed == nullptr || !schema.NewMessage(packed)->ParseFromString(
                                 r->GetString(*message, type->FindFieldByName("value")))) {
      message->Clear();
    }
    return;
  }
  if (name == "google.protobuf.FieldMask") {
    const pb::FieldDescriptor* paths = type->FindFieldByName("paths");
    std::vector<std::string> kept;
    for (int i = 0; i < r->FieldSize(*message, paths); ++i) {
      std::string path = r->GetRepeatedString(*message, paths, i);
      if (HasJsonForm(path)) kept.push_back(std::move(path));
    }
    r->ClearField(message, paths);
    for (auto& path : kept) r->AddString(message, paths, std::move(path));
    return;
  }
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!f->is_repeated()) {
      FixWellKnownTypes(schema, r->MutableMessage(message, f));
      continue;
    }
    for (int i = 0; i < r->FieldSize(*message, f); ++i) {
      FixWellKnownTypes(schema, r->MutableRepeatedMessage(message, f, i));
    }
  }
}

// Replaces what is not UTF-8 in every string field of `message`, below it too: proto3 strings
// must be UTF-8, and only then has the message a JSON form an interaction file can hold.
void MakeStringsUtf8(pb::Message* message) {
  const pb::Reflection* r = message->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const auto* f : fields) {
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (!f->is_repeated()) {
        std::string text = r->GetString(*message, f);
        fuzz::MakeUtf8(&text);
        r->SetString(message, f, std::move(text));
        continue;
      }
      for (int i = 0; i < r->FieldSize(*message, f); ++i) {
        std::string text = r->GetRepeatedString(*message, f, i);
        fuzz::MakeUtf8(&text);
        r->SetRepeatedString(message, f, i, std::move(text));
      }
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!f->is_repeated()) {
        MakeStringsUtf8(r->MutableMessage(message, f));
        continue;
      }
      for (int i = 0; i < r->FieldSize(*message, f); ++i) {
        MakeStringsUtf8(r->MutableRepeatedMessage(message, f, i));
      }
    }
  }
}

}  // namespace

RequestCorpus::RequestCorpus(const Schema* schema,
                             const std::vector<const pb::MethodDescriptor*>& methods)
    : schema_(schema) {
  for (const auto* method : methods) {
    // The empty message serializes to no bytes.
    std::vector<std::string> empty(MinMessages(method), "");
    entries_[method].push_back(std::move(empty));
  }
}

bool RequestCorpus::AddSeed(const pb::MethodDescriptor* method,
                            const std::vector<std::string>& json_messages) {
  std::vector<std::string> serialized;
  for (const auto& text : json_messages) {
    auto message = schema_->NewMessage(method->input_type());
    if (!pb::util::JsonStringToMessage(text, message.get()).ok()) return false;
    fuzz::FillRequiredFields(message.get());
    serialized.push_back(message->SerializePartialAsString());
  }
  if (serialized.size() < MinMessages(method) || (!IsStream(method) && serialized.size() != 1)) {
    return false;
  }
  if (serialized.size() > kMaxStreamMessages) serialized.resize(kMaxStreamMessages);
  std::lock_guard<std::mutex> lock(mu_);
  auto& entries = entries_[method];
  if (std::find(entries.begin(), entries.end(), serialized) == entries.end()) {
    entries.push_back(std::move(serialized));
  }
  return true;
}

void RequestCorpus::Add(const FuzzRequest& request, std::minstd_rand* rng) {
  std::vector<std::string> serialized;
  for (const auto& m : request.messages) serialized.push_back(m->SerializePartialAsString());
  std::lock_guard<std::mutex> lock(mu_);
  auto& entries = entries_[request.method];
  if (entries.size() < kMaxCorpusPerMethod) {
    entries.push_back(std::move(serialized));
  } else {
    entries[1 + (*rng)() % (entries.size() - 1)] = std::move(serialized);
  }
}

std::vector<std::string> RequestCorpus::Pick(const pb::MethodDescriptor* method,
                                             std::minstd_rand* rng) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(method);
  if (it == entries_.end() || it->second.empty()) return {};
  return it->second[(*rng)() % it->second.size()];
}

size_t RequestCorpus::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [method, entries] : entries_) n += entries.size();
  return n;
}

RequestGenerator::RequestGenerator(const Schema* schema, const RequestCorpus* corpus, unsigned seed)
    : schema_(schema), corpus_(corpus), rng_(seed), mutator_(seed ^ 0x5bd1e995u) {}

bool RequestGenerator::Next(const pb::MethodDescriptor* method, FuzzRequest* out) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    out->method = method;
    out->messages.clear();
    out->json.clear();
    for (const auto& bytes : corpus_->Pick(method, &rng_)) {
      auto message = schema_->NewMessage(method->input_type());
      message->ParsePartialFromString(bytes);
      out->messages.push_back(std::move(message));
    }
    int stack = kStackChoices[Below(sizeof(kStackChoices) / sizeof(int))];
    for (int i = 0; i < stack; ++i) MutateOnce(method, &out->messages);
    if (Normalize(out)) return true;
  }
  return false;
}

void RequestGenerator::MutateOnce(const pb::MethodDescriptor* method,
                                  std::vector<std::unique_ptr<pb::Message>>* messages) {
  const pb::Descriptor* type = method->input_type();
  size_t n = messages->size();
  if (!IsStream(method)) {
    mutator_.Mutate((*messages)[0].get());
    return;
  }
  // A stream: most changes go to one message; the others grow, shrink or reorder the stream.
  switch (n == 0 ? 0 : Below(10)) {
    case 0:  // append a new message
      if (n < kMaxStreamMessages) {
        auto message = schema_->NewMessage(type);
        mutator_.Mutate(message.get());
        messages->push_back(std::move(message));
        return;
      }
      break;
    case 1:  // duplicate one, the copy right after it
      if (n < kMaxStreamMessages) {
        size_t at = Below(static_cast<int>(n));
        auto copy = schema_->NewMessage(type);
        copy->CopyFrom(*(*messages)[at]);
        messages->insert(messages->begin() + at + 1, std::move(copy));
        return;
      }
      break;
    case 2:  // remove one
      if (n > MinMessages(method)) {
        messages->erase(messages->begin() + Below(static_cast<int>(n)));
        return;
      }
      break;
    case 3:  // swap two
      std::swap((*messages)[Below(static_cast<int>(n))], (*messages)[Below(static_cast<int>(n))]);
      return;
    default:
      break;
  }
  if (messages->empty()) return;
  mutator_.Mutate((*messages)[Below(static_cast<int>(messages->size()))].get());
}

bool RequestGenerator::Normalize(FuzzRequest* request) {
  request->json.clear();
  size_t bytes = 0;
  for (auto& message : request->messages) {
    // Requests stay small: a finding must be a file one can read, and the server's size limit is
    // not what is being fuzzed.
    bytes += message->ByteSizeLong();
    if (bytes > kMaxRequestBytes) return false;
    MakeStringsUtf8(message.get());
    FixWellKnownTypes(*schema_, message.get());
    // A mutation may have cleared a proto2 required field; the JSON printer aborts without it.
    fuzz::FillRequiredFields(message.get());
    std::string text;
    // The text must also be JSON that interaction files can hold (e.g. valid UTF-8).
    if (!pb::util::MessageToJsonString(*message, &text).ok() || !nlohmann::json::accept(text)) {
      return false;
    }
    auto parsed = schema_->NewMessage(message->GetDescriptor());
    if (!pb::util::JsonStringToMessage(text, parsed.get()).ok()) return false;
    message = std::move(parsed);
    request->json.push_back(std::move(text));
  }
  return true;
}

}  // namespace understudy::fuzznet
