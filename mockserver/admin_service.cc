#include "mockserver/admin_service.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "mockserver/mock_server.h"

namespace understudy {
namespace {

namespace v1 = ::understudy::admin::v1;

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void SetTimestamp(std::chrono::system_clock::time_point time, google::protobuf::Timestamp* out) {
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch());
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(nanos);
  out->set_seconds(seconds.count());
  out->set_nanos(static_cast<int32_t>((nanos - seconds).count()));
}

// Room kept for the fields around the repeated one and the gRPC framing.
constexpr size_t kResponseMargin = 4096;

void ToProto(const RecordedCall& call, v1::RecordedCall* out) {
  out->set_sequence(call.sequence);
  out->set_method(call.method);
  for (const RecordedMessage& message : call.requests) out->add_request_json(message.Json());
  out->set_interaction(call.interaction);
  out->set_interaction_file(call.interaction_file);
  out->set_miss(call.miss);
  out->set_code(static_cast<int32_t>(call.code));
  out->set_status_message(call.status_message);
  SetTimestamp(call.start, out->mutable_start());
  SetTimestamp(call.end, out->mutable_end());
  out->set_requests_dropped(static_cast<int32_t>(call.requests_dropped));
}

// Adds the most recent of `calls[first..]` that fit in `budget` bytes, oldest first; returns
// how many were left out.
template <typename Calls>
int32_t AddCallsThatFit(const std::vector<RecordedCall>& calls, size_t first, size_t budget,
                        Calls* out) {
  std::vector<v1::RecordedCall> rendered;
  size_t used = 0;
  size_t i = calls.size();
  for (; i > first; --i) {
    v1::RecordedCall call;
    ToProto(calls[i - 1], &call);
    const size_t size = call.ByteSizeLong() + 8;  // the field's tag and length
    if (used + size > budget) break;
    used += size;
    rendered.push_back(std::move(call));
  }
  for (auto it = rendered.rbegin(); it != rendered.rend(); ++it) *out->Add() = std::move(*it);
  return static_cast<int32_t>(i - first);
}

// How many interactions `json` (already accepted by MockServer::Add) holds.
int CountInteractions(const std::string& json) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    auto found = parsed.find("interactions");
    if (found != parsed.end() && found->is_array()) return static_cast<int>(found->size());
  }
  return 1;
}

}  // namespace

AdminService::AdminService(MockServer* server, std::string token, int max_response_bytes)
    : server_(server),
      token_(std::move(token)),
      max_response_bytes_(std::max<size_t>(
          (max_response_bytes > 0 ? static_cast<size_t>(max_response_bytes) : size_t{4} << 20),
          2 * kResponseMargin) - kResponseMargin),
      worker_([this] { Work(); }) {}

void AdminService::Stop() {
  std::deque<Job> refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    refused.swap(queue_);
  }
  queued_.notify_all();
  for (Job& job : refused) {
    job.reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the mock is shutting down: nothing changed"));
  }
}

AdminService::~AdminService() {
  Stop();
  worker_.join();
}

void AdminService::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping (Stop() answered what was queued)
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    grpc::Status status;
    try {
      status = job.body();
    } catch (const std::exception& e) {
      status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
    }
    job.reactor->Finish(status);
    lock.lock();
  }
}

grpc::ServerUnaryReactor* AdminService::Answer(grpc::CallbackServerContext* context,
                                               std::function<grpc::Status()> body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!token_.empty()) {
    const auto& metadata = context->client_metadata();
    auto found = metadata.find("authorization");
    if (found == metadata.end() ||
        absl::string_view(found->second.data(), found->second.size()) != "Bearer " + token_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                   "admin calls need metadata `authorization: Bearer <token>`"));
      return reactor;
    }
  }
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping = stopping_;
    if (!stopping && queue_.size() < kMaxQueuedCalls) {
      queue_.push_back({reactor, std::move(body)});
      queued_.notify_one();
      return reactor;
    }
  }
  reactor->Finish(
      stopping ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the mock is shutting down")
               : grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              absl::StrCat("the admin service has ", kMaxQueuedCalls,
                                           " calls waiting already; try again later")));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::AddInteractions(grpc::CallbackServerContext* context,
                                                        const v1::AddInteractionsRequest* request,
                                                        v1::AddInteractionsResponse* response) {
  return Answer(context, [=] {
    absl::Status added = server_->Add(request->json());
    if (added.ok()) response->set_added(CountInteractions(request->json()));
    return ToGrpc(added);
  });
}

grpc::ServerUnaryReactor* AdminService::ListInteractions(
    grpc::CallbackServerContext* context, const v1::ListInteractionsRequest* request,
    v1::ListInteractionsResponse* response) {
  return Answer(context, [=] {
    auto set = server_->interactions();
    const auto& interactions = set->interactions();
    size_t first = 0;
    if (!request->page_token().empty() &&
        (!absl::SimpleAtoi(request->page_token(), &first) || first > interactions.size())) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_token: not a next_page_token this server gave");
    }
    if (request->page_size() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size: must not be negative");
    }
    response->set_total(static_cast<int64_t>(interactions.size()));
    size_t used = 0;
    size_t i = first;
    for (; i < interactions.size(); ++i) {
      if (request->page_size() > 0 && i - first >= static_cast<size_t>(request->page_size())) break;
      const Interaction& interaction = *interactions[i];
      v1::Interaction out;
      out.set_name(interaction.name);
      if (interaction.method != nullptr) {
        out.set_method(interaction.method->service()->full_name() + "/" +
                       interaction.method->name());
      }
      out.set_file(interaction.file);
      out.set_priority(interaction.priority);
      out.set_times(interaction.times);
      out.set_served(interaction.served.load());
      out.set_scenario(interaction.scenario);
      const size_t size = out.ByteSizeLong() + 8;
      if (used + size > max_response_bytes_ && i > first) break;
      used += size;
      *response->add_interactions() = std::move(out);
    }
    if (i < interactions.size()) response->set_next_page_token(std::to_string(i));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::RemoveInteraction(
    grpc::CallbackServerContext* context, const v1::RemoveInteractionRequest* request,
    v1::RemoveInteractionResponse* /*response*/) {
  return Answer(context, [=] { return ToGrpc(server_->Remove(request->name())); });
}

grpc::ServerUnaryReactor* AdminService::ResetInteractions(
    grpc::CallbackServerContext* context, const v1::ResetInteractionsRequest* /*request*/,
    v1::ResetInteractionsResponse* /*response*/) {
  return Answer(context, [=] {
    server_->Reset();
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::GetJournal(grpc::CallbackServerContext* context,
                                                   const v1::GetJournalRequest* request,
                                                   v1::GetJournalResponse* response) {
  return Answer(context, [=] {
    if (request->limit() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must not be negative");
    }
    std::vector<RecordedCall> calls =
        request->method().empty() ? server_->Calls() : server_->Calls(request->method());
    size_t first = 0;
    if (request->limit() > 0 && calls.size() > static_cast<size_t>(request->limit())) {
      first = calls.size() - static_cast<size_t>(request->limit());
    }
    response->set_omitted(
        AddCallsThatFit(calls, first, max_response_bytes_, response->mutable_calls()));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::ClearJournal(grpc::CallbackServerContext* context,
                                                     const v1::ClearJournalRequest* /*request*/,
                                                     v1::ClearJournalResponse* /*response*/) {
  return Answer(context, [=] {
    server_->ClearJournal();
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::ListUnmatchedCalls(
    grpc::CallbackServerContext* context, const v1::ListUnmatchedCallsRequest* /*request*/,
    v1::ListUnmatchedCallsResponse* response) {
  return Answer(context, [=] {
    response->set_omitted(AddCallsThatFit(server_->UnmatchedCalls(), 0, max_response_bytes_,
                                          response->mutable_calls()));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::GetScenarioStates(
    grpc::CallbackServerContext* context, const v1::GetScenarioStatesRequest* /*request*/,
    v1::GetScenarioStatesResponse* response) {
  return Answer(context, [=] {
    auto set = server_->interactions();
    auto& states = *response->mutable_states();
    for (const auto& [scenario, state] : set->scenarios().All()) states[scenario] = state;
    // Scenarios no call has moved yet are in their initial state.
    for (const auto& interaction : set->interactions()) {
      if (!interaction->scenario.empty() && states.count(interaction->scenario) == 0) {
        states[interaction->scenario] = server_->ScenarioState(interaction->scenario);
      }
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::SetScenarioState(
    grpc::CallbackServerContext* context, const v1::SetScenarioStateRequest* request,
    v1::SetScenarioStateResponse* /*response*/) {
  return Answer(context, [=] {
    if (request->scenario().empty() || request->state().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "scenario and state must both be given");
    }
    server_->SetScenarioState(request->scenario(), request->state());
    return grpc::Status::OK;
  });
}

}  // namespace understudy
