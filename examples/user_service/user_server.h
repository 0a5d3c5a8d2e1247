// UserServer: the reference UserService, ready to serve: the store, the service, bearer-token
// authentication, the standard health service and server reflection, on one gRPC server.
//
//   UserServerOptions options;
//   options.listen = "127.0.0.1:0";           // port 0: a free port
//   options.db = "/tmp/users.db";
//   absl::StatusOr<std::unique_ptr<UserServer>> server = UserServer::Start(options);
//   if (!server.ok()) return server.status();
//   std::cout << "listening on " << (*server)->address() << std::endl;
//   ...
//   (*server)->Shutdown(std::chrono::seconds(5));
//
// Thread safety: address() and port() from any thread; Shutdown once.
#ifndef UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_SERVER_H_
#define UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_SERVER_H_

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "examples/user_service/auth.h"
#include "examples/user_service/handler_support.h"
#include "examples/user_service/user_service_impl.h"
#include "examples/user_service/user_store.h"

namespace user_service {

struct UserServerOptions {
  // host:port; port 0 picks a free port.
  std::string listen = "127.0.0.1:50052";
  // An SQLite file, created when missing; ":memory:" keeps the data in the process.
  std::string db = ":memory:";
  // Accepted bearer tokens; empty: any non-empty token.
  std::vector<std::string> tokens;
  // Insert the example users when the database has no users.
  bool example_data = false;
  ServiceOptions service;
};

class UserServer {
 public:
  // UNAVAILABLE when the database cannot be opened or the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<UserServer>> Start(const UserServerOptions& options);
  ~UserServer();

  // "HOST:PORT" with the port actually bound.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // The server's store, e.g. for a test to prepare data.
  UserStore* store() { return store_.get(); }

  // Stops accepting calls, lets calls in flight finish until `grace`, then cancels them.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  UserServer() = default;

  std::unique_ptr<UserStore> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<UserServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace user_service

#endif  // UNDERSTUDY_EXAMPLES_USER_SERVICE_USER_SERVER_H_
