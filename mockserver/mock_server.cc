#include "mockserver/mock_server.h"

#include <fstream>
#include <mutex>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "mockserver/mock_service.h"
#include "mockserver/reflection_service.h"

namespace understudy {

struct MockServer::Impl {
  std::shared_ptr<const Schema> schema;
  std::unique_ptr<MockService> mock;
  std::vector<std::unique_ptr<grpc::Service>> reflection;
  std::unique_ptr<grpc::Server> server;
  std::once_flag shutdown_once;
};

namespace {

// HOST of "HOST:PORT" ("[::1]" stays bracketed).
std::string HostOf(const std::string& listen) {
  size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MockServer>> MockServer::Start(const MockServerOptions& options) {
  std::unique_ptr<MockServer> out(new MockServer());
  out->impl_ = std::make_unique<Impl>();
  Impl& impl = *out->impl_;
  impl.schema = options.prebuilt_schema;
  if (impl.schema == nullptr) {
    auto schema = Schema::Load(options.schema);
    if (!schema.ok()) return schema.status();
    impl.schema = std::move(*schema);
  }

  std::vector<InteractionSet::Source> sources;
  auto files = InteractionSet::ListFiles(options.interaction_paths);
  if (!files.ok()) return files.status();
  absl::StatusOr<std::shared_ptr<InteractionSet>> set;
  if (options.interaction_json.empty()) {
    set = InteractionSet::Load(impl.schema, options.interaction_paths);
  } else {
    // Inline JSON joins the files: read the files through Load's reader, then add the texts.
    set = InteractionSet::Load(impl.schema, options.interaction_paths);
    if (set.ok()) {
      for (size_t i = 0; i < options.interaction_json.size(); ++i) {
        sources.push_back({absl::StrCat("<inline ", i, ">"), options.interaction_json[i]});
      }
      std::vector<InteractionSet::Source> all;
      for (const auto& file : *files) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        all.push_back({file, text.str()});
      }
      all.insert(all.end(), sources.begin(), sources.end());
      set = InteractionSet::LoadSources(impl.schema, all);
    }
  }
  if (!set.ok()) return set.status();

  impl.mock = std::make_unique<MockService>(*set, options.observer);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
  if (options.reflection) {
    impl.reflection = MakeReflectionServices(impl.schema, {"grpc.health.v1.Health"});
    for (auto& service : impl.reflection) builder.RegisterService(service.get());
  }
  builder.RegisterCallbackGenericService(impl.mock.get());
  impl.server = builder.BuildAndStart();
  if (impl.server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  auto* health = impl.server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    for (const auto* service : impl.schema->services()) {
      health->SetServingStatus(service->full_name(), true);
    }
  }
  out->port_ = port;
  out->address_ = absl::StrCat(HostOf(options.listen), ":", port);
  return out;
}

MockServer::~MockServer() { Shutdown(); }

std::shared_ptr<grpc::Channel> MockServer::Channel() const {
  return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
}

std::shared_ptr<const InteractionSet> MockServer::interactions() const {
  return impl_->mock->current();
}

absl::Status MockServer::Reload(const std::vector<std::string>& paths) {
  auto set = InteractionSet::Load(impl_->schema, paths);
  if (!set.ok()) return set.status();
  impl_->mock->Swap(*set);
  return absl::OkStatus();
}

void MockServer::Shutdown(std::chrono::milliseconds grace) {
  if (impl_ == nullptr || impl_->server == nullptr) return;
  std::call_once(impl_->shutdown_once, [&] {
    auto* health = impl_->server->GetHealthCheckService();
    if (health != nullptr) health->Shutdown();
    // Refuse new calls and wait for the ones in flight, then close everything at once: gRPC's
    // own deadline would also wait out idle client connections.
    impl_->mock->Drain(std::chrono::system_clock::now() + grace);
    impl_->server->Shutdown(std::chrono::system_clock::now());
  });
}

void MockServer::Wait() {
  if (impl_ != nullptr && impl_->server != nullptr) impl_->server->Wait();
}

}  // namespace understudy
