// MockServer: a running mock of any gRPC service, from .proto files and interaction files,
// embeddable in a test.
//
//   understudy::MockServerOptions options;
//   options.schema.proto_files = {"proto/user.proto"};
//   options.interaction_paths = {"contracts/user_service"};
//   auto mock = understudy::MockServer::Start(options);   // StatusOr<unique_ptr<MockServer>>
//   ASSERT_TRUE(mock.ok()) << mock.status();
//   auto users = user::UserService::NewStub((*mock)->Channel());
//
//   // Add interactions while it serves, each validated as a file is (an invalid one is
//   // refused and nothing changes):
//   ASSERT_TRUE((*mock)->Add(R"({"name": "slow user", "method": "user.UserService/GetUser",
//                                "priority": 1, "request": {"body": {"userId": "7"}},
//                                "response": {"delayMs": 500, "body": {}}})").ok());
//   ... the code under test calls the mock ...
//   EXPECT_THAT((*mock)->Calls("user.UserService/GetUser"), SizeIs(2));   // see testing.h
//
// The schema comes from .proto files (`schema`), a loaded Schema (`prebuilt_schema`) or a
// descriptor pool the caller owns, e.g. the generated one:
//
//   options.descriptor_pool = google::protobuf::DescriptorPool::generated_pool();
//   options.pool_files = {user::GetUserRequest::descriptor()->file()->name()};
//
// The server listens on `listen` (loopback, an ephemeral port by default) — or, with `listen`
// empty, nowhere: Channel() is then an in-process channel. It serves the mocked services, gRPC
// server reflection (v1 and v1alpha, from the run-time schema), the standard health service and,
// with `admin`, the admin service understudy.admin.v1.MockAdmin (mockserver/admin_service.h).
// Start fails — and nothing listens — when the schema or any interaction file has a problem; the
// status lists every problem.
//
// Every call is recorded in a journal (mockserver/journal.h): the most recent `journal_size`
// calls are kept. See mockserver/testing.h for gmock matchers over them.
//
// Thread safety: all methods may be called from any thread, while calls are being served.
#ifndef UNDERSTUDY_MOCKSERVER_MOCK_SERVER_H_
#define UNDERSTUDY_MOCKSERVER_MOCK_SERVER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mockserver/journal.h"
#include "mockserver/mock_call.h"
#include "mockserver/mock_service.h"
#include "mockserver/tls.h"
#include "src/interaction_set.h"
#include "src/schema.h"

namespace understudy {

struct MockServerOptions {
  // The schema: the first of these that is set is used.
  std::shared_ptr<const Schema> prebuilt_schema;
  // A pool the caller owns (must outlive the server), and the files of it whose services are
  // mocked, by name (e.g. "user.proto"); at least one.
  const google::protobuf::DescriptorPool* descriptor_pool = nullptr;
  std::vector<std::string> pool_files;
  SchemaOptions schema;  // .proto files and descriptor sets

  std::vector<std::string> interaction_paths;  // files and directories
  std::vector<std::string> interaction_json;   // whole files as JSON text ("<inline N>" in errors)
  std::string listen = "127.0.0.1:0";          // port 0 picks a free port; "": in-process only
  // TLS when `tls.cert_file` is set; mTLS when `tls.client_ca_file` is set too (mockserver/tls.h).
  ServerTls tls;
  // Limits; exceeding one ends the call with RESOURCE_EXHAUSTED. A message larger than
  // `max_message_bytes`, either way, is refused by gRPC; `limits` bound the calls in flight and
  // the client messages of one call, the request bytes of one call and of all calls in flight
  // (mockserver/mock_service.h). 0: no bound.
  int max_message_bytes = 4 << 20;
  CallLimits limits = {10000, 100000, int64_t{64} << 20, int64_t{1} << 30};
  // Bounds on the transport, for every call (health, reflection and admin included). HTTP/2
  // streams open at once on one connection (more wait in the client: gRPC's
  // GRPC_ARG_MAX_CONCURRENT_STREAMS); 0: gRPC's default, no bound.
  int max_concurrent_streams = 100;
  // Memory gRPC may take for its connections and calls (grpc::ResourceQuota): near it, gRPC
  // shrinks its read buffers and reclaims memory from connections. gRPC 1.51 accounts only part
  // of what a call costs: a brake, not a hard ceiling on RSS. 0: no bound.
  int64_t max_memory_bytes = int64_t{1} << 30;
  // Client connections open at once; beyond it a new connection is accepted and closed at once
  // (the client sees UNAVAILABLE), so the process never runs out of file descriptors and keeps
  // accepting. 0: no bound (gRPC 1.51 then stops accepting for good once accept4 fails with
  // EMFILE). Ignored for an in-process server.
  int max_connections = 0;
  // Accept gzip/deflate-compressed requests. Off by default: gRPC 1.51 expands a compressed
  // message fully before `max_message_bytes` applies, so 2 MiB of gzip can cost 2 GiB. Off, a
  // compressed request ends with UNIMPLEMENTED before it is expanded.
  bool accept_compressed = false;
  bool reflection = true;
  // Serve understudy.admin.v1.MockAdmin (proto/understudy/admin/v1/admin.proto, see
  // mockserver/admin_service.h) on the same server: live control for clients other than the
  // embedding process. Off by default here (a test has the C++ API); `serve` turns it on.
  bool admin = false;
  // When not empty, every admin call needs metadata `authorization: Bearer <admin_token>`.
  std::string admin_token;
  // Interactions the live set may grow to through Add/AddFile/Reload and the admin service
  // (0: no bound); a change past it is refused with RESOURCE_EXHAUSTED.
  size_t max_interactions = 1000000;
  size_t journal_size = 1000;        // the most recent calls kept; 0 turns the journal off
  int64_t journal_bytes = int64_t{64} << 20;  // and the bytes they may take (0: no bound)
  CallObserver* observer = nullptr;  // told of every finished call; must outlive the server
};

class MockServer {
 public:
  static absl::StatusOr<std::unique_ptr<MockServer>> Start(const MockServerOptions& options);
  ~MockServer();  // Shutdown() with no grace period

  // "HOST:PORT" with the real port; empty for an in-process-only server.
  const std::string& Address() const { return address_; }
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // A new channel to the server: TCP, or in-process when it does not listen. With TLS it trusts
  // the server's own certificate file (a self-signed certificate, or a chain up to its root);
  // give `client` to present a client certificate (mTLS) or to trust another root. Null when a
  // file of `client` cannot be used (see ChannelCredentials).
  std::shared_ptr<grpc::Channel> Channel() const;
  std::shared_ptr<grpc::Channel> Channel(const ClientTls& client) const;
  const Schema& schema() const;

  // --- Live changes. Each is validated as a file is (same errors, with file label and JSON
  // pointer) and applied atomically: a call sees the interactions before or after it, never a
  // mix. On error nothing changes. An interaction kept by a change keeps its `served` count
  // (so `times` goes on counting) and scenarios keep their states; Reset starts afresh.
  // Interactions added later rank after earlier ones of equal priority and specificity: give an
  // added interaction a higher `priority` to override one from the files.

  // The interactions being served now.
  std::shared_ptr<const InteractionSet> interactions() const;
  // `json`: one interaction object or a whole file {"interactions": [...]}. Labelled
  // "<added N>" in errors (pointers relative to the object given) and in the journal.
  absl::Status Add(absl::string_view json);
  // An interaction file or directory, as those given to Start.
  absl::Status AddFile(const std::string& path);
  // Removes every interaction named `name`; NotFound when there is none.
  absl::Status Remove(const std::string& name);
  // As just started: the start files' interactions (or those of the last Reload), nothing added
  // or removed, `times` counts at zero, every scenario "Started", the journal empty.
  void Reset();
  // Loads `paths` and, only when they load without a problem, serves them instead of the files
  // (inline JSON and added interactions stay; removed ones from the files come back).
  absl::Status Reload(const std::vector<std::string>& paths);
  // Reads the files again (the last paths given to Start or Reload).
  absl::Status Reload();

  // A scenario's state ("Started" until an interaction moves it), and setting it.
  std::string ScenarioState(const std::string& scenario) const;
  void SetScenarioState(const std::string& scenario, const std::string& state);

  // --- The journal (empty when `journal_size` is 0). Oldest first.
  std::vector<RecordedCall> Calls() const;
  // Calls to `method`, "pkg.Service/Method" (a leading '/' is accepted).
  std::vector<RecordedCall> Calls(absl::string_view method) const;
  // Calls no interaction answered (see RecordedCall::miss).
  std::vector<RecordedCall> UnmatchedCalls() const;
  // Waits (without polling) until at least `count` calls to `method` are recorded or `timeout`
  // passes, and returns the calls to `method`; see Journal::WaitForCalls.
  std::vector<RecordedCall> WaitForCalls(absl::string_view method, size_t count,
                                         std::chrono::milliseconds timeout =
                                             std::chrono::seconds(10)) const;
  void ClearJournal();

  // Mocked calls being served now (admin, health and reflection calls are not counted).
  int64_t CallsInFlight() const;

  // Stops accepting calls, lets calls in flight finish for up to `grace`, then cancels the rest.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  // Blocks until the server has shut down.
  void Wait();

 private:
  MockServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string address_;
  int port_ = 0;
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_MOCK_SERVER_H_
