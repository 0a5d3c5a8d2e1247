#include "src/selector.h"

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace understudy {
namespace {

namespace pb = google::protobuf;

constexpr size_t kMaxExplained = 2000;  // interactions scored to name the closest on a miss

std::string MetadataText(const MetadataMatcher& m, absl::string_view value) {
  return m.binary ? absl::Base64Escape(value) : std::string(value);
}

bool MatchMetadata(const MetadataMatcher& m, const Request& request, Mismatch* why) {
  bool present = false;
  if (request.metadata != nullptr) {
    for (const auto& [key, value] : *request.metadata) {
      if (key != m.key) continue;
      present = true;
      std::string text = MetadataText(m, value);
      if (m.matcher->Matches(Node::OfText(&text), nullptr)) return true;
    }
  }
  if (!present) {
    if (m.matcher->Matches(Node{nullptr, nullptr, -1, nullptr}, nullptr)) return true;
    if (why != nullptr) why->reason = "missing";
  } else if (why != nullptr) {
    std::string text = MetadataText(m, *request.Find(m.key));
    m.matcher->Matches(Node::OfText(&text), why);
  }
  if (why != nullptr) why->pointer = absl::StrCat("metadata \"", m.key, "\"", why->pointer);
  return false;
}

bool StartsWithServer(const Interaction& i) {
  return i.conversation.empty() || !i.conversation.front().client;
}

bool HasClientStep(const Interaction& i) {
  return std::any_of(i.conversation.begin(), i.conversation.end(),
                     [](const ConversationStep& s) { return s.client != nullptr; });
}

// The request-dependent part of a match, for the call's kind and stage.
bool MatchRequest(const Interaction& i, const Request& request, SelectStage stage, Mismatch* why) {
  for (const auto& m : i.metadata) {
    if (!MatchMetadata(m, request, why)) return false;
  }
  auto fail = [why](std::string where, std::string reason) {
    if (why != nullptr) {
      why->pointer = std::move(where);
      why->reason = std::move(reason);
    }
    return false;
  };
  switch (stage) {
    case SelectStage::kWhole:
      if (i.kind == RpcKind::kClientStreaming) {
        if (!i.has_stream) return true;
        size_t n = request.stream == nullptr ? 0 : request.stream->size();
        if (n != i.stream.size()) {
          return fail("stream", absl::StrCat("expected ", i.stream.size(), " client messages, got ", n));
        }
        for (size_t k = 0; k < n; ++k) {
          if (!i.stream[k]->Matches(Node::OfMessage((*request.stream)[k].get()), why)) {
            if (why != nullptr) why->pointer = absl::StrCat("stream/", k, why->pointer);
            return false;
          }
        }
        return true;
      }
      if (i.body == nullptr) return true;
      if (request.body == nullptr) return fail("body", "no request message");
      if (i.body->Matches(Node::OfMessage(request.body), why)) return true;
      if (why != nullptr) why->pointer = "body" + why->pointer;
      return false;
    case SelectStage::kBidiStart:
      return true;  // Select waits when the best candidate needs a client message first
    case SelectStage::kBidiFirstMessage: {
      // The first client step, wherever it stands, must take the message the client sent.
      for (size_t k = 0; k < i.conversation.size(); ++k) {
        if (i.conversation[k].client == nullptr) continue;
        std::string reason;
        if (MatchStep(i.conversation[k], *request.body, &reason)) return true;
        return fail(absl::StrCat("conversation/", k, "/client"), reason);
      }
      return true;  // a conversation without client steps ignores what the client sends
    }
    case SelectStage::kBidiNoMessage:
      return !HasClientStep(i) || fail("conversation", "expects client messages, got none");
  }
  return false;
}

bool StateAllows(const InteractionSet& set, const Interaction& i, Mismatch* why) {
  if (i.times >= 0 && i.served.load(std::memory_order_relaxed) >= i.times) {
    if (why != nullptr) {
      why->pointer = "times";
      why->reason = absl::StrCat("already served ", i.times, " time", i.times == 1 ? "" : "s");
    }
    return false;
  }
  if (!i.when_state.empty()) {
    std::string state = set.scenarios().Get(i.scenario);
    if (state != i.when_state) {
      if (why != nullptr) {
        why->pointer = "whenState";
        why->reason = absl::StrCat("scenario \"", i.scenario, "\" is in state \"", state,
                                   "\", not \"", i.when_state, "\"");
      }
      return false;
    }
  }
  return true;
}

bool IsStateful(const Interaction& i) {
  return i.times >= 0 || !i.when_state.empty() || !i.set_state.empty();
}

int Score(const Interaction& i, const Request& request) {
  int score = 0;
  for (const auto& m : i.metadata) score += MatchMetadata(m, request, nullptr) ? 1 : 0;
  if (i.body != nullptr && request.body != nullptr) {
    score += i.body->Score(Node::OfMessage(request.body));
  }
  if (request.stream != nullptr) {
    for (size_t k = 0; k < i.stream.size() && k < request.stream->size(); ++k) {
      score += i.stream[k]->Score(Node::OfMessage((*request.stream)[k].get()));
    }
  }
  return score;
}

std::string Explain(const InteractionSet& set, const MethodInteractions& m, const Request& request,
                    SelectStage stage) {
  const Interaction* best = nullptr;
  int best_score = -1;
  for (size_t k = 0; k < m.ranked.size() && k < kMaxExplained; ++k) {
    int score = Score(*m.ranked[k], request);
    if (score > best_score) {
      best_score = score;
      best = m.ranked[k];
    }
  }
  Mismatch why;
  if (!MatchRequest(*best, request, stage, &why)) {
  } else if (!StateAllows(set, *best, &why)) {
  } else {
    why.reason = "taken by a concurrent call";
  }
  return absl::StrCat("no interaction matched ", MethodName(m.method), "; closest is ",
                      best->Label(), ": ", why.ToString());
}

}  // namespace

bool MatchStep(const ConversationStep& step, const pb::Message& message, std::string* why) {
  Mismatch mismatch;
  if (step.client->Matches(Node::OfMessage(&message), why != nullptr ? &mismatch : nullptr)) {
    return true;
  }
  if (why != nullptr) *why = mismatch.ToString();
  return false;
}

const Interaction* Select(const InteractionSet& set, const pb::MethodDescriptor* method,
                          const Request& request, SelectStage stage, std::string* miss) {
  const MethodInteractions* m = set.ForMethod(method);
  if (m == nullptr) {
    if (miss != nullptr && stage != SelectStage::kBidiStart) {
      *miss = absl::StrCat("no interactions for ", MethodName(method));
    }
    return nullptr;
  }
  thread_local std::vector<size_t> candidates;
  m->Candidates(stage == SelectStage::kWhole ? request.body : nullptr, &candidates);
  // From the first stateful candidate on, the choice is made under the commit lock: the state
  // read and the served count or transition are then one step, so two racing calls cannot both
  // take the last use of `times`, and a call always sees some consistent state (it never misses
  // every interaction while another call moves the scenario between them).
  std::unique_lock<std::mutex> lock(set.scenarios().commit_mutex(), std::defer_lock);
  for (size_t rank : candidates) {
    const Interaction& i = *m->ranked[rank];
    if (!MatchRequest(i, request, stage, nullptr)) continue;
    if (IsStateful(i) && !lock.owns_lock()) lock.lock();
    if (!StateAllows(set, i, nullptr)) continue;
    if (stage == SelectStage::kBidiStart && !StartsWithServer(i)) return nullptr;
    i.served.fetch_add(1, std::memory_order_relaxed);
    if (!i.set_state.empty()) set.scenarios().Set(i.scenario, i.set_state);
    return &i;
  }
  if (lock.owns_lock()) lock.unlock();
  if (miss != nullptr && stage != SelectStage::kBidiStart) {
    *miss = Explain(set, *m, request, stage);
  }
  return nullptr;
}

}  // namespace understudy
