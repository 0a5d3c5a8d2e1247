// The limit: a hand-written UserService on gRPC's callback API (generated code), doing the least
// a real server could. GetUser answers a constant user; StreamUsers streams `limit` copies of a
// constant message (10 when the request says 0). No other method is implemented.
//
//   bench_limit_server [--listen HOST:PORT]
//
// Prints `listening on HOST:PORT` when ready, as `understudy serve` does; SIGINT/SIGTERM stop it.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "user.grpc.pb.h"

namespace {

user::User ConstantUser() {
  user::User user;
  user.set_id("42");
  user.set_name("Ada Lovelace");
  user.set_email("ada@example.com");
  user.set_status(user::USER_STATUS_ACTIVE);
  return user;
}

// Writes the same message `count` times, one write in flight at a time, then finishes.
class StreamWriter final : public grpc::ServerWriteReactor<user::UserResponse> {
 public:
  StreamWriter(const user::UserResponse& message, int count) : message_(message), left_(count) {
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (left_-- > 0) {
      StartWrite(&message_);
    } else {
      Finish(grpc::Status::OK);
    }
  }

  const user::UserResponse& message_;
  int left_;
};

class LimitService final : public user::UserService::CallbackService {
 public:
  LimitService() {
    *get_.mutable_user() = ConstantUser();
    *streamed_.mutable_user() = ConstantUser();
  }

  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const user::GetUserRequest* /*request*/,
                                    user::GetUserResponse* response) override {
    *response = get_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<user::UserResponse>* StreamUsers(
      grpc::CallbackServerContext* /*context*/, const user::StreamUsersRequest* request) override {
    return new StreamWriter(streamed_, request->limit() > 0 ? request->limit() : 10);
  }

 private:
  user::GetUserResponse get_;
  user::UserResponse streamed_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--listen HOST:PORT]\n", argv[0]);
      return 2;
    }
  }
  // Signals are taken by sigwait below, not by a handler racing gRPC's threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  LimitService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "cannot listen on %s\n", listen.c_str());
    return 2;
  }
  std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
