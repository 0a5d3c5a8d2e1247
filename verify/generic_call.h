// GenericCall: one call of any RPC kind through grpc::GenericStub, step by step.
//
//   GenericCall call(&stub, "/user.UserService/GetUser", metadata, deadline);
//   call.Start() && call.Write(bytes) && call.WritesDone();
//   std::string reply;
//   while (call.Read(&reply)) { ... }
//   grpc::Status status = call.Finish();
//
// Each step blocks until it completes or the deadline passes, so a conversation can alternate
// writes and reads in the order an interaction file lists them.
#ifndef UNDERSTUDY_VERIFY_GENERIC_CALL_H_
#define UNDERSTUDY_VERIFY_GENERIC_CALL_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

namespace understudy {

using MetadataPairs = std::vector<std::pair<std::string, std::string>>;

class GenericCall {
 public:
  GenericCall(grpc::GenericStub* stub, const std::string& path, const MetadataPairs& metadata,
              std::chrono::system_clock::time_point deadline);
  ~GenericCall();
  GenericCall(const GenericCall&) = delete;
  GenericCall& operator=(const GenericCall&) = delete;

  // False once the call is over (the server finished it, or the deadline passed).
  bool Start();
  bool Write(const std::string& bytes);
  bool WritesDone();
  // The next message; false when the server has no more.
  bool Read(std::string* bytes);
  // Ends the call now (the server sees it cancelled); Finish() then returns CANCELLED.
  void Cancel();
  // Waits for the status; the call's metadata is complete afterwards.
  grpc::Status Finish();

  // Lower-case keys; `-bin` values decoded. Headers are those of the response's first frame.
  MetadataPairs Headers() const;
  MetadataPairs Trailers() const;

 private:
  bool Await();
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
  bool alive_ = true;
};

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_GENERIC_CALL_H_
