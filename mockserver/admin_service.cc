#include "mockserver/admin_service.h"

#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
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

AdminService::AdminService(MockServer* server, std::string token)
    : server_(server), token_(std::move(token)) {}

grpc::ServerUnaryReactor* AdminService::Answer(grpc::CallbackServerContext* context,
                                               const std::function<grpc::Status()>& body) const {
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
  grpc::Status status;
  try {
    status = body();
  } catch (const std::exception& e) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::AddInteractions(grpc::CallbackServerContext* context,
                                                        const v1::AddInteractionsRequest* request,
                                                        v1::AddInteractionsResponse* response) {
  return Answer(context, [&] {
    absl::Status added = server_->Add(request->json());
    if (added.ok()) response->set_added(CountInteractions(request->json()));
    return ToGrpc(added);
  });
}

grpc::ServerUnaryReactor* AdminService::ListInteractions(
    grpc::CallbackServerContext* context, const v1::ListInteractionsRequest* /*request*/,
    v1::ListInteractionsResponse* response) {
  return Answer(context, [&] {
    auto set = server_->interactions();
    for (const auto& interaction : set->interactions()) {
      v1::Interaction* out = response->add_interactions();
      out->set_name(interaction->name);
      if (interaction->method != nullptr) {
        out->set_method(interaction->method->service()->full_name() + "/" +
                        interaction->method->name());
      }
      out->set_file(interaction->file);
      out->set_priority(interaction->priority);
      out->set_times(interaction->times);
      out->set_served(interaction->served.load());
      out->set_scenario(interaction->scenario);
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::RemoveInteraction(
    grpc::CallbackServerContext* context, const v1::RemoveInteractionRequest* request,
    v1::RemoveInteractionResponse* /*response*/) {
  return Answer(context, [&] { return ToGrpc(server_->Remove(request->name())); });
}

grpc::ServerUnaryReactor* AdminService::ResetInteractions(
    grpc::CallbackServerContext* context, const v1::ResetInteractionsRequest* /*request*/,
    v1::ResetInteractionsResponse* /*response*/) {
  return Answer(context, [&] {
    server_->Reset();
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::GetJournal(grpc::CallbackServerContext* context,
                                                   const v1::GetJournalRequest* request,
                                                   v1::GetJournalResponse* response) {
  return Answer(context, [&] {
    if (request->limit() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: must not be negative");
    }
    std::vector<RecordedCall> calls =
        request->method().empty() ? server_->Calls() : server_->Calls(request->method());
    size_t first = 0;
    if (request->limit() > 0 && calls.size() > static_cast<size_t>(request->limit())) {
      first = calls.size() - static_cast<size_t>(request->limit());
    }
    for (size_t i = first; i < calls.size(); ++i) ToProto(calls[i], response->add_calls());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::ClearJournal(grpc::CallbackServerContext* context,
                                                     const v1::ClearJournalRequest* /*request*/,
                                                     v1::ClearJournalResponse* /*response*/) {
  return Answer(context, [&] {
    server_->ClearJournal();
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::ListUnmatchedCalls(
    grpc::CallbackServerContext* context, const v1::ListUnmatchedCallsRequest* /*request*/,
    v1::ListUnmatchedCallsResponse* response) {
  return Answer(context, [&] {
    for (const RecordedCall& call : server_->UnmatchedCalls()) ToProto(call, response->add_calls());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AdminService::GetScenarioStates(
    grpc::CallbackServerContext* context, const v1::GetScenarioStatesRequest* /*request*/,
    v1::GetScenarioStatesResponse* response) {
  return Answer(context, [&] {
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
  return Answer(context, [&] {
    if (request->scenario().empty() || request->state().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "scenario and state must both be given");
    }
    server_->SetScenarioState(request->scenario(), request->state());
    return grpc::Status::OK;
  });
}

}  // namespace understudy
