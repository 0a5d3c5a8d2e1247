#include "mockserver/journal.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/interaction.h"
#include "src/interaction_loader.h"
#include "src/matcher.h"
#include "src/response.h"

namespace understudy {

namespace pb = google::protobuf;

namespace {

constexpr char kSpecFile[] = "<spec>";

absl::string_view WithoutSlash(absl::string_view method) {
  if (absl::StartsWith(method, "/")) method.remove_prefix(1);
  return method;
}

// Compiles `spec` against `type`, as a request body of an interaction file is.
absl::StatusOr<std::unique_ptr<Matcher>> CompileSpec(const Schema& schema,
                                                     const nlohmann::json& spec,
                                                     const pb::Descriptor* type,
                                                     const std::string& pointer) {
  Diagnostics diagnostics;
  MatcherCompiler compiler(&schema, kSpecFile, &diagnostics);
  std::unique_ptr<Matcher> matcher = compiler.Compile(spec, Target::Message(type), pointer);
  if (!diagnostics.empty() || matcher == nullptr) {
    return diagnostics.empty() ? absl::InvalidArgumentError("invalid spec")
                               : diagnostics.ToStatus();
  }
  return matcher;
}

absl::StatusOr<nlohmann::json> ParseSpec(absl::string_view text) {
  Diagnostics diagnostics;
  nlohmann::json parsed = ParseJsonText(std::string(text), kSpecFile, &diagnostics);
  if (parsed.is_discarded()) return diagnostics.ToStatus();
  return parsed;
}

}  // namespace

std::string RecordedMessage::Json() const {
  std::string out;
  pb::util::JsonPrintOptions options;
  auto status = pb::util::MessageToJsonString(*message, &out, options);
  if (!status.ok()) return absl::StrCat("<", message->GetTypeName(), ": ", status.ToString(), ">");
  return out;
}

const std::string* RecordedCall::FindMetadata(absl::string_view key) const {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string RecordedCall::RequestJson() const {
  if (requests.size() == 1) return requests[0].Json();
  std::string out = "[";
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", requests[i].Json());
  }
  return out + "]";
}

absl::StatusOr<bool> RecordedCall::RequestMatches(absl::string_view spec, std::string* why) const {
  auto parsed = ParseSpec(spec);
  if (!parsed.ok()) return parsed.status();
  const pb::MethodDescriptor* method =
      schema == nullptr ? nullptr : schema->FindMethod(this->method);
  if (method == nullptr) {
    if (why != nullptr) *why = absl::StrCat(this->method, " is not in the mock's schema");
    return false;
  }
  auto matcher = CompileSpec(*schema, *parsed, method->input_type(), "");
  if (!matcher.ok()) return matcher.status();
  if (requests.size() != 1) {
    if (why != nullptr)
      *why = absl::StrCat("the call has ", requests.size(), " request messages, not 1");
    return false;
  }
  Mismatch mismatch;
  if ((*matcher)->Matches(Node::OfMessage(requests[0].message.get()), &mismatch)) return true;
  if (why != nullptr) *why = mismatch.ToString();
  return false;
}

absl::StatusOr<bool> RecordedCall::StreamMatches(absl::string_view spec, std::string* why) const {
  auto parsed = ParseSpec(spec);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kSpecFile, ": expected an array of messages, got ", parsed->type_name()));
  }
  const pb::MethodDescriptor* method =
      schema == nullptr ? nullptr : schema->FindMethod(this->method);
  if (method == nullptr) {
    if (why != nullptr) *why = absl::StrCat(this->method, " is not in the mock's schema");
    return false;
  }
  std::vector<std::unique_ptr<Matcher>> matchers;
  for (size_t i = 0; i < parsed->size(); ++i) {
    auto matcher = CompileSpec(*schema, (*parsed)[i], method->input_type(), JoinPointer("", i));
    if (!matcher.ok()) return matcher.status();
    matchers.push_back(std::move(*matcher));
  }
  if (requests.size() != matchers.size()) {
    if (why != nullptr) {
      *why = absl::StrCat("expected ", matchers.size(), " client messages, got ", requests.size());
    }
    return false;
  }
  for (size_t i = 0; i < matchers.size(); ++i) {
    Mismatch mismatch;
    if (!matchers[i]->Matches(Node::OfMessage(requests[i].message.get()), &mismatch)) {
      if (why != nullptr) *why = absl::StrCat("/", i, mismatch.pointer, ": ", mismatch.reason);
      return false;
    }
  }
  return true;
}

std::string RecordedCall::DebugString() const {
  std::string out = absl::StrCat("#", sequence, " ", method, " ");
  if (requests.empty()) {
    absl::StrAppend(&out, "(no request message)");
  } else {
    absl::StrAppend(&out, RequestJson());
  }
  std::string shown_metadata;
  for (const auto& [key, value] : metadata) {
    if (key == "user-agent") continue;  // every call has one; it would only hide the others
    absl::StrAppend(&shown_metadata, shown_metadata.empty() ? "" : ", ", key, ": ",
                    (key.size() > 4 && absl::EndsWith(key, "-bin")) ? "<binary>" : value);
  }
  if (!shown_metadata.empty()) absl::StrAppend(&out, " metadata {", shown_metadata, "}");
  absl::StrAppend(&out, " -> ", StatusCodeName(static_cast<int>(code)));
  if (!interaction.empty() && miss.empty()) {
    absl::StrAppend(&out, ", answered by \"", interaction, "\" (", interaction_file, ")");
  } else if (!miss.empty()) {
    absl::StrAppend(&out, ", unmatched: ", miss);
  } else if (!status_message.empty()) {
    absl::StrAppend(&out, ": ", status_message);
  }
  return out;
}

// One call per line when gmock prints a list of them.
void PrintTo(const RecordedCall& call, std::ostream* os) { *os << "\n    " << call.DebugString(); }

Journal::Journal(std::shared_ptr<const Schema> schema, size_t capacity, CallObserver* next,
                 int64_t max_bytes)
    : schema_(std::move(schema)), capacity_(capacity), next_(next), max_bytes_(max_bytes) {}

namespace {
// What a kept call costs beyond its bytes: the record, strings and the messages' objects.
constexpr int64_t kCallOverhead = 512;
constexpr int64_t kMessageOverhead = 128;
}  // namespace

int64_t Journal::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

void Journal::OnCallDone(const Record& record) {
  if (next_ != nullptr) next_->OnCallDone(record);
  RecordedCall call;
  call.method = std::string(WithoutSlash(record.method));
  call.metadata.reserve(record.metadata->size());
  for (const auto& [key, value] : *record.metadata) {
    call.metadata.emplace_back(std::string(key), std::string(value));
  }
  // The messages are shared with the finished call, not copied; each keeps its schema alive.
  int64_t metadata_bytes = 0;
  for (const auto& [key, value] : call.metadata) metadata_bytes += key.size() + value.size();
  call.bytes = kCallOverhead + metadata_bytes + record.request_bytes +
               kMessageOverhead * static_cast<int64_t>(record.requests->size()) +
               record.message.size() + record.miss.size();
  const bool keep_messages = max_bytes_ <= 0 || call.bytes <= max_bytes_;
  if (!keep_messages) {
    call.requests_dropped = record.requests->size();
    call.bytes = kCallOverhead + metadata_bytes + record.message.size() + record.miss.size();
  }
  call.requests.reserve(keep_messages ? record.requests->size() : 0);
  for (size_t i = 0; keep_messages && i < record.requests->size(); ++i) {
    RecordedMessage message;
    message.message = (*record.requests)[i];
    if (i < record.received->size()) message.received = (*record.received)[i];
    call.requests.push_back(std::move(message));
  }
  if (record.interaction != nullptr) {
    call.interaction = record.interaction->name;
    call.interaction_file = record.interaction->file;
  }
  call.miss = record.miss;
  if (call.miss.empty() && record.interaction == nullptr &&
      record.code != grpc::StatusCode::CANCELLED) {
    call.miss = record.message;  // unknown method, undecodable message
  }
  call.code = record.code;
  call.status_message = record.message;
  call.start = record.start;
  call.end = std::chrono::system_clock::now();
  call.messages_sent = record.messages_sent;
  call.schema = schema_;

  std::vector<RecordedCall> evicted;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(mu_);
  call.sequence = ++sequence_;
  while (!calls_.empty() && (calls_.size() >= capacity_ ||
                             (max_bytes_ > 0 && bytes_ + call.bytes > max_bytes_))) {
    bytes_ -= calls_.front().bytes;
    evicted.push_back(std::move(calls_.front()));
    calls_.pop_front();
  }
  bytes_ += call.bytes;
  calls_.push_back(std::move(call));
  recorded_.notify_all();
}

std::vector<RecordedCall> Journal::Calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::vector<RecordedCall>(calls_.begin(), calls_.end());
}

std::vector<RecordedCall> Journal::Calls(absl::string_view method) const {
  method = WithoutSlash(method);
  std::vector<RecordedCall> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& call : calls_) {
    if (call.method == method) out.push_back(call);
  }
  return out;
}

std::vector<RecordedCall> Journal::UnmatchedCalls() const {
  std::vector<RecordedCall> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& call : calls_) {
    if (call.unmatched()) out.push_back(call);
  }
  return out;
}

std::vector<RecordedCall> Journal::WaitForCalls(absl::string_view method, size_t count,
                                                std::chrono::milliseconds timeout) const {
  method = WithoutSlash(method);
  std::vector<RecordedCall> out;
  std::unique_lock<std::mutex> lock(mu_);
  recorded_.wait_for(lock, timeout, [&] {
    out.clear();
    for (const auto& call : calls_) {
      if (call.method == method) out.push_back(call);
    }
    return out.size() >= count;
  });
  return out;
}

void Journal::Clear() {
  std::deque<RecordedCall> cleared;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(mu_);
  cleared.swap(calls_);
  bytes_ = 0;
}

}  // namespace understudy
