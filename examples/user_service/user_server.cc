#include "examples/user_service/user_server.h"

#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "examples/user_service/provider_states.h"

namespace user_service {

absl::StatusOr<std::unique_ptr<UserServer>> UserServer::Start(const UserServerOptions& options) {
  std::unique_ptr<UserServer> server(new UserServer());
  absl::StatusOr<std::unique_ptr<UserStore>> store = UserStore::Open(options.db);
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);
  if (options.example_data) {
    absl::StatusOr<bool> has_users = server->store_->HasUsers();
    if (!has_users.ok()) return has_users.status();
    if (!*has_users) {
      if (absl::Status s = InsertExampleUsers(server->store_.get()); !s.ok()) return s;
    }
  }
  server->auth_ = std::make_unique<Authenticator>(options.tokens);
  server->service_ = std::make_unique<UserServiceImpl>(
      Backend{server->store_.get(), server->auth_.get(), options.service});

  // Both are process-wide switches that take effect for servers built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(server->service_.get());
  // Reflection is a synchronous service: its threads poll with this timeout, and a shutdown
  // waits for them to notice (the default, a second or more, shows in every test's teardown).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC, 50);
  builder.experimental().SetInterceptorCreators(Interceptors(server->auth_.get()));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  server->port_ = port;
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  server->address_ = absl::StrCat(host, ":", port);
  return server;
}

UserServer::~UserServer() {
  if (!shut_down_) Shutdown(std::chrono::milliseconds(0));
}

void UserServer::Shutdown(std::chrono::milliseconds grace) {
  if (server_ == nullptr) return;
  shut_down_ = true;
  if (auto* health = server_->GetHealthCheckService(); health != nullptr) health->Shutdown();
  // Wait for the calls in flight, then close at once: gRPC's own deadline would also wait out
  // connections that are merely open (a verifier or client that has not hung up yet).
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (auth_->InFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

}  // namespace user_service
