#include "mockserver/mock_server.h"

#include <mutex>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "mockserver/admin_service.h"
#include "mockserver/bounded_listener.h"
#include "mockserver/live_interactions.h"
#include "mockserver/mock_service.h"
#include "mockserver/reflection_service.h"

namespace understudy {

struct MockServer::Impl {
  std::shared_ptr<const Schema> schema;
  std::unique_ptr<Journal> journal;  // null when off
  std::unique_ptr<MockService> mock;
  std::unique_ptr<LiveInteractions> live;
  std::vector<std::unique_ptr<grpc::Service>> reflection;
  std::unique_ptr<AdminService> admin;  // null when off; refers to the MockServer that owns it
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<BoundedListener> listener;  // null unless max_connections bounds them
  bool in_process = false;
  ServerTls tls;
  std::once_flag shutdown_once;
};

namespace {

// HOST of "HOST:PORT" ("[::1]" stays bracketed).
std::string HostOf(const std::string& listen) {
  size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

absl::StatusOr<std::shared_ptr<const Schema>> LoadSchema(const MockServerOptions& options) {
  if (options.prebuilt_schema != nullptr) return options.prebuilt_schema;
  if (options.descriptor_pool != nullptr) {
    if (options.pool_files.empty()) {
      return absl::InvalidArgumentError("descriptor_pool: name the files to mock in pool_files");
    }
    auto schema = Schema::FromPool(options.descriptor_pool, options.pool_files);
    if (!schema.ok()) return schema.status();
    return std::shared_ptr<const Schema>(std::move(*schema));
  }
  auto schema = Schema::Load(options.schema);
  if (!schema.ok()) return schema.status();
  return std::shared_ptr<const Schema>(std::move(*schema));
}

// Whether gRPC can serve with `credentials`: an external connection acceptor only finds out
// when the first client connects, so TLS files are tried on a throwaway loopback server first.
bool CredentialsServe(const std::shared_ptr<grpc::ServerCredentials>& credentials) {
  grpc::CallbackGenericService nothing;  // a server needs something to serve
  grpc::ServerBuilder probe;
  int port = 0;
  probe.AddListeningPort("127.0.0.1:0", credentials, &port);
  probe.RegisterCallbackGenericService(&nothing);
  std::unique_ptr<grpc::Server> server = probe.BuildAndStart();
  if (server == nullptr) return false;
  server->Shutdown(std::chrono::system_clock::now());
  return port != 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MockServer>> MockServer::Start(const MockServerOptions& options) {
  std::unique_ptr<MockServer> out(new MockServer());
  out->impl_ = std::make_unique<Impl>();
  Impl& impl = *out->impl_;
  auto credentials = ServerCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  impl.tls = options.tls;
  auto schema = LoadSchema(options);
  if (!schema.ok()) return schema.status();
  impl.schema = std::move(*schema);

  std::vector<InteractionSet::Source> inline_sources;
  for (size_t i = 0; i < options.interaction_json.size(); ++i) {
    inline_sources.push_back({absl::StrCat("<inline ", i, ">"), options.interaction_json[i]});
  }
  auto set = InteractionSet::Load(impl.schema, options.interaction_paths, inline_sources);
  if (!set.ok()) return set.status();

  CallObserver* observer = options.observer;
  if (options.journal_size > 0) {
    impl.journal = std::make_unique<Journal>(impl.schema, options.journal_size, options.observer,
                                              options.journal_bytes);
    observer = impl.journal.get();
  }
  impl.mock = std::make_unique<MockService>(*set, observer, options.limits);
  impl.live = std::make_unique<LiveInteractions>(impl.schema, impl.mock.get(),
                                                 options.interaction_paths,
                                                 std::move(inline_sources), **set,
                                                 options.max_interactions);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  impl.in_process = options.listen.empty();
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor;
  if (!impl.in_process && options.max_connections > 0) {
    if (options.tls.enabled() && !CredentialsServe(*credentials)) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen,
                                                 " (is --tls-key the key of --tls-cert?)"));
    }
    auto listener = BoundedListener::Bind(options.listen, options.max_connections);
    if (!listener.ok()) return listener.status();
    impl.listener = std::move(*listener);
    port = impl.listener->port();
    acceptor = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, *credentials);
  } else if (!impl.in_process) {
    builder.AddListeningPort(options.listen, *credentials, &port);
  }
  if (options.max_message_bytes > 0) {
    builder.SetMaxReceiveMessageSize(options.max_message_bytes);
    builder.SetMaxSendMessageSize(options.max_message_bytes);
  }
  if (options.max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  }
  if (options.max_memory_bytes > 0) {
    grpc::ResourceQuota quota("understudy");
    quota.Resize(static_cast<size_t>(options.max_memory_bytes));
    builder.SetResourceQuota(quota);
  }
  if (!options.accept_compressed) {
    // gRPC refuses a request compressed with a disabled algorithm (UNIMPLEMENTED) before it
    // decompresses anything; "identity" stays enabled.
    builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
    builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  }
  std::vector<std::string> extra_services = {"grpc.health.v1.Health"};
  if (options.admin) {
    impl.admin =
        std::make_unique<AdminService>(out.get(), options.admin_token, options.max_message_bytes);
    builder.RegisterService(impl.admin.get());
    extra_services.push_back(admin::v1::MockAdmin::service_full_name());
  }
  if (options.reflection) {
    impl.reflection = MakeReflectionServices(impl.schema, std::move(extra_services));
    for (auto& service : impl.reflection) builder.RegisterService(service.get());
  }
  if (grpc::Service* unary = impl.mock->unary_methods()) builder.RegisterService(unary);
  builder.RegisterCallbackGenericService(impl.mock.get());
  impl.server = builder.BuildAndStart();
  if (impl.server == nullptr || (!impl.in_process && port == 0)) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        options.tls.enabled() ? " (is --tls-key the key of --tls-cert?)" : ""));
  }
  if (impl.listener != nullptr) impl.listener->Start(std::move(acceptor));
  auto* health = impl.server->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus(true);
    for (const auto* service : impl.schema->services()) {
      health->SetServingStatus(service->full_name(), true);
    }
  }
  if (!impl.in_process) {
    out->port_ = port;
    out->address_ = absl::StrCat(HostOf(options.listen), ":", port);
  }
  return out;
}

MockServer::~MockServer() { Shutdown(); }

std::shared_ptr<grpc::Channel> MockServer::Channel() const {
  ClientTls client;
  client.enabled = impl_->tls.enabled();
  client.ca_file = impl_->tls.cert_file;
  return Channel(client);
}

std::shared_ptr<grpc::Channel> MockServer::Channel(const ClientTls& client) const {
  if (impl_->in_process) return impl_->server->InProcessChannel(grpc::ChannelArguments());
  auto channel = MakeChannel(address_, client);
  return channel.ok() ? *channel : nullptr;
}

const Schema& MockServer::schema() const { return *impl_->schema; }

std::shared_ptr<const InteractionSet> MockServer::interactions() const {
  return impl_->mock->current();
}

absl::Status MockServer::Add(absl::string_view json) { return impl_->live->Add(json); }

absl::Status MockServer::AddFile(const std::string& path) { return impl_->live->AddFile(path); }

absl::Status MockServer::Remove(const std::string& name) { return impl_->live->Remove(name); }

void MockServer::Reset() {
  impl_->live->Reset();
  ClearJournal();
}

absl::Status MockServer::Reload(const std::vector<std::string>& paths) {
  return impl_->live->Reload(paths);
}

absl::Status MockServer::Reload() { return impl_->live->Reload(); }

std::string MockServer::ScenarioState(const std::string& scenario) const {
  return impl_->live->ScenarioState(scenario);
}

void MockServer::SetScenarioState(const std::string& scenario, const std::string& state) {
  impl_->live->SetScenarioState(scenario, state);
}

std::vector<RecordedCall> MockServer::Calls() const {
  return impl_->journal == nullptr ? std::vector<RecordedCall>() : impl_->journal->Calls();
}

std::vector<RecordedCall> MockServer::Calls(absl::string_view method) const {
  return impl_->journal == nullptr ? std::vector<RecordedCall>() : impl_->journal->Calls(method);
}

std::vector<RecordedCall> MockServer::WaitForCalls(absl::string_view method, size_t count,
                                                   std::chrono::milliseconds timeout) const {
  return impl_->journal == nullptr ? std::vector<RecordedCall>()
                                   : impl_->journal->WaitForCalls(method, count, timeout);
}

std::vector<RecordedCall> MockServer::UnmatchedCalls() const {
  return impl_->journal == nullptr ? std::vector<RecordedCall>()
                                   : impl_->journal->UnmatchedCalls();
}

void MockServer::ClearJournal() {
  if (impl_->journal != nullptr) impl_->journal->Clear();
}

int64_t MockServer::CallsInFlight() const { return impl_->mock->calls_in_flight(); }

void MockServer::Shutdown(std::chrono::milliseconds grace) {
  if (impl_ == nullptr || impl_->server == nullptr) return;
  std::call_once(impl_->shutdown_once, [&] {
    auto* health = impl_->server->GetHealthCheckService();
    if (health != nullptr) health->Shutdown();
    if (impl_->listener != nullptr) impl_->listener->Stop();
    // Admin changes still queued are refused rather than compiled while the server waits.
    if (impl_->admin != nullptr) impl_->admin->Stop();
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
