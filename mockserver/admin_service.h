// AdminService: understudy.admin.v1.MockAdmin (proto/understudy/admin/v1/admin.proto), live
// control of a running mock over gRPC — what MockServer's C++ API offers a test, offered to any
// client of `understudy serve`.
//
//   understudy::AdminService admin(mock_server, /*token=*/"s3cret");
//   builder.RegisterService(&admin);   // on the mock's own server; outlives it
//
//   // a client:
//   grpc::ClientContext context;
//   context.AddMetadata("authorization", "Bearer s3cret");
//   auto admin_client = understudy::admin::v1::MockAdmin::NewStub(channel);
//   admin_client->AddInteractions(&context, request, &response);
//
// Each method forwards to the MockServer, whose changes are validated as files are and applied
// atomically. Its absl::Status becomes the call's status with the same code and message: a
// problem with an added interaction is INVALID_ARGUMENT carrying "<added N>: /pointer: ...", an
// unknown name NOT_FOUND. With a non-empty token every call must carry metadata
// `authorization: Bearer <token>`, or it fails UNAUTHENTICATED and changes nothing.
//
// The work of every call (compiling added interactions, rendering the journal as JSON) runs on
// one thread of the service's own, never on gRPC's callback threads: a burst of large changes
// cannot hold up the mocked calls. Calls are answered in arrival order; beyond
// kMaxQueuedCalls waiting, a call is refused with RESOURCE_EXHAUSTED. Answers that would pass
// the server's message size limit stop early: ListInteractions with a page token, GetJournal
// and ListUnmatchedCalls with the count of calls left out.
//
// Thread safety: serves any number of concurrent calls (MockServer is thread-safe).
#ifndef UNDERSTUDY_MOCKSERVER_ADMIN_SERVICE_H_
#define UNDERSTUDY_MOCKSERVER_ADMIN_SERVICE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "understudy/admin/v1/admin.grpc.pb.h"

namespace understudy {

class MockServer;

class AdminService final : public admin::v1::MockAdmin::CallbackService {
 public:
  static constexpr size_t kMaxQueuedCalls = 64;

  // `server` must outlive this service. An empty `token` lets every call through. Answers are
  // kept under `max_response_bytes` (the server's send limit; 0: 4 MiB, a client's default).
  AdminService(MockServer* server, std::string token, int max_response_bytes = 0);
  // Ends the calls still queued with UNAVAILABLE (the one running finishes) and refuses new
  // ones: a server shutting down does not wait for a backlog of changes.
  void Stop();
  ~AdminService() override;  // Stop(), then joins the worker

  grpc::ServerUnaryReactor* AddInteractions(grpc::CallbackServerContext* context,
                                            const admin::v1::AddInteractionsRequest* request,
                                            admin::v1::AddInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* ListInteractions(
      grpc::CallbackServerContext* context, const admin::v1::ListInteractionsRequest* request,
      admin::v1::ListInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* RemoveInteraction(
      grpc::CallbackServerContext* context, const admin::v1::RemoveInteractionRequest* request,
      admin::v1::RemoveInteractionResponse* response) override;
  grpc::ServerUnaryReactor* ResetInteractions(
      grpc::CallbackServerContext* context, const admin::v1::ResetInteractionsRequest* request,
      admin::v1::ResetInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* GetJournal(grpc::CallbackServerContext* context,
                                       const admin::v1::GetJournalRequest* request,
                                       admin::v1::GetJournalResponse* response) override;
  grpc::ServerUnaryReactor* ClearJournal(grpc::CallbackServerContext* context,
                                         const admin::v1::ClearJournalRequest* request,
                                         admin::v1::ClearJournalResponse* response) override;
  grpc::ServerUnaryReactor* ListUnmatchedCalls(
      grpc::CallbackServerContext* context, const admin::v1::ListUnmatchedCallsRequest* request,
      admin::v1::ListUnmatchedCallsResponse* response) override;
  grpc::ServerUnaryReactor* GetScenarioStates(
      grpc::CallbackServerContext* context, const admin::v1::GetScenarioStatesRequest* request,
      admin::v1::GetScenarioStatesResponse* response) override;
  grpc::ServerUnaryReactor* SetScenarioState(
      grpc::CallbackServerContext* context, const admin::v1::SetScenarioStateRequest* request,
      admin::v1::SetScenarioStateResponse* response) override;

 private:
  // Checks the token, then queues `body` for the worker, which runs it and finishes the call
  // with its status; an exception becomes INTERNAL rather than leaving the reactor. `body` must
  // capture the request and response by pointer: it runs after this returns.
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                   std::function<grpc::Status()> body);
  void Work();

  MockServer* const server_;
  const std::string token_;
  const size_t max_response_bytes_;

  std::mutex mu_;
  std::condition_variable queued_;
  struct Job {
    grpc::ServerUnaryReactor* reactor;
    std::function<grpc::Status()> body;
  };
  std::deque<Job> queue_;   // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread worker_;      // last: starts once the rest is ready
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_ADMIN_SERVICE_H_
