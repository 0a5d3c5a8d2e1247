// The soak test's client: a fixed number of calls of every RPC kind from many concurrent clients,
// each answer checked against what the soak's interactions promise (bench/soak writes them).
//
//   soak_client --target ADDR [--calls 200000] [--clients 64] [--channels 4] [--seconds 300]
//               [--deadline-ms 10000]
//
// `clients` threads share `channels` channels (each its own connection) and take call numbers
// from one counter until `calls` are done. Call number i is of kind kMix[i % 20]: 30% GetUser,
// 20% CreateUser (1 in 4 of them with an invalid email, which must end INVALID_ARGUMENT), 20%
// StreamUsers, 15% CreateUserStream, 15% BidirectionalStream. Every call has a deadline.
//
// Stdout: `progress DONE SECONDS` five times a second (bench/soak reads it to find the end of the
// warm-up), then the summary: `calls N`, `seconds S`, `calls_per_second R`, `failures F`, one
// `method NAME KIND COUNT` and one `status CODE COUNT` line each. The first failures are described
// on stderr. Exit 0 when every call was answered as promised within `seconds`; 1 when a call was
// not or the time bound was exceeded; 2 when the flags are wrong or the target cannot be reached.
#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "user.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

// What the soak's interactions answer; bench/soak writes them with the same figures.
constexpr int kStreamMessages = 10;  // StreamUsers {limit: 10} sends users st-0 ... st-9
constexpr int kClientMessages = 5;   // CreateUserStream takes streams of exactly 5 messages
constexpr char kServedBy[] = "understudy-soak";
constexpr int kFailuresShown = 10;

enum class Call {
  kGetUser,
  kCreateUser,
  kCreateUserInvalid,
  kStreamUsers,
  kCreateUserStream,
  kBidirectional
};
constexpr int kCallTypes = 6;

struct CallInfo {
  char letter;  // in kMix
  const char* name;
  const char* kind;
};
constexpr std::array<CallInfo, kCallTypes> kCallInfo = {{
    {'G', "GetUser", "unary"},
    {'C', "CreateUser", "unary"},
    {'X', "CreateUser(invalid-email)", "unary"},
    {'S', "StreamUsers", "server-streaming"},
    {'U', "CreateUserStream", "client-streaming"},
    {'B', "BidirectionalStream", "bidi-streaming"},
}};

// The fixed proportion, a letter of kCallInfo a call, interleaved so that neighbouring call numbers
// differ in kind: of 20, 6 G, 3 C, 1 X, 4 S, 3 U and 3 B.
constexpr char kMix[] = "GSUBCGSUBGCSGUBXGSCG";

Call CallOf(long i) {
  char letter = kMix[i % (sizeof(kMix) - 1)];
  for (int c = 0; c < kCallTypes; ++c) {
    if (kCallInfo[c].letter == letter) return static_cast<Call>(c);
  }
  return Call::kGetUser;  // not reached: every letter of kMix is in kCallInfo
}

struct Options {
  std::string target;
  long calls = 200000;
  int clients = 64;
  int channels = 4;
  double seconds = 300;
  int deadline_ms = 10000;
};

// How one call ended: its status code, and why the answer is not the one promised ("" when it is).
struct Result {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string problem;
};

const char* CodeName(grpc::StatusCode code) {
  // clang-format off
  static const char* const kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  // clang-format on
  int index = static_cast<int>(code);
  return index >= 0 && index <= 16 ? kNames[index] : "UNKNOWN_CODE";
}

// The problem with `status` when the call should have ended with `expected`.
std::string StatusProblem(const grpc::Status& status, grpc::StatusCode expected) {
  if (status.error_code() == expected) return "";
  return std::string("expected ") + CodeName(expected) + ", got " + CodeName(status.error_code()) +
         ": " + status.error_message();
}

std::string Expect(const std::string& what, const std::string& got, const std::string& want) {
  if (got == want) return "";
  return what + ": expected \"" + want + "\", got \"" + got + "\"";
}

std::string Metadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                     const std::string& key) {
  auto found = metadata.find(key);
  return found == metadata.end() ? "<absent>"
                                 : std::string(found->second.data(), found->second.size());
}

class Caller {
 public:
  Caller(std::shared_ptr<grpc::Channel> channel, int deadline_ms)
      : stub_(user::UserService::NewStub(std::move(channel))), deadline_ms_(deadline_ms) {}

  Result Run(Call call, long i) {
    switch (call) {
      case Call::kGetUser:
        return GetUser(i);
      case Call::kCreateUser:
        return CreateUser(i);
      case Call::kCreateUserInvalid:
        return CreateUserInvalid(i);
      case Call::kStreamUsers:
        return StreamUsers();
      case Call::kCreateUserStream:
        return CreateUserStream(i);
      case Call::kBidirectional:
        return Bidirectional(i);
    }
    return {grpc::StatusCode::UNKNOWN, "no such call"};
  }

 private:
  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(deadline_ms_));
    context->AddMetadata("authorization", "Bearer soak");
  }

  // Several checks in order: the first problem found, or "".
  static std::string First(std::initializer_list<std::string> problems) {
    for (const std::string& problem : problems) {
      if (!problem.empty()) return problem;
    }
    return "";
  }

  Result GetUser(long i) {
    grpc::ClientContext context;
    Prepare(&context);
    user::GetUserRequest request;
    std::string id = "s-" + std::to_string(i);
    request.set_user_id(id);
    user::GetUserResponse response;
    grpc::Status status = stub_->GetUser(&context, request, &response);
    std::string problem = StatusProblem(status, grpc::StatusCode::OK);
    if (problem.empty()) {
      problem =
          First({Expect("user.id", response.user().id(), id),
                 Expect("user.name", response.user().name(), "Soak User"),
                 Expect("user.status", user::UserStatus_Name(response.user().status()),
                        "USER_STATUS_ACTIVE"),
                 Expect("header x-served-by",
                        Metadata(context.GetServerInitialMetadata(), "x-served-by"), kServedBy)});
    }
    return {status.error_code(), problem};
  }

  Result CreateUser(long i) {
    grpc::ClientContext context;
    Prepare(&context);
    user::CreateUserRequest request;
    request.set_name("Name " + std::to_string(i));
    request.set_email("u" + std::to_string(i) + "@soak.example");
    user::CreateUserResponse response;
    grpc::Status status = stub_->CreateUser(&context, request, &response);
    std::string problem = StatusProblem(status, grpc::StatusCode::OK);
    if (problem.empty()) {
      problem =
          First({Expect("user.name", response.user().name(), request.name()),
                 Expect("user.email", response.user().email(), request.email()),
                 Expect("created_count", std::to_string(response.created_count()), "1"),
                 Expect("header x-served-by",
                        Metadata(context.GetServerInitialMetadata(), "x-served-by"), kServedBy)});
    }
    return {status.error_code(), problem};
  }

  Result CreateUserInvalid(long i) {
    grpc::ClientContext context;
    Prepare(&context);
    user::CreateUserRequest request;
    request.set_name("Name " + std::to_string(i));
    request.set_email("bad-" + std::to_string(i));
    user::CreateUserResponse response;
    grpc::Status status = stub_->CreateUser(&context, request, &response);
    std::string problem = StatusProblem(status, grpc::StatusCode::INVALID_ARGUMENT);
    if (problem.empty()) {
      problem = Expect("status message", status.error_message(),
                       "email " + request.email() + " has no @");
    }
    return {status.error_code(), problem};
  }

  Result StreamUsers() {
    grpc::ClientContext context;
    Prepare(&context);
    user::StreamUsersRequest request;
    request.set_limit(kStreamMessages);
    std::unique_ptr<grpc::ClientReader<user::UserResponse>> reader =
        stub_->StreamUsers(&context, request);
    user::UserResponse message;
    int received = 0;
    std::string problem;
    while (reader->Read(&message)) {
      if (problem.empty()) {
        problem = Expect("message " + std::to_string(received) + " user.id", message.user().id(),
                         "st-" + std::to_string(received));
      }
      ++received;
    }
    grpc::Status status = reader->Finish();
    std::string status_problem = StatusProblem(status, grpc::StatusCode::OK);
    if (!status_problem.empty()) return {status.error_code(), status_problem};
    if (problem.empty()) {
      problem = Expect("messages", std::to_string(received), std::to_string(kStreamMessages));
    }
    return {status.error_code(), problem};
  }

  Result CreateUserStream(long i) {
    grpc::ClientContext context;
    Prepare(&context);
    user::CreateUserResponse response;
    std::unique_ptr<grpc::ClientWriter<user::CreateUserRequest>> writer =
        stub_->CreateUserStream(&context, &response);
    user::CreateUserRequest request;
    for (int k = 0; k < kClientMessages; ++k) {
      request.set_name("Name " + std::to_string(i) + "." + std::to_string(k));
      request.set_email("u" + std::to_string(i) + "." + std::to_string(k) + "@soak.example");
      if (!writer->Write(request)) break;  // the call ended early: Finish says why
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    std::string problem = StatusProblem(status, grpc::StatusCode::OK);
    if (problem.empty()) {
      problem = First({Expect("user.name", response.user().name(), request.name()),
                       Expect("user.email", response.user().email(), request.email()),
                       Expect("created_count", std::to_string(response.created_count()),
                              std::to_string(kClientMessages)),
                       Expect("user_ids size", std::to_string(response.user_ids_size()),
                              std::to_string(kClientMessages)),
                       Expect("trailer x-created-count",
                              Metadata(context.GetServerTrailingMetadata(), "x-created-count"),
                              std::to_string(kClientMessages))});
    }
    return {status.error_code(), problem};
  }

  // get user 42, then ping: two answers, then OK with trailer x-handled: 2.
  Result Bidirectional(long i) {
    grpc::ClientContext context;
    Prepare(&context);
    auto stream = stub_->BidirectionalStream(&context);
    std::string problem;
    user::BidirectionalRequest request;
    user::BidirectionalResponse response;
    request.set_request_id("q" + std::to_string(i));
    request.set_action("get");
    request.set_user_id("42");
    if (!stream->Write(request) || !stream->Read(&response)) {
      problem = "the stream ended before the answer to \"get\"";
    } else {
      problem = First({Expect("answer 0 request_id", response.request_id(), request.request_id()),
                       Expect("answer 0 user.name", response.user().name(), "Ada Lovelace"),
                       Expect("answer 0 message", response.message(), "user found")});
    }
    if (problem.empty()) {
      request.Clear();
      request.set_request_id("p" + std::to_string(i));
      request.set_action("ping");
      if (!stream->Write(request) || !stream->Read(&response)) {
        problem = "the stream ended before the answer to \"ping\"";
      } else {
        problem = First({Expect("answer 1 request_id", response.request_id(), request.request_id()),
                         Expect("answer 1 message", response.message(), "pong")});
      }
    }
    stream->WritesDone();
    int extra = 0;
    while (stream->Read(&response)) ++extra;
    grpc::Status status = stream->Finish();
    std::string status_problem = StatusProblem(status, grpc::StatusCode::OK);
    if (!status_problem.empty()) return {status.error_code(), status_problem};
    if (problem.empty() && extra > 0) problem = std::to_string(extra) + " unexpected answer(s)";
    if (problem.empty()) {
      problem = Expect("trailer x-handled",
                       Metadata(context.GetServerTrailingMetadata(), "x-handled"), "2");
    }
    return {status.error_code(), problem};
  }

  std::unique_ptr<user::UserService::Stub> stub_;
  int deadline_ms_;
};

// Counts by call type and status code, and the first failures. Thread-safe.
class Tally {
 public:
  void Add(Call call, long i, const Result& result) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++by_call_[static_cast<int>(call)];
    ++by_code_[CodeName(result.code)];
    if (result.problem.empty()) return;
    if (++failures_ <= kFailuresShown) {
      std::fprintf(stderr, "FAILED call %ld %s: %s\n", i, kCallInfo[static_cast<int>(call)].name,
                   result.problem.c_str());
    }
  }

  long failures() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
  }

  void Print() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int c = 0; c < kCallTypes; ++c) {
      std::printf("method %s %s %ld\n", kCallInfo[c].name, kCallInfo[c].kind, by_call_[c]);
    }
    for (const auto& [code, count] : by_code_) std::printf("status %s %ld\n", code.c_str(), count);
  }

 private:
  mutable std::mutex mutex_;
  std::array<long, kCallTypes> by_call_{};  // guarded by mutex_
  std::map<std::string, long> by_code_;     // guarded by mutex_
  long failures_ = 0;                       // guarded by mutex_
};

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --target ADDR [--calls N] [--clients N] [--channels N] "
               "[--seconds S] [--deadline-ms MS]\n",
               argv0);
  return 2;
}

bool ParseFlags(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) return false;
    std::string flag = argv[i] + 2;
    const char* value = argv[i + 1];
    char* end = nullptr;
    double number = std::strtod(value, &end);
    bool numeric = *value != '\0' && *end == '\0' && number > 0;
    if (flag == "target") {
      options->target = value;
    } else if (!numeric) {
      return false;
    } else if (flag == "calls") {
      options->calls = static_cast<long>(number);
    } else if (flag == "clients") {
      options->clients = static_cast<int>(number);
    } else if (flag == "channels") {
      options->channels = static_cast<int>(number);
    } else if (flag == "seconds") {
      options->seconds = number;
    } else if (flag == "deadline-ms") {
      options->deadline_ms = static_cast<int>(number);
    } else {
      return false;
    }
  }
  return !options->target.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseFlags(argc, argv, &options)) return Usage(argv[0]);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < options.channels; ++c) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    arguments.SetInt("understudy.soak.channel", c);
    channels.push_back(
        grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), arguments));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(30))) {
      std::fprintf(stderr, "soak_client: cannot connect to %s\n", options.target.c_str());
      return 2;
    }
  }

  Tally tally;
  std::atomic<long> next{0};
  std::atomic<long> done{0};
  std::atomic<bool> out_of_time{false};
  Clock::time_point begin = Clock::now();
  auto bound = begin + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options.seconds));

  std::vector<std::thread> clients;
  for (int t = 0; t < options.clients; ++t) {
    clients.emplace_back([&, t] {
      Caller caller(channels[t % channels.size()], options.deadline_ms);
      for (long i = next++; i < options.calls; i = next++) {
        if (Clock::now() > bound) {
          out_of_time = true;
          return;
        }
        Call call = CallOf(i);
        tally.Add(call, i, caller.Run(call, i));
        ++done;
      }
    });
  }

  std::mutex progress_mutex;
  std::condition_variable progress_cv;
  bool finished = false;  // guarded by progress_mutex
  std::thread progress([&] {
    std::unique_lock<std::mutex> lock(progress_mutex);
    while (!progress_cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished; })) {
      double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
      std::printf("progress %ld %.3f\n", done.load(), elapsed);
      std::fflush(stdout);
    }
  });
  for (std::thread& client : clients) client.join();
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  {
    std::lock_guard<std::mutex> lock(progress_mutex);
    finished = true;
  }
  progress_cv.notify_one();
  progress.join();

  long calls = done.load();
  long failures = tally.failures();
  std::printf("progress %ld %.3f\n", calls, seconds);
  std::printf("calls %ld\nseconds %.3f\ncalls_per_second %.1f\nfailures %ld\n", calls, seconds,
              calls / seconds, failures);
  tally.Print();
  std::fflush(stdout);
  if (failures > kFailuresShown) {
    std::fprintf(stderr, "... and %ld more failed calls\n", failures - kFailuresShown);
  }
  if (out_of_time) {
    std::fprintf(stderr, "time bound exceeded: %ld of %ld calls done in %.1f s (bound %g s)\n",
                 calls, options.calls, seconds, options.seconds);
  }
  return failures == 0 && !out_of_time && calls == options.calls ? 0 : 1;
}
