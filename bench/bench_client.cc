// The benchmark's own client, for what h2load cannot do: check an answer, and count the messages
// of a server stream.
//
//   bench_client get --target ADDR --user-id ID --expect-name NAME
//       One GetUser; exit 0 when it answers OK with that user's name (h2load counts HTTP
//       statuses only, so every server is checked with this before it is loaded).
//   bench_client stream --target ADDR --messages N --calls K
//       K StreamUsers calls one after another, each asking for N messages; exit 0 when every call
//       ends OK with exactly N messages, printing `messages_per_second R` over all of them.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "user.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

void Prepare(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  context->AddMetadata("authorization", "Bearer bench");
}

int Get(user::UserService::Stub* stub, const std::string& id, const std::string& name) {
  grpc::ClientContext context;
  Prepare(&context);
  user::GetUserRequest request;
  request.set_user_id(id);
  user::GetUserResponse response;
  grpc::Status status = stub->GetUser(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "GetUser %s: status %d: %s\n", id.c_str(), status.error_code(),
                 status.error_message().c_str());
    return 1;
  }
  if (response.user().name() != name) {
    std::fprintf(stderr, "GetUser %s: expected name \"%s\", got \"%s\"\n", id.c_str(), name.c_str(),
                 response.user().name().c_str());
    return 1;
  }
  std::printf("GetUser %s: %s\n", id.c_str(), response.user().name().c_str());
  return 0;
}

int Stream(user::UserService::Stub* stub, int messages, int calls) {
  long long total = 0;
  Clock::time_point begin = Clock::now();
  for (int call = 0; call < calls; ++call) {
    grpc::ClientContext context;
    Prepare(&context);
    user::StreamUsersRequest request;
    request.set_limit(messages);
    std::unique_ptr<grpc::ClientReader<user::UserResponse>> reader =
        stub->StreamUsers(&context, request);
    user::UserResponse message;
    int received = 0;
    while (reader->Read(&message)) {
      if (message.user().id().empty()) {
        std::fprintf(stderr, "StreamUsers: message %d has no user\n", received);
        return 1;
      }
      ++received;
    }
    grpc::Status status = reader->Finish();
    if (!status.ok() || received != messages) {
      std::fprintf(stderr, "StreamUsers: status %d (%s) after %d of %d messages\n",
                   status.error_code(), status.error_message().c_str(), received, messages);
      return 1;
    }
    total += received;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  std::printf("messages %lld\nseconds %.6f\nmessages_per_second %.1f\n", total, seconds,
              total / seconds);
  return 0;
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s get --target ADDR --user-id ID --expect-name NAME\n"
               "       %s stream --target ADDR --messages N --calls K\n",
               argv0, argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(argv[0]);
  std::string command = argv[1];
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) return Usage(argv[0]);
    flags[argv[i] + 2] = argv[i + 1];
  }
  if (flags.count("target") == 0) return Usage(argv[0]);
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  auto stub = user::UserService::NewStub(
      grpc::CreateCustomChannel(flags["target"], grpc::InsecureChannelCredentials(), arguments));
  if (command == "get" && flags.count("user-id") && flags.count("expect-name")) {
    return Get(stub.get(), flags["user-id"], flags["expect-name"]);
  }
  if (command == "stream" && flags.count("messages") && flags.count("calls")) {
    return Stream(stub.get(), std::atoi(flags["messages"].c_str()),
                  std::atoi(flags["calls"].c_str()));
  }
  return Usage(argv[0]);
}
