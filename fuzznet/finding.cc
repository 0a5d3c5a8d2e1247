#include "fuzznet/finding.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/diagnostics.h"
#include "src/interaction_loader.h"
#include "src/mutator.h"
#include "src/response.h"
#include "verify/verify_case.h"

namespace understudy::fuzznet {
namespace {

namespace pb = google::protobuf;
using json = nlohmann::json;

// The interaction with every request body written by `body`.
template <typename Body>
json Interaction(const FuzzRequest& request, const json& status, const std::string& name,
                 const std::string& description, int responses, Body body) {
  json interaction = {{"name", name},
                      {"description", description},
                      {"method", absl::StrCat(request.method->service()->full_name(), "/",
                                              request.method->name())}};
  json messages = json::array();
  for (const auto& text : request.json) messages.push_back(body(json::parse(text)));
  const bool client_streams = request.method->client_streaming();
  const bool server_streams = request.method->server_streaming();
  if (client_streams && server_streams) {
    // Played as sent: every client message, then each server message (matched by `{}`: any).
    json conversation = json::array();
    for (auto& m : messages) conversation.push_back({{"client", std::move(m)}});
    for (int i = 0; i < responses; ++i) conversation.push_back({{"server", json::object()}});
    interaction["conversation"] = std::move(conversation);
  } else if (client_streams) {
    interaction["request"] = {{"stream", std::move(messages)}};
  } else {
    interaction["request"] = {{"body", std::move(messages.at(0))}};
  }
  interaction["response"] = {{"status", status}};
  return {{"interactions", json::array({std::move(interaction)})}};
}

bool IsUtf8(const std::string& text) {
  std::string copy = text;
  fuzz::MakeUtf8(&copy);
  return copy == text;
}

// A full-match RE2 pattern for `message` in which every digit run matches any digit run.
std::string DigitsAnyPattern(const std::string& message) {
  std::string pattern;
  size_t i = 0;
  while (i < message.size()) {
    size_t j = i;
    const bool digits = absl::ascii_isdigit(static_cast<unsigned char>(message[i]));
    while (j < message.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(message[j])) == digits) {
      ++j;
    }
    absl::StrAppend(&pattern, digits ? "\\d+" : RE2::QuoteMeta(message.substr(i, j - i)));
    i = j;
  }
  return pattern;
}

}  // namespace

bool FindingLimiter::WouldAdmit(const std::string& method, const std::string& status,
                                const std::string& shape) const {
  auto it = shapes_.find({method, status});
  if (it == shapes_.end()) return max_shapes_ > 0;
  return it->second.count(shape) == 0 && it->second.size() < max_shapes_;
}

bool FindingLimiter::Admit(const std::string& method, const std::string& status,
                           const std::string& shape) {
  if (!WouldAdmit(method, status, shape)) return false;
  shapes_[{method, status}].insert(shape);
  ++admitted_;
  return true;
}

json ExpectedStatus(int code, const std::string& message) {
  json status = {{"code", StatusCodeName(code)}};
  // A message that reads as a template ({{...}}) would be rendered, not compared; one that is not
  // UTF-8 has no JSON form: leave them out.
  if (message.empty() || absl::StrContains(message, "{{") || !IsUtf8(message)) return status;
  if (std::none_of(message.begin(), message.end(),
                   [](unsigned char c) { return absl::ascii_isdigit(c); })) {
    status["message"] = message;
  } else {
    // Ids, counts and times in a message change from run to run; the words stay.
    status["message"] = {{"$regex", DigitsAnyPattern(message)}, {"$example", message}};
  }
  return status;
}

json FindingFile(const Schema& schema, const FuzzRequest& request, const CallOutcome& outcome,
                 bool crashed, const std::string& description, const std::string& id,
                 std::string* note) {
  const int code = crashed ? grpc::StatusCode::UNAVAILABLE : static_cast<int>(outcome.code);
  json status = ExpectedStatus(code, crashed ? "" : outcome.message);
  std::string name =
      absl::StrCat("fuzz: ", request.method->service()->name(), "/", request.method->name(), " ",
                   crashed ? "crash" : StatusCodeName(code), " ", id);
  const int responses = outcome.responses;
  json literal =
      Interaction(request, status, name, description, responses, [](json body) { return body; });
  absl::Status replayable = CheckReplayable(schema, literal, "finding");
  if (replayable.ok()) return literal;
  json exact = Interaction(request, status, name, description, responses, [](json body) {
    return json{{"$eq", std::move(body)}};
  });
  if (CheckReplayable(schema, exact, "finding").ok()) return exact;
  *note = std::string(replayable.message());
  return literal;
}

absl::Status CheckReplayable(const Schema& schema, const json& file_json, const std::string& file) {
  Diagnostics problems;
  auto interactions = CompileFile(file_json, file, schema, &problems);
  if (!problems.empty()) return problems.ToStatus();
  for (const auto& interaction : interactions) {
    VerifyCase::Plan(*interaction, schema, {}, &problems);
  }
  return problems.ToStatus();
}

std::string FindingId(const std::string& dedup_key) {
  char hash[9];
  std::snprintf(hash, sizeof(hash), "%08x", static_cast<uint32_t>(Fnv1a64(dedup_key)));
  return hash;
}

std::string FindingFileName(const pb::MethodDescriptor* method, const std::string& status,
                            const std::string& id) {
  return absl::StrCat(method->full_name(), "-", status, "-", id, ".json");
}

}  // namespace understudy::fuzznet
