// How long an embedded MockServer takes to start, beside a bare grpc::Server with the generated
// UserService: is one mock per test affordable?
//
//   build/bench/startup_embedded [REPO_DIR] [RUNS]
//
// Each run starts a server, optionally makes one GetUser call through a new channel, then shuts
// the server down; only the start (and the call) are timed. One untimed run first warms up
// gRPC's process-wide state. Prints the median and 90th percentile in milliseconds.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mockserver/mock_server.h"
#include "src/interaction_set.h"
#include "src/schema.h"
#include "user.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Summary {
  double median_ms;
  double p90_ms;
};

Summary Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  return {at(0.5), at(0.9)};
}

// Calls GetUser once; any answer (even UNIMPLEMENTED) completes a round trip.
void CallOnce(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = user::UserService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.AddMetadata("authorization", "Bearer bench");
  user::GetUserRequest request;
  request.set_user_id("42");
  user::GetUserResponse response;
  stub->GetUser(&context, request, &response);
}

// A server under test: Start returns a channel to it; Stop shuts it down (untimed).
struct Subject {
  std::function<std::shared_ptr<grpc::Channel>()> start;
  std::function<void()> stop;
};

Summary Measure(const Subject& subject, int runs, bool with_call) {
  subject.start();
  subject.stop();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    Clock::time_point begin = Clock::now();
    std::shared_ptr<grpc::Channel> channel = subject.start();
    if (with_call) CallOnce(channel);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
    channel.reset();
    subject.stop();
  }
  return Summarize(ms);
}

class BareUserService final : public user::UserService::CallbackService {};

}  // namespace

int main(int argc, char** argv) {
  std::string repo = argc > 1 ? argv[1] : UNDERSTUDY_SOURCE_DIR;
  int runs = argc > 2 ? std::atoi(argv[2]) : 50;

  std::unique_ptr<understudy::MockServer> mock;
  auto mock_subject = [&](understudy::MockServerOptions options) {
    return Subject{[&mock, options] {
                     auto started = understudy::MockServer::Start(options);
                     if (!started.ok()) {
                       std::fprintf(stderr, "%s\n", started.status().ToString().c_str());
                       std::exit(2);
                     }
                     mock = std::move(*started);
                     return mock->Channel();
                   },
                   [&mock] {
                     mock->Shutdown();
                     mock.reset();
                   }};
  };
  understudy::MockServerOptions from_proto;
  from_proto.schema.proto_files = {repo + "/proto/user.proto"};
  from_proto.interaction_paths = {repo + "/contracts/user_service"};
  understudy::MockServerOptions in_process = from_proto;
  in_process.listen = "";
  understudy::MockServerOptions from_pool;
  from_pool.descriptor_pool = google::protobuf::DescriptorPool::generated_pool();
  from_pool.pool_files = {user::GetUserRequest::descriptor()->file()->name()};
  from_pool.interaction_paths = from_proto.interaction_paths;

  std::unique_ptr<BareUserService> service;
  std::unique_ptr<grpc::Server> bare;
  Subject bare_subject{[&] {
                         service = std::make_unique<BareUserService>();
                         grpc::ServerBuilder builder;
                         int port = 0;
                         builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                                                  &port);
                         builder.RegisterService(service.get());
                         bare = builder.BuildAndStart();
                         return grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                    grpc::InsecureChannelCredentials());
                       },
                       [&] {
                         bare->Shutdown(std::chrono::system_clock::now());
                         bare.reset();
                         service.reset();
                       }};

  std::printf("%d runs each; milliseconds\n", runs);
  std::printf("%-52s %8s %8s %8s\n", "", "median", "p90", "x bare");
  // Bare servers first: MockServer turns on gRPC's process-wide default health service.
  Summary bare_start = Measure(bare_subject, runs, false);
  Summary bare_call = Measure(bare_subject, runs, true);
  for (bool with_call : {false, true}) {
    Summary base = with_call ? bare_call : bare_start;
    struct Row {
      const char* name;
      Summary summary;
    };
    const char* what = with_call ? "start + first GetUser" : "start";
    std::vector<Row> rows = {
        {"bare grpc::Server, generated UserService", base},
        {"MockServer, user.proto + contracts/user_service",
         Measure(mock_subject(from_proto), runs, with_call)},
        {"MockServer, same, in-process only", Measure(mock_subject(in_process), runs, with_call)},
        {"MockServer, generated pool + contracts",
         Measure(mock_subject(from_pool), runs, with_call)},
    };
    std::printf("%s:\n", what);
    for (const Row& row : rows) {
      std::printf("  %-50s %8.2f %8.2f %8.1f\n", row.name, row.summary.median_ms,
                  row.summary.p90_ms, row.summary.median_ms / base.median_ms);
    }
  }

  // Where a mock's start goes: the schema, then the interactions (no server).
  std::vector<double> schema_ms, load_ms;
  for (int i = 0; i <= runs; ++i) {
    Clock::time_point begin = Clock::now();
    auto schema = understudy::Schema::Load(from_proto.schema);
    Clock::time_point parsed = Clock::now();
    if (!schema.ok()) return 2;
    auto set = understudy::InteractionSet::Load(
        std::shared_ptr<const understudy::Schema>(std::move(*schema)),
        from_proto.interaction_paths);
    if (!set.ok()) return 2;
    if (i == 0) continue;  // warm-up
    schema_ms.push_back(std::chrono::duration<double, std::milli>(parsed - begin).count());
    load_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - parsed).count());
  }
  std::printf("of which (no server):\n");
  Summary schema = Summarize(schema_ms), load = Summarize(load_ms);
  std::printf("  %-50s %8.2f %8.2f\n", "Schema::Load(user.proto)", schema.median_ms, schema.p90_ms);
  std::printf("  %-50s %8.2f %8.2f\n", "InteractionSet::Load(contracts/user_service)",
              load.median_ms, load.p90_ms);
  return 0;
}
