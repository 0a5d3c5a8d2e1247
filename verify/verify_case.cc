// VerifyCase::Run: plays the call and compares the answer with the interaction.
#include "verify/verify_case.h"

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "src/response.h"
#include "verify/expectations.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;

std::string CodeName(int code) {
  const char* name = StatusCodeName(code);
  return name != nullptr ? name : absl::StrCat(code);
}

const std::string* FindValue(const MetadataPairs& metadata, const std::string& key) {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

void JudgeMetadata(const std::vector<ExpectedMetadata>& expected, const MetadataPairs& actual,
                   const MetadataPairs* fallback, std::vector<Difference>* out) {
  for (const auto& e : expected) {
    const std::string* value = FindValue(actual, e.key);
    if (value == nullptr && fallback != nullptr) value = FindValue(*fallback, e.key);
    std::string text;
    if (value != nullptr) text = e.binary ? absl::Base64Escape(*value) : *value;
    Mismatch why;
    Node node = value != nullptr ? Node::OfText(&text) : Node{nullptr, nullptr, -1, nullptr};
    if (e.matcher->Matches(node, &why)) continue;
    if (value == nullptr) {
      out->push_back({e.pointer, "missing: the server did not send this key"});
    } else {
      out->push_back({e.pointer + why.pointer, why.reason, why.expected, why.actual});
    }
  }
}

std::string AsJson(const pb::Message& message) {
  std::string text;
  if (!pb::util::MessageToJsonString(message, &text).ok()) return "(not printable as JSON)";
  if (text.size() <= kShownValueBytes) return text;
  // A long message is summarised: its start (not cut inside a character) and its size.
  size_t end = kShownValueBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return absl::StrCat(text.substr(0, end), "... (", text.size(), " bytes of JSON)");
}

// Mismatches of `actual` against `matcher`, as differences under `pointer`.
void Collect(const Matcher& matcher, const pb::Message& actual, const std::string& pointer,
             std::vector<Difference>* out) {
  std::vector<Mismatch> found;
  matcher.CollectMismatches(Node::OfMessage(&actual), &found);
  for (const auto& m : found) out->push_back({pointer + m.pointer, m.reason, m.expected, m.actual});
}

}  // namespace

std::vector<Difference> VerifyCase::Run(grpc::GenericStub* stub,
                                        std::chrono::milliseconds timeout) const {
  Outcome outcome;
  {
    GenericCall call(stub, "/" + MethodName(interaction_->method), metadata_,
                     std::chrono::system_clock::now() + timeout);
    bool alive = call.Start();
    bool ended = false;  // a read found the end of the stream
    const bool streams = interaction_->kind == RpcKind::kServerStreaming ||
                         interaction_->kind == RpcKind::kBidiStreaming;
    auto take = [&](std::string* bytes) {
      outcome.messages.push_back(std::move(*bytes));
      // One message past what is expected already makes the difference; the rest is not read.
      if (streams && outcome.messages.size() > expected_->messages.size()) outcome.cut_short = true;
    };
    if (interaction_->kind != RpcKind::kBidiStreaming) {
      for (const auto& bytes : requests_) alive = alive && call.Write(bytes);
      if (alive) call.WritesDone();
    } else {
      // Steps in the file's order: a server step waits for the next message. After the last
      // client step the client half-closes, as a client that has nothing more to say would.
      size_t next_request = 0;
      bool closed = false;
      for (bool client : client_steps_) {
        std::string bytes;
        if (client) {
          alive = alive && call.Write(requests_[next_request++]);
          if (alive && next_request == requests_.size()) {
            call.WritesDone();
            closed = true;
          }
        } else if (alive && call.Read(&bytes)) {
          take(&bytes);
        } else {
          alive = false;  // the stream ended: later server steps are reported missing
          ended = true;
        }
      }
      if (alive && !closed) call.WritesDone();
    }
    std::string bytes;
    while (!ended && !outcome.cut_short && call.Read(&bytes)) take(&bytes);
    if (outcome.cut_short) call.Cancel();
    outcome.status = call.Finish();
    outcome.headers = call.Headers();
    outcome.trailers = call.Trailers();
  }
  std::vector<Difference> out;
  Judge(outcome, timeout, &out);
  return out;
}

void VerifyCase::Judge(const Outcome& outcome, std::chrono::milliseconds timeout,
                       std::vector<Difference>* out) const {
  const Expectations& e = *expected_;
  if (outcome.cut_short) {
    // The call was cancelled here: its status and trailers say nothing about the server.
    JudgeMetadata(e.headers, outcome.headers, nullptr, out);
    JudgeMessages(outcome, out);
    return;
  }
  const int code = static_cast<int>(outcome.status.error_code());
  if (code != e.code) {
    std::string got = CodeName(code);
    if (!outcome.status.error_message().empty()) {
      absl::StrAppend(&got, " ", QuoteCapped(outcome.status.error_message()));
    }
    if (code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      absl::StrAppend(&got, " (the verifier's deadline: ", timeout.count(), " ms)");
    }
    out->push_back({"/response/status/code",
                    absl::StrCat("expected ", CodeName(e.code), ", got ", got), CodeName(e.code),
                    got});
    return;  // the rest of an answer with the wrong status says little
  }
  if (e.status_message != nullptr) {
    const std::string text = outcome.status.error_message();
    Mismatch why;
    if (!e.status_message->Matches(Node::OfText(&text), &why)) {
      out->push_back({"/response/status/message" + why.pointer, why.reason, why.expected,
                      why.actual});
    }
  }
  if (!e.details.empty()) {
    const pb::Descriptor* status_type = schema_->FindMessage("google.rpc.Status");
    auto status = schema_->NewMessage(status_type);
    status->ParseFromString(outcome.status.error_details());
    const pb::FieldDescriptor* details_field = status_type->FindFieldByName("details");
    const pb::Reflection* reflection = status->GetReflection();
    const int count = reflection->FieldSize(*status, details_field);
    for (const auto& detail : e.details) {
      // The first detail of that type; other details the server adds are fine.
      std::unique_ptr<pb::Message> unpacked;
      for (int i = 0; i < count && unpacked == nullptr; ++i) {
        const pb::Message& any = reflection->GetRepeatedMessage(*status, details_field, i);
        const pb::Descriptor* any_type = any.GetDescriptor();
        std::string url = any.GetReflection()->GetString(any, any_type->FindFieldByName("type_url"));
        if (url.substr(url.rfind('/') + 1) != detail.type->full_name()) continue;
        unpacked = schema_->NewMessage(detail.type);
        unpacked->ParseFromString(any.GetReflection()->GetString(any, any_type->FindFieldByName("value")));
      }
      if (unpacked == nullptr) {
        out->push_back({detail.pointer, absl::StrCat("missing: no ", detail.type->full_name(),
                                                     " among the ", count, " details sent")});
        continue;
      }
      Collect(*detail.matcher, *unpacked, detail.pointer, out);
    }
  }
  // Headers of a trailers-only answer (an error before any message) arrive with the trailers.
  JudgeMetadata(e.headers, outcome.headers, outcome.messages.empty() ? &outcome.trailers : nullptr,
                out);
  JudgeMetadata(e.trailers, outcome.trailers, nullptr, out);
  if (e.check_messages) JudgeMessages(outcome, out);
}

void VerifyCase::JudgeMessages(const Outcome& outcome, std::vector<Difference>* out) const {
  const Expectations& e = *expected_;
  const pb::Descriptor* type = interaction_->method->output_type();
  const bool single = interaction_->kind == RpcKind::kUnary ||
                      interaction_->kind == RpcKind::kClientStreaming;
  if (single && e.code != 0) return;  // an error status carries no body
  std::vector<std::unique_ptr<pb::Message>> actual;
  for (size_t i = 0; i < outcome.messages.size(); ++i) {
    actual.push_back(schema_->NewMessage(type));
    if (!actual.back()->ParseFromString(outcome.messages[i])) {
      out->push_back({JoinPointer(e.messages_pointer, i),
                      absl::StrCat("message ", i, " is not a valid ", type->full_name())});
      return;
    }
  }
  const size_t n = e.messages.size(), m = actual.size();
  auto matches = [&](size_t i, size_t j) {
    return e.messages[i].matcher == nullptr ||
           e.messages[i].matcher->Matches(Node::OfMessage(actual[j].get()), nullptr);
  };
  auto compare = [&](size_t i, size_t j) {
    if (e.messages[i].matcher != nullptr) {
      Collect(*e.messages[i].matcher, *actual[j], e.messages[i].pointer, out);
    }
  };
  auto missing = [&](size_t i) {
    out->push_back({e.messages[i].pointer,
                    absl::StrCat("missing: the server sent ", m, " messages and none of them in ",
                                 "this place matches this one")});
  };
  auto unexpected = [&](size_t j) {
    std::string text = absl::StrCat("unexpected message ", j, " (expected ", n,
                                    "): ", AsJson(*actual[j]));
    if (outcome.cut_short && j + 1 == m) {
      absl::StrAppend(&text, "; the verifier read no further and cancelled the call");
    }
    out->push_back({e.messages_pointer, std::move(text)});
  };

  // Line the messages up: the longest run, in order, of expected messages the server sent.
  // (Quadratic; a very long stream that differs is compared position by position instead.)
  std::vector<std::pair<size_t, size_t>> anchors;  // (expected, actual), increasing
  bool positional = n * m > 1000000;
  if (!positional) {
    std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
    std::vector<std::vector<bool>> same(n, std::vector<bool>(m));
    for (size_t i = n; i-- > 0;) {
      for (size_t j = m; j-- > 0;) {
        same[i][j] = matches(i, j);
        lcs[i][j] = same[i][j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    for (size_t i = 0, j = 0; i < n && j < m;) {
      if (same[i][j] && lcs[i][j] == lcs[i + 1][j + 1] + 1) {
        anchors.emplace_back(i++, j++);
      } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
        ++i;
      } else {
        ++j;
      }
    }
    // Messages all there but in another order: say so, place by place.
    std::vector<bool> used_e(n, false), used_a(m, false);
    for (const auto& [i, j] : anchors) used_e[i] = used_a[j] = true;
    for (size_t i = 0; i < n && !positional; ++i) {
      for (size_t j = 0; j < m && !used_e[i]; ++j) positional = !used_a[j] && same[i][j];
    }
  }
  if (positional) {
    for (size_t i = 0; i < n; ++i) {
      if (i >= m) {
        missing(i);
      } else if (!matches(i, i)) {
        size_t elsewhere = n;
        for (size_t k = 0; k < n && elsewhere == n; ++k) {
          if (k != i && matches(k, i)) elsewhere = k;
        }
        if (elsewhere == n) {
          compare(i, i);
        } else {
          out->push_back({e.messages[i].pointer, absl::StrCat("out of order: message ", i,
                                                              " matches ", e.messages[elsewhere].pointer,
                                                              " instead")});
        }
      }
    }
    for (size_t j = n; j < m; ++j) unexpected(j);
    return;
  }
  // Between two lined-up messages, the others pair off in order: field differences for a pair,
  // then what is left is missing (expected) or unexpected (sent).
  anchors.emplace_back(n, m);
  for (size_t k = 0, i = 0, j = 0; k < anchors.size(); ++k) {
    const auto [next_i, next_j] = anchors[k];
    for (; i < next_i && j < next_j; ++i, ++j) compare(i, j);
    for (; i < next_i; ++i) missing(i);
    for (; j < next_j; ++j) unexpected(j);
    i = next_i + 1;
    j = next_j + 1;
  }
}

}  // namespace understudy
