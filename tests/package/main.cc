// Built against an installed Understudy (see run.cmake): starts the embedded mock of the
// UserService and calls GetUser through a generic stub, with messages built from the mock's own
// schema, so no generated code is needed.
//
//   package_consumer PROTO_FILE INTERACTIONS
//
// Exits 0 when the mock answers user 42 as the contracts say.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <string>

#include <understudy/mock_server.h>

namespace {

int Fail(const std::string& what) {
  std::cerr << "package_consumer: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return Fail("usage: package_consumer PROTO_FILE INTERACTIONS");

  understudy::MockServerOptions options;
  options.schema.proto_files = {argv[1]};
  options.interaction_paths = {argv[2]};
  auto mock = understudy::MockServer::Start(options);
  if (!mock.ok()) return Fail("Start: " + std::string(mock.status().message()));

  const understudy::Schema& schema = (*mock)->schema();
  const auto* method = schema.FindMethod("user.UserService/GetUser");
  if (method == nullptr) return Fail("no user.UserService/GetUser in the schema");

  auto request = schema.NewMessage(method->input_type());
  request->GetReflection()->SetString(request.get(),
                                      method->input_type()->FindFieldByName("user_id"), "42");
  std::string request_bytes = request->SerializeAsString();
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);

  grpc::GenericStub stub((*mock)->Channel());
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer package-test");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer response_buffer;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/user.UserService/GetUser", grpc::StubOptions(), &request_buffer,
                 &response_buffer, [&done](grpc::Status status) { done.set_value(status); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return Fail("GetUser: " + status.error_message());

  grpc::Slice response_slice;
  if (!response_buffer.DumpToSingleSlice(&response_slice).ok()) return Fail("empty response");
  auto response = schema.NewMessage(method->output_type());
  if (!response->ParseFromArray(response_slice.begin(), static_cast<int>(response_slice.size()))) {
    return Fail("response does not parse as " + method->output_type()->full_name());
  }
  const auto* user_field = method->output_type()->FindFieldByName("user");
  const auto& user = response->GetReflection()->GetMessage(*response, user_field);
  std::string name =
      user.GetReflection()->GetString(user, user.GetDescriptor()->FindFieldByName("name"));
  if (name != "Ada Lovelace") return Fail("user 42 is \"" + name + "\", not \"Ada Lovelace\"");

  (*mock)->Shutdown();
  std::cout << "package_consumer: GetUser answered " << response->ShortDebugString() << "\n";
  return 0;
}
