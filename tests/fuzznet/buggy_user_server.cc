// A UserService with bugs planted deep in its requests, for the tests of `understudy fuzz`.
//
//   buggy_user_server --mode internal   CreateUserStream: a client message after the first whose
//                                       status is USER_STATUS_SUSPENDED ends the call with
//                                       INTERNAL "division by zero"
//   buggy_user_server --mode crash      UpdateUser: an update_mask naming a path while the status
//                                       is USER_STATUS_SUSPENDED aborts the process
//   buggy_user_server --mode echo       CreateUser: a name that is not "ada" ends the call with
//                                       INTERNAL "cannot index user NAME" (the request echoed)
//   buggy_user_server --mode hang       ListUsers: a negative offset never answers (until the
//                                       call is cancelled or its deadline passes)
//   buggy_user_server --mode fixed      none of these: those calls succeed
//
// Everything else answers as a plain service would: OK, NOT_FOUND or INVALID_ARGUMENT. It listens
// on 127.0.0.1 at a free port and prints `listening on HOST:PORT` once it serves, as
// `understudy serve` does.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "user.grpc.pb.h"

namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

enum class Mode { kInternal, kCrash, kEcho, kHang, kFixed };

// How long a hung call holds on at most, so that the process still exits in time.
constexpr auto kHangAtMost = std::chrono::seconds(120);

user::User SomeUser(const std::string& id, const std::string& name) {
  user::User u;
  u.set_id(id);
  u.set_name(name);
  u.set_email(name + "@example.com");
  u.set_status(user::USER_STATUS_ACTIVE);
  return u;
}

class BuggyUserService final : public user::UserService::Service {
 public:
  explicit BuggyUserService(Mode mode) : mode_(mode) {}

  Status GetUser(ServerContext*, const user::GetUserRequest* request,
                 user::GetUserResponse* response) override {
    if (request->user_id().empty()) return {StatusCode::INVALID_ARGUMENT, "user_id is required"};
    if (request->user_id() != "42") return {StatusCode::NOT_FOUND, "User not found"};
    *response->mutable_user() = SomeUser("42", "ada");
    return Status::OK;
  }

  Status ListUsers(ServerContext* context, const user::ListUsersRequest* request,
                   user::ListUsersResponse* response) override {
    if (mode_ == Mode::kHang && request->offset() < 0) {
      // The planted hang: a negative offset walks the list forever.
      auto until = std::chrono::steady_clock::now() + kHangAtMost;
      while (!context->IsCancelled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return {StatusCode::CANCELLED, "gave up"};
    }
    if (request->limit() < 0 || request->limit() > 100) {
      return {StatusCode::INVALID_ARGUMENT, "limit must be within 0..100"};
    }
    if (request->offset() == 0) *response->add_users() = SomeUser("42", "ada");
    response->set_total_count(1);
    return Status::OK;
  }

  Status CreateUser(ServerContext*, const user::CreateUserRequest* request,
                    user::CreateUserResponse* response) override {
    if (request->name().empty()) return {StatusCode::INVALID_ARGUMENT, "name is required"};
    if (mode_ == Mode::kEcho && request->name() != "ada") {
      // One bug, as many messages as names: the request is echoed, unquoted.
      return {StatusCode::INTERNAL, "cannot index user " + request->name()};
    }
    *response->mutable_user() = SomeUser("1", request->name());
    response->set_created_count(1);
    response->add_user_ids("1");
    return Status::OK;
  }

  Status UpdateUser(ServerContext*, const user::UpdateUserRequest* request,
                    user::UpdateUserResponse* response) override {
    if (request->user_id().empty()) return {StatusCode::INVALID_ARGUMENT, "user_id is required"};
    if (mode_ == Mode::kCrash && request->update_mask().paths_size() > 0 &&
        request->status() == user::USER_STATUS_SUSPENDED) {
      std::cerr << "buggy_user_server: suspending through a field mask dereferences null\n";
      std::abort();
    }
    *response->mutable_user() = SomeUser(request->user_id(), "ada");
    return Status::OK;
  }

  Status DeleteUser(ServerContext*, const user::DeleteUserRequest* request,
                    user::DeleteUserResponse* response) override {
    response->set_success(request->user_id() == "42");
    return Status::OK;
  }

  Status StreamUsers(ServerContext*, const user::StreamUsersRequest* request,
                     grpc::ServerWriter<user::UserResponse>* writer) override {
    if (request->limit() < 0) return {StatusCode::INVALID_ARGUMENT, "limit must not be negative"};
    int n = request->limit() == 0 || request->limit() > 3 ? 3 : request->limit();
    for (int i = 0; i < n; ++i) {
      user::UserResponse message;
      *message.mutable_user() = SomeUser(std::to_string(i + 1), "user");
      writer->Write(message);
    }
    return Status::OK;
  }

  Status CreateUserStream(ServerContext*, grpc::ServerReader<user::CreateUserRequest>* reader,
                          user::CreateUserResponse* response) override {
    user::CreateUserRequest request;
    int index = 0;
    int quota = 1;
    while (reader->Read(&request)) {
      if (request.status() == user::USER_STATUS_SUSPENDED && index > 0) quota = 0;
      response->add_user_ids(std::to_string(++index));
    }
    // The planted bug: a batch that suspends a user after the first divides by a zero quota.
    if (quota == 0 && mode_ == Mode::kInternal) {
      return {StatusCode::INTERNAL, "division by zero"};
    }
    response->set_created_count(index);
    return Status::OK;
  }

  Status BidirectionalStream(
      ServerContext*,
      grpc::ServerReaderWriter<user::BidirectionalResponse, user::BidirectionalRequest>* stream)
      override {
    user::BidirectionalRequest request;
    while (stream->Read(&request)) {
      user::BidirectionalResponse response;
      response.set_request_id(request.request_id());
      response.set_message(request.action() == "ping" ? "pong" : "done");
      stream->Write(response);
    }
    return Status::OK;
  }

 private:
  const Mode mode_;
};

}  // namespace

int main(int argc, char** argv) {
  // Blocked before gRPC starts its threads, so that only sigwait below takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Mode mode = Mode::kInternal;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag != "--mode") continue;
    if (value == "internal") {
      mode = Mode::kInternal;
    } else if (value == "crash") {
      mode = Mode::kCrash;
    } else if (value == "echo") {
      mode = Mode::kEcho;
    } else if (value == "hang") {
      mode = Mode::kHang;
    } else if (value == "fixed") {
      mode = Mode::kFixed;
    } else {
      std::cerr << "--mode takes internal, crash, echo, hang or fixed\n";
      return 2;
    }
  }
  BuggyUserService service(mode);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "could not start\n";
    return 2;
  }
  std::cout << "listening on 127.0.0.1:" << port << std::endl;
  // Until SIGTERM (the test's Stop) or, in crash mode, the planted abort.
  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
