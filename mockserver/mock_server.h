// MockServer: a running mock of any gRPC service, from .proto files and interaction files.
//
//   understudy::MockServerOptions options;
//   options.schema.proto_files = {"proto/user.proto"};
//   options.interaction_paths = {"contracts/user_service"};
//   auto mock = understudy::MockServer::Start(options);   // StatusOr<unique_ptr<MockServer>>
//   ASSERT_TRUE(mock.ok()) << mock.status();
//   auto stub = user::UserService::NewStub((*mock)->Channel());
//
// The server listens on `listen` (loopback, an ephemeral port by default) and serves the mocked
// services, gRPC server reflection (v1 and v1alpha, from the run-time schema) and the standard
// health service. Start fails — and nothing listens — when the schema or any interaction file has
// a problem; the status lists every problem.
//
// Thread safety: all methods may be called from any thread.
#ifndef UNDERSTUDY_MOCKSERVER_MOCK_SERVER_H_
#define UNDERSTUDY_MOCKSERVER_MOCK_SERVER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "mockserver/mock_call.h"
#include "src/interaction_set.h"
#include "src/schema.h"

namespace understudy {

struct MockServerOptions {
  SchemaOptions schema;  // ignored when `prebuilt_schema` is set
  std::shared_ptr<const Schema> prebuilt_schema;
  std::vector<std::string> interaction_paths;  // files and directories
  std::vector<std::string> interaction_json;   // whole files as JSON text
  std::string listen = "127.0.0.1:0";          // port 0 picks a free port
  bool reflection = true;
  CallObserver* observer = nullptr;  // told of every finished call; must outlive the server
};

class MockServer {
 public:
  static absl::StatusOr<std::unique_ptr<MockServer>> Start(const MockServerOptions& options);
  ~MockServer();  // Shutdown() with no grace period

  // "HOST:PORT" with the real port.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // A new plaintext channel to the server.
  std::shared_ptr<grpc::Channel> Channel() const;

  // The interactions being served now.
  std::shared_ptr<const InteractionSet> interactions() const;
  // Loads `paths` and, only when they load without a problem, serves them instead.
  absl::Status Reload(const std::vector<std::string>& paths);

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
